/**
 * Carries the 32-byte cluster key to one member, encrypted to the public key
 * of its verified certificate (OK_TO_JOIN, KEY_UPDATE), so only that member
 * can read it even though control traffic is broadcast.
 *
 * Byte layout (the first byte says which scheme, so both may coexist):
 *
 *   EC (ECIES), version 0x01:
 *     0x01 | L (1 byte) | ephemeral public key, uncompressed point (L bytes:
 *     65 for P-256, 97 for P-384) | AES-256-GCM ciphertext (32 bytes) | GCM tag (16 bytes)
 *     ECDH(ephemeral private, recipient public) → HKDF-SHA256(salt = ephemeral
 *     point | recipient point, info = "shoal cluster key wrap v1", 44 bytes)
 *     → AES key (32) | IV (12). The header (version, L, point) is GCM AAD.
 *     A fresh ephemeral key per wrap makes the (key, IV) pair single-use.
 *
 *   RSA, version 0x02:
 *     0x02 | RSA-OAEP ciphertext (modulus length), OAEP with SHA-256 and MGF1-SHA-256,
 *     label "shoal cluster key wrap v1" (domain separation from any other OAEP use of the key).
 *
 * The EC ephemeral scalar comes from the injected RandomSource, so a seeded
 * simulation wraps identically on every run; RSA-OAEP's seed comes from
 * OpenSSL (node offers no way to inject it), so RSA wraps differ between runs
 * (their length does not).
 */
import { constants, createCipheriv, createDecipheriv, createECDH, hkdfSync, privateDecrypt, publicEncrypt } from 'node:crypto';
import type { ECDH, KeyObject } from 'node:crypto';
import { ShoalError } from '../../lib/errors.js';
import type { RandomSource } from '../../lib/random.js';
import { CLUSTER_KEY_LENGTH } from './cluster-key.js';
import { keyKindOf } from './key-kind.js';

const VERSION_ECIES = 0x01;
const VERSION_RSA_OAEP = 0x02;
const INFO = Buffer.from('shoal cluster key wrap v1', 'utf8');
const TAG_LENGTH = 16;
const IV_LENGTH = 12;
const AES_KEY_LENGTH = 32;

interface Curve {
  name: 'prime256v1' | 'secp384r1';
  /** Bytes of a scalar and of each point coordinate. */
  size: number;
}

function curveOf(key: KeyObject): Curve | null {
  const kind = keyKindOf(key);
  if (kind === 'ec-p256') return { name: 'prime256v1', size: 32 };
  if (kind === 'ec-p384') return { name: 'secp384r1', size: 48 };
  return null;
}

function b64uFixed(text: string | undefined, size: number): Buffer {
  const raw = Buffer.from(text ?? '', 'base64url');
  if (raw.length > size) throw new Error('JWK field too long');
  return Buffer.concat([Buffer.alloc(size - raw.length), raw]);
}

/** The key's point in uncompressed form (0x04 | x | y); works for public and private EC keys. */
function uncompressedPoint(key: KeyObject, curve: Curve): Buffer {
  const jwk = key.export({ format: 'jwk' });
  return Buffer.concat([Buffer.from([0x04]), b64uFixed(jwk.x, curve.size), b64uFixed(jwk.y, curve.size)]);
}

function deriveAead(shared: Buffer, ephemeralPoint: Buffer, recipientPoint: Buffer): { aesKey: Buffer; iv: Buffer } {
  const salt = Buffer.concat([ephemeralPoint, recipientPoint]);
  const okm = Buffer.from(hkdfSync('sha256', shared, salt, INFO, AES_KEY_LENGTH + IV_LENGTH));
  return { aesKey: okm.subarray(0, AES_KEY_LENGTH), iv: okm.subarray(AES_KEY_LENGTH) };
}

/** An ephemeral ECDH key from injected randomness; retries the (~2^-32 likely) scalar outside [1, n-1]. */
function ephemeralEcdh(curve: Curve, rng: RandomSource): ECDH {
  for (let attempt = 0; attempt < 16; attempt++) {
    const ecdh = createECDH(curve.name);
    try {
      ecdh.setPrivateKey(rng.bytes(curve.size));
      return ecdh;
    } catch {
      // Scalar zero or not below the group order: draw again.
    }
  }
  throw new ShoalError('BAD_RANDOM', 'random source produced no valid EC scalar in 16 draws');
}

function wrapEc(key: Uint8Array, recipient: KeyObject, curve: Curve, rng: RandomSource): Uint8Array {
  const recipientPoint = uncompressedPoint(recipient, curve);
  const ecdh = ephemeralEcdh(curve, rng);
  const ephemeralPoint = ecdh.getPublicKey();
  const { aesKey, iv } = deriveAead(ecdh.computeSecret(recipientPoint), ephemeralPoint, recipientPoint);
  const header = Buffer.concat([Buffer.from([VERSION_ECIES, ephemeralPoint.length]), ephemeralPoint]);
  const cipher = createCipheriv('aes-256-gcm', aesKey, iv, { authTagLength: TAG_LENGTH });
  cipher.setAAD(header);
  const body = Buffer.concat([cipher.update(key), cipher.final()]);
  return Uint8Array.from(Buffer.concat([header, body, cipher.getAuthTag()]));
}

function wrapRsa(key: Uint8Array, recipient: KeyObject): Uint8Array {
  const ct = publicEncrypt({ key: recipient, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256', oaepLabel: INFO }, key);
  return Uint8Array.from(Buffer.concat([Buffer.from([VERSION_RSA_OAEP]), ct]));
}

/**
 * Encrypts a cluster key to `recipient` (a verified member's certificate key).
 * Throws ShoalError for a key that is not CLUSTER_KEY_LENGTH bytes or a
 * recipient key type members may not have: both are caller bugs, since the
 * chain verifier refuses unsupported keys.
 */
export function wrapKey(key: Uint8Array, recipient: KeyObject, rng: RandomSource): Uint8Array {
  if (key.length !== CLUSTER_KEY_LENGTH) {
    throw new ShoalError('BAD_CLUSTER_KEY', `cluster key must be ${CLUSTER_KEY_LENGTH} bytes, got ${key.length}`);
  }
  const kind = keyKindOf(recipient);
  if (kind === 'rsa') return wrapRsa(key, recipient);
  const curve = curveOf(recipient);
  if (curve === null) throw new ShoalError('UNSUPPORTED_KEY', `cannot wrap to a ${recipient.asymmetricKeyType ?? 'unknown'} key`);
  return wrapEc(key, recipient, curve, rng);
}

function unwrapEc(wrapped: Uint8Array, privateKey: KeyObject, curve: Curve): Uint8Array | null {
  const pointLength = 1 + 2 * curve.size;
  const headerLength = 2 + pointLength;
  if (wrapped[1] !== pointLength || wrapped.length !== headerLength + CLUSTER_KEY_LENGTH + TAG_LENGTH) return null;
  const buf = Buffer.from(wrapped.buffer, wrapped.byteOffset, wrapped.byteLength);
  const header = buf.subarray(0, headerLength);
  const ephemeralPoint = buf.subarray(2, headerLength);
  const body = buf.subarray(headerLength, headerLength + CLUSTER_KEY_LENGTH);
  const tag = buf.subarray(headerLength + CLUSTER_KEY_LENGTH);
  const ecdh = createECDH(curve.name);
  ecdh.setPrivateKey(b64uFixed(privateKey.export({ format: 'jwk' }).d, curve.size));
  // computeSecret throws for a point not on the curve, which the caller's catch turns into null.
  const { aesKey, iv } = deriveAead(ecdh.computeSecret(ephemeralPoint), ephemeralPoint, uncompressedPoint(privateKey, curve));
  const decipher = createDecipheriv('aes-256-gcm', aesKey, iv, { authTagLength: TAG_LENGTH });
  decipher.setAAD(header);
  decipher.setAuthTag(tag);
  return Uint8Array.from(Buffer.concat([decipher.update(body), decipher.final()]));
}

function unwrapRsa(wrapped: Uint8Array, privateKey: KeyObject): Uint8Array {
  const pt = privateDecrypt(
    { key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256', oaepLabel: INFO },
    wrapped.subarray(1),
  );
  return Uint8Array.from(pt);
}

/** The cluster key, or null when the bytes were not wrapped to this key or were altered; never throws. */
export function unwrapKey(wrapped: Uint8Array, privateKey: KeyObject): Uint8Array | null {
  try {
    if (privateKey.type !== 'private') return null;
    const kind = keyKindOf(privateKey);
    let key: Uint8Array | null = null;
    if (wrapped[0] === VERSION_RSA_OAEP && kind === 'rsa') key = unwrapRsa(wrapped, privateKey);
    const curve = curveOf(privateKey);
    if (wrapped[0] === VERSION_ECIES && curve !== null) key = unwrapEc(wrapped, privateKey, curve);
    return key !== null && key.length === CLUSTER_KEY_LENGTH ? key : null;
  } catch {
    return null;
  }
}
