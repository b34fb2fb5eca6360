/**
 * Running one `shoal` command line and mapping its outcome to an exit code
 * (0 ok, 1 check failed, 2 usage) with at most one line on stderr. The
 * `shoal` binary runs one line per process; the shell runs many in one.
 * SHOAL_DEBUG=1 adds the stack of an unexpected error.
 */
import { CommanderError, type Command } from 'commander';
import { ShoalError } from '../../lib/errors.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, printError } from './output.js';

/** The exit code for an error a command threw, its one line already printed. */
export function reportError(e: unknown): number {
  // Commander has already printed its message (or the help/version).
  if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
  if (e instanceof ShoalError && e.code.startsWith('BAD_')) {
    printError(e.message);
    return EXIT_USAGE;
  }
  printError(`error: ${e instanceof Error ? e.message : String(e)}`);
  if (process.env['SHOAL_DEBUG'] === '1' && e instanceof Error && e.stack !== undefined) process.stderr.write(`${e.stack}\n`);
  return EXIT_FAILED;
}

/**
 * Parse and run `argv` on `program` (`from: 'node'` for process.argv, 'user'
 * for bare arguments); the exit code the command set or its error maps to.
 * process.exitCode is left as it was found.
 */
export async function runShoal(program: Command, argv: readonly string[], from: 'node' | 'user'): Promise<number> {
  const before = process.exitCode;
  process.exitCode = undefined;
  try {
    await program.parseAsync([...argv], { from });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT_OK;
  } catch (e) {
    return reportError(e);
  } finally {
    process.exitCode = before;
  }
}
