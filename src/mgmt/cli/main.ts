#!/usr/bin/env node
/**
 * The `shoal` command: builds the program from the command modules and maps
 * every outcome to an exit code (0 ok, 1 check failed, 2 usage) with at most
 * one line on stderr (run.ts). SHOAL_DEBUG=1 adds the stack of an unexpected error.
 */
import { EXIT_OK } from './output.js';
import { buildProgram } from './program.js';
import { runShoal } from './run.js';

// `shoal status | head` closes the pipe early: that is not an error worth a stack trace.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? EXIT_OK);
  throw e;
});

process.exitCode = await runShoal(buildProgram(), process.argv, 'node');
