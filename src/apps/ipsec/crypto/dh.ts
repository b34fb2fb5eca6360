/**
 * Ephemeral Diffie-Hellman for the KE payload: MODP-2048 (group 14), P-256 (19),
 * P-384 (20) and Curve25519 (31). Public values use the KE payload encodings:
 * MODP left-padded to the prime length, ECP x | y without the 0x04 prefix
 * (RFC 5903 §7), X25519 the raw 32 bytes (RFC 8031 §3.1). Shared secrets are
 * g^ir as SKEYSEED wants it: MODP padded to the prime length, ECP x only,
 * X25519 the raw 32 bytes.
 *
 * The private value comes from the injected RandomSource so seeded runs agree;
 * node's own key generation takes no RNG, so keys are built from those bytes.
 */
import { createDiffieHellman, createECDH, createPrivateKey, createPublicKey, diffieHellman, getDiffieHellman } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { RandomSource } from '../../../lib/random.js';
import { fail, ok } from './errors.js';
import type { CryptoResult } from './errors.js';
import { DhGroup, dhGroupInfo } from './transforms.js';
import type { DhGroupInfo } from './transforms.js';

export interface KeyExchange {
  readonly group: DhGroupInfo;
  /** Key Exchange Data for our KE payload. */
  readonly publicValue: Uint8Array;
  /** g^ir from the peer's Key Exchange Data, after validating it; never throws. */
  computeShared(peerPublic: Uint8Array): CryptoResult<Uint8Array>;
}

/** 320-bit MODP exponents: the top of RFC 3526 §8's range for the 2048-bit group. */
const MODP_PRIVATE_LENGTH = 40;
const ECDH_DRAWS = 16;

/** The RFC 3526 group 14 prime, as OpenSSL carries it. */
const MODP_2048_PRIME = getDiffieHellman('modp14').getPrime();
const MODP_2048_P = bigFromBytes(MODP_2048_PRIME);


/** A fresh key exchange for `group`, its private value drawn from `random`. */
export function createKeyExchange(group: number, random: RandomSource): CryptoResult<KeyExchange> {
  const info = dhGroupInfo(group);
  if (info === undefined) return fail('bad-suite', `unsupported D-H group ${group}`);
  if (info.group === DhGroup.ECP_256 || info.group === DhGroup.ECP_384) {
    // A scalar outside [1, n-1] (about 2^-32 likely for P-256) is drawn again.
    for (let i = 0; i < ECDH_DRAWS; i++) {
      const kx = keyExchangeFromPrivate(group, random.bytes(info.sharedLength));
      if (kx.ok) return kx;
    }
    return fail('bad-random', `no valid ${info.name} scalar in ${ECDH_DRAWS} draws`);
  }
  const length = info.group === DhGroup.MODP_2048 ? MODP_PRIVATE_LENGTH : 32;
  return keyExchangeFromPrivate(group, random.bytes(length));
}

/** A key exchange from a given private value (big-endian scalar/exponent, or raw X25519 key); for tests and vectors. */
export function keyExchangeFromPrivate(group: number, privateKey: Uint8Array): CryptoResult<KeyExchange> {
  const info = dhGroupInfo(group);
  if (info === undefined) return fail('bad-suite', `unsupported D-H group ${group}`);
  try {
    switch (info.group) {
      case DhGroup.MODP_2048:
        return modp(info, privateKey);
      case DhGroup.ECP_256:
        return ecp(info, 'prime256v1', privateKey);
      case DhGroup.ECP_384:
        return ecp(info, 'secp384r1', privateKey);
      case DhGroup.CURVE25519:
        return x25519(info, privateKey);
    }
  } catch (e) {
    return fail('bad-key-length', `${info.name} private key refused: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function modp(info: DhGroupInfo, privateKey: Uint8Array): CryptoResult<KeyExchange> {
  const x = bigFromBytes(privateKey);
  if (x < 2n) return fail('bad-random', 'MODP exponent below 2');
  const dh = createDiffieHellman(MODP_2048_PRIME, 2);
  dh.setPrivateKey(Buffer.from(privateKey));
  // generateKeys keeps a private key already set and derives the public value from it.
  const publicValue = leftPad(dh.generateKeys(), info.publicLength);
  return ok({
    group: info,
    publicValue,
    computeShared(peerPublic) {
      if (peerPublic.length !== info.publicLength) {
        return fail('bad-peer-public', `MODP value is ${peerPublic.length} bytes, want ${info.publicLength}`);
      }
      const y = bigFromBytes(peerPublic);
      if (y <= 1n || y >= MODP_2048_P - 1n) return fail('bad-peer-public', 'MODP value outside 1 < y < p-1');
      try {
        return ok(leftPad(dh.computeSecret(peerPublic), info.sharedLength));
      } catch (e) {
        return fail('bad-peer-public', `MODP value refused: ${message(e)}`);
      }
    },
  });
}

function ecp(info: DhGroupInfo, curve: 'prime256v1' | 'secp384r1', privateKey: Uint8Array): CryptoResult<KeyExchange> {
  if (privateKey.length !== info.sharedLength) return fail('bad-key-length', `${info.name} scalar must be ${info.sharedLength} bytes`);
  const ecdh = createECDH(curve);
  ecdh.setPrivateKey(Buffer.from(privateKey));
  const publicValue = new Uint8Array(ecdh.getPublicKey().subarray(1));
  return ok({
    group: info,
    publicValue,
    computeShared(peerPublic) {
      if (peerPublic.length !== info.publicLength) {
        return fail('bad-peer-public', `${info.name} value is ${peerPublic.length} bytes, want ${info.publicLength}`);
      }
      try {
        // node refuses a point that is not on the curve.
        const shared = ecdh.computeSecret(Buffer.concat([Buffer.of(0x04), peerPublic]));
        return ok(leftPad(shared, info.sharedLength));
      } catch (e) {
        return fail('bad-peer-public', `${info.name} point refused: ${message(e)}`);
      }
    },
  });
}

function x25519(info: DhGroupInfo, privateKey: Uint8Array): CryptoResult<KeyExchange> {
  if (privateKey.length !== 32) return fail('bad-key-length', 'X25519 private key must be 32 bytes');
  // Raw keys through JWK: OpenSSL 3 builds them directly, where a PKCS#8/SPKI DER round trip goes
  // through its decoders at ~0.45 ms a key (a quarter of a PSK handshake's CPU).
  const key = createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: Buffer.from(privateKey).toString('base64url'), x: '' }, format: 'jwk' });
  const jwk = createPublicKey(key).export({ format: 'jwk' });
  const publicValue = new Uint8Array(Buffer.from(jwk.x ?? '', 'base64url'));
  if (publicValue.length !== 32) return fail('bad-key-length', 'X25519 public value is not 32 bytes');
  return ok({
    group: info,
    publicValue,
    computeShared(peerPublic) {
      if (peerPublic.length !== info.publicLength) return fail('bad-peer-public', `X25519 value is ${peerPublic.length} bytes, want 32`);
      // RFC 8031 §3.2: mask the top bit of the final byte, accept non-canonical values.
      const masked = Uint8Array.from(peerPublic);
      masked[31] = (masked[31] ?? 0) & 0x7f;
      let shared: Buffer;
      try {
        const peerKey: KeyObject = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(masked).toString('base64url') }, format: 'jwk' });
        shared = diffieHellman({ privateKey: key, publicKey: peerKey });
      } catch (e) {
        // OpenSSL fails the derivation when a small-order point gives the all-zero secret.
        return fail('bad-shared-secret', `X25519 refused: ${message(e)}`);
      }
      // RFC 7748 §6.1's all-zero check, in case the library did not make it.
      if (shared.every((b) => b === 0)) return fail('bad-shared-secret', 'X25519 shared secret is all zero');
      return ok(new Uint8Array(shared));
    },
  });
}

function bigFromBytes(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${Buffer.from(bytes).toString('hex')}`);
}

function leftPad(bytes: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  out.set(bytes.subarray(Math.max(0, bytes.length - length)), Math.max(0, length - bytes.length));
  return out;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
