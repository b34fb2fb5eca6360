/**
 * One base class for thrown errors (config, start-up, CLI), each with a stable
 * `code` so callers branch on the code and never on the message text.
 * The packet path does not throw: it returns typed drops (see wire/decode-error.ts).
 */
export class ShoalError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ShoalError';
    this.code = code;
  }
}
