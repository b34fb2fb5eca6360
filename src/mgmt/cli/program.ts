/** The whole `shoal` program: every command, with the settings they share. */
import { Command } from 'commander';
import { adminCommands } from './commands/admin.js';
import { configCommand } from './commands/config.js';
import { flashCommand } from './commands/flash.js';
import { labCommand } from './commands/lab.js';
import { queryCommands, runCommand } from './commands/member.js';
import { pkiCommand } from './commands/pki.js';
import { simCommand } from './commands/sim.js';
import { printError } from './output.js';
import { packageVersion } from './version.js';

export function buildProgram(): Command {
  const program = new Command('shoal')
    .description('Shoal: a clustered VPN tunnel-server appliance (WO 00/31945 load distribution)')
    .version(packageVersion(), '-V, --version')
    // Options belong to the command they follow: `shoal lab up --members 3` is up's --members.
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({ outputError: (text, write) => printError(text, { write }) });
  for (const command of [runCommand(), ...queryCommands(), simCommand(), labCommand(), flashCommand(), pkiCommand(), configCommand(), ...adminCommands(buildProgram)]) program.addCommand(command.copyInheritedSettings(program));
  return program;
}
