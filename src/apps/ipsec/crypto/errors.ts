/**
 * Typed failures of the IKEv2 crypto building blocks. Like the wire decoders
 * (src/wire/decode-error.ts), these functions return failures as values and
 * never throw, because peer-supplied bytes reach every one of them.
 */
export type IkeCryptoFailure =
  | 'prf-plus-too-long'
  | 'bad-suite'
  | 'bad-key-length'
  | 'bad-iv-length'
  | 'bad-peer-public'
  | 'bad-shared-secret'
  | 'bad-random'
  | 'bad-length'
  | 'bad-icv'
  | 'bad-padding';

export class IkeCryptoError extends Error {
  readonly reason: IkeCryptoFailure;
  constructor(reason: IkeCryptoFailure, detail: string) {
    super(`${reason}: ${detail}`);
    this.name = 'IkeCryptoError';
    this.reason = reason;
  }
}

export type CryptoResult<T> = { ok: true; value: T } | { ok: false; error: IkeCryptoError };

export function ok<T>(value: T): CryptoResult<T> {
  return { ok: true, value };
}

export function fail<T>(reason: IkeCryptoFailure, detail: string): CryptoResult<T> {
  return { ok: false, error: new IkeCryptoError(reason, detail) };
}
