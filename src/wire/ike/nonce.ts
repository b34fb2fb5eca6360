/**
 * Nonce payload body (RFC 7296 §3.9): the nonce data alone.
 * "The size of the Nonce Data MUST be between 16 and 256 octets, inclusive":
 * a shorter or longer nonce is 'bad-length'.
 */
import { DecodeError, decodeSafely, type Decoded } from '../decode-error.js';

export const NONCE_MIN = 16;
export const NONCE_MAX = 256;

export interface NoncePayload {
  nonce: Uint8Array;
}

export function readNonce(body: Uint8Array): NoncePayload {
  if (body.length < NONCE_MIN || body.length > NONCE_MAX) {
    throw new DecodeError('bad-length', `nonce of ${body.length} bytes, need ${NONCE_MIN}..${NONCE_MAX}`);
  }
  return { nonce: body };
}

export function decodeNonce(body: Uint8Array): Decoded<NoncePayload> {
  return decodeSafely(() => readNonce(body));
}

export function encodeNonce(p: NoncePayload): Uint8Array {
  if (p.nonce.length < NONCE_MIN || p.nonce.length > NONCE_MAX) {
    throw new RangeError(`nonce of ${p.nonce.length} bytes, need ${NONCE_MIN}..${NONCE_MAX}`);
  }
  return p.nonce.slice();
}
