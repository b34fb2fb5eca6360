/** CommandRunner on node:child_process (spawn, no shell). */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { ShoalError } from '../lib/errors.js';
import { COMMAND_NOT_FOUND, type CommandOptions, type CommandResult, type CommandRunner } from './command.js';

export class NodeCommandRunner implements CommandRunner {
  run(argv: readonly string[], options: CommandOptions = {}): Promise<CommandResult> {
    const [file, ...args] = argv;
    if (file === undefined) return Promise.reject(new ShoalError('COMMAND_FAILED_TO_START', 'empty command'));
    const inherit = options.stdio === 'inherit';
    return new Promise((resolve, reject) => {
      const child = spawn(file, args, { stdio: inherit ? 'inherit' : ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('error', (e: NodeJS.ErrnoException) => {
        const code = e.code === 'ENOENT' ? COMMAND_NOT_FOUND : 'COMMAND_FAILED_TO_START';
        reject(new ShoalError(code, `${file}: ${e.code === 'ENOENT' ? 'not found' : e.message}`, { cause: e }));
      });
      child.on('close', (status, signal) => {
        const code = status ?? (signal === null ? 1 : 128 + (constants.signals[signal] ?? 0));
        resolve({ code, stdout, stderr });
      });
      if (child.stdin !== null) {
        // A program that exits without reading its input must not crash us with EPIPE.
        child.stdin.on('error', () => undefined);
        child.stdin.end(options.input ?? '');
      }
    });
  }
}
