/**
 * Run the `shoal` CLI in process, the way the lab integration tests drive it:
 * a fresh program from buildProgram(), stdout captured instead of printed,
 * and the exit code the command set handed back (process.exitCode restored).
 */
import { vi } from 'vitest';
import { buildProgram } from '../../src/mgmt/cli/program.js';

/** Run `shoal <args>` in process; its stdout and the exit code it set. */
export async function shoal(...args: string[]): Promise<{ stdout: string; exitCode: number | undefined }> {
  const program = buildProgram();
  let stdout = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  const before = process.exitCode;
  try {
    await program.parseAsync(args, { from: 'user' });
    const code = process.exitCode;
    return { stdout, exitCode: typeof code === 'number' ? code : undefined };
  } finally {
    spy.mockRestore();
    process.exitCode = before;
  }
}
