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
  | 'bad-value'
  /** IKEv2 (RFC 7296 §2.5): a payload we do not know, marked critical; the responder answers UNSUPPORTED_CRITICAL_PAYLOAD. */
  | 'unsupported-critical';

export class DecodeError extends Error {
  readonly reason: DecodeFailure;
  /** `options.cause`: only decodeSafely sets it, to the non-DecodeError a decoder threw (a decoder bug the fuzz pass looks for). */
  constructor(reason: DecodeFailure, detail: string, options?: ErrorOptions) {
    super(`${reason}: ${detail}`, options);
    this.name = 'DecodeError';
    this.reason = reason;
  }
}

/** The unknown critical payload's type travels with the error: it is the Notification Data of UNSUPPORTED_CRITICAL_PAYLOAD. */
export class UnsupportedCriticalPayload extends DecodeError {
  readonly payloadType: number;
  constructor(payloadType: number) {
    super('unsupported-critical', `unknown payload type ${payloadType} has the critical bit set`);
    this.name = 'UnsupportedCriticalPayload';
    this.payloadType = payloadType;
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
    return { ok: false, error: new DecodeError('bad-value', e instanceof Error ? e.message : String(e), { cause: e }) };
  }
}
