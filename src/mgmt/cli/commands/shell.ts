/**
 * `shoal shell`: the interactive admin shell (src/mgmt/shell/). To make it
 * the login shell of an admin account, point the account's shell at a
 * script that runs `exec shoal shell`.
 */
import { Command } from 'commander';
import { defaultHistoryFile } from '../../shell/history.js';
import { defaultSocket } from './admin-query.js';

export function shellCommand(program: () => Command): Command {
  return new Command('shell')
    .description('the interactive admin shell (for a serial console or SSH): show, config, cluster, tunnel and pki commands with completion and history')
    .option('-s, --socket <path>', 'admin socket of the member', defaultSocket())
    .option('-c, --config <file>', "the member's configuration, for the config commands")
    .option('--history <file>', 'history file', defaultHistoryFile())
    .option('--no-history', 'keep no history file')
    .action(async (opts: { socket: string; config?: string; history: string | false }) => {
      const { runShell } = await import('../../shell/shell.js');
      process.exitCode = await runShell({
        program,
        socket: opts.socket,
        ...(opts.config === undefined ? {} : { config: opts.config }),
        historyFile: opts.history === false ? null : opts.history,
      });
    });
}
