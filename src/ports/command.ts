/**
 * Running an external program: the one way the lab (and later the appliance)
 * touches `ip`, `sysctl` and friends. `command-node.ts` runs them for real;
 * `command-memory.ts` records them for tests.
 */

export interface CommandResult {
  /** The exit status; 128 + the signal number when a signal ended the program. */
  code: number;
  /** Empty when stdio was inherited. */
  stdout: string;
  stderr: string;
}

export interface CommandOptions {
  /** Written to the program's stdin, which is then closed. Ignored with `stdio: 'inherit'`. */
  input?: string;
  /** 'pipe' (default) captures stdout and stderr; 'inherit' hands the program our terminal. */
  stdio?: 'pipe' | 'inherit';
}

/** The code of the ShoalError `run` rejects with when the program cannot be found. */
export const COMMAND_NOT_FOUND = 'COMMAND_NOT_FOUND';

export interface CommandRunner {
  /**
   * Run `argv[0]` with the arguments `argv[1..]` (no shell) and resolve when it has
   * ended, whatever its exit status: a non-zero status is a result, not an error.
   * Rejects with a ShoalError coded COMMAND_NOT_FOUND when `argv[0]` does not
   * exist, and with a ShoalError coded COMMAND_FAILED_TO_START for other spawn errors.
   */
  run(argv: readonly string[], options?: CommandOptions): Promise<CommandResult>;
}
