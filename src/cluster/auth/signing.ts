/**
 * Signatures for the signed control messages (joins, elections, exits):
 * made with the member's certificate key, checked with the key from its
 * verified chain.
 *
 * - EC P-256: ECDSA with SHA-256; EC P-384: ECDSA with SHA-384 (the hash
 *   matched to the curve's strength). DER-encoded (r, s), as X.509 uses.
 * - RSA: PKCS#1 v1.5 with SHA-256. Chosen over PSS because it is
 *   deterministic: an RSA-keyed simulation then produces the same bytes on
 *   every run. OpenSSL verifies v1.5 by re-encoding, which rules out the
 *   classic lenient-parsing forgeries.
 *
 * Note ECDSA signatures draw their nonce from OpenSSL, so their bytes (and DER
 * length, 70..72 bytes for P-256) differ between runs even with seeded randomness.
 */
import { constants, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { ShoalError } from '../../lib/errors.js';
import { keyKindOf } from './key-kind.js';
import type { KeyKind } from './key-kind.js';

interface Scheme {
  hash: string;
  padding?: number;
}

function schemeFor(kind: KeyKind): Scheme {
  switch (kind) {
    case 'ec-p256':
      return { hash: 'sha256' };
    case 'ec-p384':
      return { hash: 'sha384' };
    case 'rsa':
      return { hash: 'sha256', padding: constants.RSA_PKCS1_PADDING };
  }
}

/** Throws ShoalError UNSUPPORTED_KEY for a key members may not use: that is a configuration error. */
export function signBytes(privateKey: KeyObject, data: Uint8Array): Uint8Array {
  const kind = privateKey.type === 'private' ? keyKindOf(privateKey) : null;
  if (kind === null) {
    throw new ShoalError('UNSUPPORTED_KEY', `cannot sign with a ${privateKey.type} ${privateKey.asymmetricKeyType ?? ''} key`);
  }
  const s = schemeFor(kind);
  const sig = sign(s.hash, data, { key: privateKey, dsaEncoding: 'der', ...(s.padding === undefined ? {} : { padding: s.padding }) });
  return new Uint8Array(sig.buffer, sig.byteOffset, sig.byteLength);
}

/** False for a bad signature, an unusable key or garbage input; never throws. */
export function verifyBytes(publicKey: KeyObject, data: Uint8Array, signature: Uint8Array): boolean {
  try {
    const kind = keyKindOf(publicKey);
    if (kind === null) return false;
    const s = schemeFor(kind);
    return verify(s.hash, data, { key: publicKey, dsaEncoding: 'der', ...(s.padding === undefined ? {} : { padding: s.padding }) }, signature);
  } catch {
    return false;
  }
}
