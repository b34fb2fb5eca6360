/**
 * The body of the Encrypted (SK) payload: everything after its 4-byte generic
 * header, i.e. IV | ciphertext | ICV.
 *
 * `associatedData` is the message from the first octet of the IKE header
 * through the SK payload header. For AEAD it is the AAD (RFC 5282 §5.1); for
 * CBC + HMAC the ICV covers it, then the IV and ciphertext (RFC 7296 §3.14).
 * Either way the caller must have written the final lengths into it first:
 * skBodyLength tells it how long the body will be.
 *
 * The plaintext inside is payloads | padding | pad length. CBC pads to the
 * block size with zeros; AEAD sends no padding (no alignment is required,
 * RFC 5282 §3). On receipt any padding that leaves the pad length inside the
 * plaintext is accepted and its content ignored.
 */
import { createCipheriv, createDecipheriv, timingSafeEqual } from 'node:crypto';
import type { CipherChaCha20Poly1305, CipherGCM, DecipherChaCha20Poly1305, DecipherGCM } from 'node:crypto';
import type { RandomSource } from '../../../lib/random.js';
import { fail, ok } from './errors.js';
import type { CryptoResult } from './errors.js';
import { splitKeyMaterial } from './keys.js';
import { hmac } from './prf.js';
import type { AeadEncryption, CbcEncryption, EncryptionTransform, IntegrityTransform, ProtectionSuite } from './transforms.js';

/** One direction's keys: SK_ei/SK_er (with the salt for AEAD) and SK_ai/SK_ar (empty for AEAD). */
export interface SkKeys {
  readonly encryptionKey: Uint8Array;
  readonly integrityKey: Uint8Array;
}

export function icvLength(suite: ProtectionSuite): number {
  return suite.integrity === null ? suite.encryption.icvLength : suite.integrity.icvLength;
}

/** Plaintext bytes including padding and the pad-length octet. */
function paddedLength(encryption: EncryptionTransform, payloadLength: number): number {
  if (encryption.kind === 'aead') return payloadLength + 1;
  return Math.ceil((payloadLength + 1) / encryption.blockSize) * encryption.blockSize;
}

/** Bytes of the SK body encryptSk will return for `payloadLength` bytes of inner payloads. */
export function skBodyLength(suite: ProtectionSuite, payloadLength: number): number {
  return suite.encryption.ivLength + paddedLength(suite.encryption, payloadLength) + icvLength(suite);
}

/**
 * A fresh IV. CBC needs it unpredictable (RFC 7296 §3.14); AEAD needs it
 * never reused under one key (RFC 5282 §3.1): 64 random bits suffice for the
 * few messages an IKE SA carries, and a caller may pass a counter instead.
 */
export function newIv(encryption: EncryptionTransform, random: RandomSource): Uint8Array {
  return random.bytes(encryption.ivLength);
}

export function encryptSk(
  suite: ProtectionSuite,
  keys: SkKeys,
  associatedData: Uint8Array,
  payloads: Uint8Array,
  iv: Uint8Array,
): CryptoResult<Uint8Array> {
  const enc = suite.encryption;
  if (iv.length !== enc.ivLength) return fail('bad-iv-length', `${enc.name} IV is ${enc.ivLength} bytes, got ${iv.length}`);
  const keyCheck = checkKeys(suite, keys);
  if (!keyCheck.ok) return keyCheck;
  const plain = new Uint8Array(paddedLength(enc, payloads.length));
  plain.set(payloads);
  plain[plain.length - 1] = plain.length - payloads.length - 1;
  try {
    if (suite.integrity === null) return ok(aeadSeal(suite.encryption, keys.encryptionKey, associatedData, plain, iv));
    return ok(cbcSeal(suite.encryption, suite.integrity, keys, associatedData, plain, iv));
  } catch (e) {
    return fail('bad-key-length', `${enc.name} refused the key: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** The inner payloads, with padding removed; never throws. */
export function decryptSk(suite: ProtectionSuite, keys: SkKeys, associatedData: Uint8Array, body: Uint8Array): CryptoResult<Uint8Array> {
  const enc = suite.encryption;
  const keyCheck = checkKeys(suite, keys);
  if (!keyCheck.ok) return keyCheck;
  const icvLen = icvLength(suite);
  const cipherLength = body.length - enc.ivLength - icvLen;
  // At least the pad-length octet (one block for CBC).
  const minCipher = enc.kind === 'cbc' ? enc.blockSize : 1;
  if (cipherLength < minCipher) return fail('bad-length', `SK body of ${body.length} bytes is too short for ${enc.name}`);
  if (enc.kind === 'cbc' && cipherLength % enc.blockSize !== 0) {
    return fail('bad-length', `${enc.name} ciphertext of ${cipherLength} bytes is not a whole number of blocks`);
  }
  const iv = body.subarray(0, enc.ivLength);
  const ciphertext = body.subarray(enc.ivLength, enc.ivLength + cipherLength);
  const icv = body.subarray(enc.ivLength + cipherLength);
  let plain: Uint8Array;
  try {
    if (suite.integrity === null) {
      const opened = aeadOpen(suite.encryption, keys.encryptionKey, associatedData, iv, ciphertext, icv);
      if (opened === null) return fail('bad-icv', `${enc.name} tag does not verify`);
      plain = opened;
    } else {
      const expected = hmac(suite.integrity.hash, keys.integrityKey, associatedData, iv, ciphertext).subarray(0, icvLen);
      if (!timingSafeEqual(expected, icv)) return fail('bad-icv', `${suite.integrity.name} ICV does not verify`);
      plain = cbcOpen(suite.encryption, keys.encryptionKey, iv, ciphertext);
    }
  } catch (e) {
    return fail('bad-length', `${enc.name} refused the input: ${e instanceof Error ? e.message : String(e)}`);
  }
  const padLength = plain[plain.length - 1] ?? 0;
  if (padLength + 1 > plain.length) return fail('bad-padding', `pad length ${padLength} exceeds the ${plain.length}-byte plaintext`);
  return ok(plain.slice(0, plain.length - 1 - padLength));
}

function checkKeys(suite: ProtectionSuite, keys: SkKeys): CryptoResult<true> {
  const enc = suite.encryption;
  if (keys.encryptionKey.length !== enc.keyMaterialLength) {
    return fail('bad-key-length', `${enc.name} key material is ${enc.keyMaterialLength} bytes, got ${keys.encryptionKey.length}`);
  }
  const integrityLength = suite.integrity === null ? 0 : suite.integrity.keyLength;
  if (keys.integrityKey.length !== integrityLength) {
    return fail('bad-key-length', `integrity key is ${integrityLength} bytes, got ${keys.integrityKey.length}`);
  }
  return ok(true);
}

function cbcSeal(enc: CbcEncryption, integ: IntegrityTransform, keys: SkKeys, aad: Uint8Array, plain: Uint8Array, iv: Uint8Array): Uint8Array {
  const cipher = createCipheriv(enc.nodeName, keys.encryptionKey, iv).setAutoPadding(false);
  const ciphertext = Buffer.concat([cipher.update(plain), cipher.final()]);
  const icv = hmac(integ.hash, keys.integrityKey, aad, iv, ciphertext).subarray(0, integ.icvLength);
  return new Uint8Array(Buffer.concat([iv, ciphertext, icv]));
}

function cbcOpen(enc: CbcEncryption, key: Uint8Array, iv: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  const decipher = createDecipheriv(enc.nodeName, key, iv).setAutoPadding(false);
  return new Uint8Array(Buffer.concat([decipher.update(ciphertext), decipher.final()]));
}

/** Nonce = salt | IV: RFC 5282 §4 for GCM, RFC 7634 §2 for ChaCha20-Poly1305 (not in the shared RFC folder). */
function aeadNonce(enc: AeadEncryption, keyMaterial: Uint8Array, iv: Uint8Array): { key: Uint8Array; nonce: Buffer } {
  const { key, salt } = splitKeyMaterial(enc, keyMaterial);
  return { key, nonce: Buffer.concat([salt, iv]) };
}

// node types GCM and ChaCha20-Poly1305 through separate overloads, hence the branches.
function aeadCipher(enc: AeadEncryption, key: Uint8Array, nonce: Buffer): CipherGCM | CipherChaCha20Poly1305 {
  const options = { authTagLength: enc.icvLength };
  return enc.nodeName === 'chacha20-poly1305' ? createCipheriv(enc.nodeName, key, nonce, options) : createCipheriv(enc.nodeName, key, nonce, options);
}

function aeadDecipher(enc: AeadEncryption, key: Uint8Array, nonce: Buffer): DecipherGCM | DecipherChaCha20Poly1305 {
  const options = { authTagLength: enc.icvLength };
  return enc.nodeName === 'chacha20-poly1305' ? createDecipheriv(enc.nodeName, key, nonce, options) : createDecipheriv(enc.nodeName, key, nonce, options);
}

function aeadSeal(enc: AeadEncryption, keyMaterial: Uint8Array, aad: Uint8Array, plain: Uint8Array, iv: Uint8Array): Uint8Array {
  const { key, nonce } = aeadNonce(enc, keyMaterial, iv);
  const cipher = aeadCipher(enc, key, nonce);
  cipher.setAAD(aad, { plaintextLength: plain.length });
  const ciphertext = Buffer.concat([cipher.update(plain), cipher.final()]);
  return new Uint8Array(Buffer.concat([iv, ciphertext, cipher.getAuthTag()]));
}

function aeadOpen(enc: AeadEncryption, keyMaterial: Uint8Array, aad: Uint8Array, iv: Uint8Array, ciphertext: Uint8Array, tag: Uint8Array): Uint8Array | null {
  const { key, nonce } = aeadNonce(enc, keyMaterial, iv);
  const decipher = aeadDecipher(enc, key, nonce);
  decipher.setAAD(aad, { plaintextLength: ciphertext.length });
  decipher.setAuthTag(tag);
  const plain = decipher.update(ciphertext);
  try {
    return new Uint8Array(Buffer.concat([plain, decipher.final()]));
  } catch {
    return null;
  }
}
