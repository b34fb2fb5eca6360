/**
 * Typed reasons a decoder refuses input. Decoders on the packet path return
 * these as values (never throw), so the packet loop can count and drop.
 */
export type DecodeFailure =
  | 'truncated'
  | 'trailing-bytes'
  | 'bad-magic'
  | 'bad-version'
  | 'unknown-type'
  | 'bad-length'
  | 'bad-checksum'
  | 'bad-value';

export class DecodeError extends Error {
  readonly reason: DecodeFailure;
  constructor(reason: DecodeFailure, detail: string) {
    super(`${reason}: ${detail}`);
    this.name = 'DecodeError';
    this.reason = reason;
  }
}

export type Decoded<T> = { ok: true; value: T } | { ok: false; error: DecodeError };

/** Runs a decoder that signals malformed input by throwing DecodeError, and turns that into a value. */
export function decodeSafely<T>(decode: () => T): Decoded<T> {
  try {
    return { ok: true, value: decode() };
  } catch (e) {
    if (e instanceof DecodeError) return { ok: false, error: e };
    // Anything else is a bug in our decoder, reported as a bad value rather than crashing the loop.
    return { ok: false, error: new DecodeError('bad-value', e instanceof Error ? e.message : String(e)) };
  }
}
