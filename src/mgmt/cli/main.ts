#!/usr/bin/env node
/**
 * The `shoal` command: builds the program from the command modules and maps
 * every outcome to an exit code (0 ok, 1 check failed, 2 usage) with at most
 * one line on stderr. SHOAL_DEBUG=1 adds the stack of an unexpected error.
 */
import { CommanderError } from 'commander';
import { ShoalError } from '../../lib/errors.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, printError } from './output.js';
import { buildProgram } from './program.js';

async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT_OK;
  } catch (e) {
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
}

// `shoal status | head` closes the pipe early: that is not an error worth a stack trace.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? EXIT_OK);
  throw e;
});

process.exitCode = await main(process.argv);
