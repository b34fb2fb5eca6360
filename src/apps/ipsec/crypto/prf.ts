/**
 * prf and prf+ (RFC 7296 §2.13). Only HMAC-SHA2 PRFs are supported (RFC 4868),
 * whose output is the untruncated HMAC.
 */
import { createHmac } from 'node:crypto';
import { fail, ok } from './errors.js';
import type { CryptoResult } from './errors.js';
import type { HashName, PrfTransform } from './transforms.js';

/** prf+ is undefined beyond 255 blocks: the block counter is one octet. */
export const PRF_PLUS_MAX_BLOCKS = 255;

export function hmac(hash: HashName, key: Uint8Array, ...data: readonly Uint8Array[]): Uint8Array {
  const mac = createHmac(hash, key);
  for (const part of data) mac.update(part);
  return new Uint8Array(mac.digest());
}

/** prf(K, S): PRF-HMAC-SHA2, untruncated (RFC 4868 §2.2). */
export function prf(alg: PrfTransform, key: Uint8Array, ...data: readonly Uint8Array[]): Uint8Array {
  return hmac(alg.hash, key, ...data);
}

/** The most bytes prf+ can produce with this PRF. */
export function prfPlusMaxLength(alg: PrfTransform): number {
  return PRF_PLUS_MAX_BLOCKS * alg.outputLength;
}

/** prf+(K, S) = T1 | T2 | ..., with Tn = prf(K, Tn-1 | S | n), cut to `length` bytes. */
export function prfPlus(alg: PrfTransform, key: Uint8Array, seed: Uint8Array, length: number): CryptoResult<Uint8Array> {
  if (!Number.isInteger(length) || length < 0 || length > prfPlusMaxLength(alg)) {
    return fail('prf-plus-too-long', `${length} bytes requested, prf+ with ${alg.name} gives at most ${prfPlusMaxLength(alg)}`);
  }
  const out = new Uint8Array(length);
  let previous: Uint8Array = new Uint8Array(0);
  for (let n = 1, offset = 0; offset < length; n++) {
    previous = prf(alg, key, previous, seed, Uint8Array.of(n));
    out.set(previous.subarray(0, Math.min(previous.length, length - offset)), offset);
    offset += previous.length;
  }
  return ok(out);
}
