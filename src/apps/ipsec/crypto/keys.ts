/**
 * Key derivation for the IKE SA (RFC 7296 §2.14, §2.18) and for child SAs
 * (RFC 7296 §2.17). AEAD keys carry their salt after the cipher key
 * (RFC 5282 §7.1 for the IKE SA, RFC 4106 §8.1 / RFC 7634 for ESP).
 */
import { fail, ok } from './errors.js';
import type { CryptoResult } from './errors.js';
import { prf, prfPlus } from './prf.js';
import type { EncryptionTransform, IkeSuite, PrfTransform, ProtectionSuite } from './transforms.js';

export interface IkeSaKeys {
  readonly skD: Uint8Array;
  readonly skAi: Uint8Array;
  readonly skAr: Uint8Array;
  /** For AEAD: cipher key followed by salt. */
  readonly skEi: Uint8Array;
  readonly skEr: Uint8Array;
  readonly skPi: Uint8Array;
  readonly skPr: Uint8Array;
}

/** Keys of one ESP SA (one direction). */
export interface EspSaKeys {
  readonly encryptionKey: Uint8Array;
  /** Implicit nonce part for AEAD; empty for CBC. */
  readonly salt: Uint8Array;
  /** Empty for AEAD. */
  readonly integrityKey: Uint8Array;
}

export interface ChildSaKeys {
  readonly initiatorToResponder: EspSaKeys;
  readonly responderToInitiator: EspSaKeys;
}

/** SKEYSEED = prf(Ni | Nr, g^ir). */
export function skeyseed(alg: PrfTransform, nonceI: Uint8Array, nonceR: Uint8Array, sharedSecret: Uint8Array): Uint8Array {
  return prf(alg, concat(nonceI, nonceR), sharedSecret);
}

/** SKEYSEED for a rekeyed IKE SA = prf(SK_d (old), g^ir (new) | Ni | Nr), with the old SA's PRF (§2.18). */
export function rekeyedSkeyseed(
  oldPrf: PrfTransform,
  oldSkD: Uint8Array,
  sharedSecret: Uint8Array,
  nonceI: Uint8Array,
  nonceR: Uint8Array,
): Uint8Array {
  return prf(oldPrf, oldSkD, sharedSecret, nonceI, nonceR);
}

/** Byte lengths of the seven IKE SA keys for a suite. */
export function ikeSaKeyLengths(suite: IkeSuite): { d: number; a: number; e: number; p: number } {
  return {
    d: suite.prf.outputLength,
    a: suite.integrity === null ? 0 : suite.integrity.keyLength,
    e: suite.encryption.keyMaterialLength,
    p: suite.prf.outputLength,
  };
}

/** {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr} = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr), with the new SA's PRF. */
export function deriveIkeSaKeys(
  suite: IkeSuite,
  seed: Uint8Array,
  nonceI: Uint8Array,
  nonceR: Uint8Array,
  spiI: Uint8Array,
  spiR: Uint8Array,
): CryptoResult<IkeSaKeys> {
  if (spiI.length !== 8 || spiR.length !== 8) return fail('bad-key-length', 'IKE SPIs are 8 bytes each');
  const len = ikeSaKeyLengths(suite);
  const stream = prfPlus(suite.prf, seed, concat(nonceI, nonceR, spiI, spiR), len.d + 2 * len.a + 2 * len.e + 2 * len.p);
  if (!stream.ok) return stream;
  const take = taker(stream.value);
  return ok({
    skD: take(len.d),
    skAi: take(len.a),
    skAr: take(len.a),
    skEi: take(len.e),
    skEr: take(len.e),
    skPi: take(len.p),
    skPr: take(len.p),
  });
}

/** Bytes of KEYMAT one ESP SA takes: encryption key (+ salt) first, then the integrity key. */
export function espKeyMaterialLength(suite: ProtectionSuite): number {
  return suite.encryption.keyMaterialLength + (suite.integrity === null ? 0 : suite.integrity.keyLength);
}

/**
 * KEYMAT = prf+(SK_d, Ni | Nr), or prf+(SK_d, g^ir (new) | Ni | Nr) when the
 * CREATE_CHILD_SA carried a D-H exchange (PFS). Initiator→responder keys come
 * first; within an SA the encryption key precedes the integrity key (§2.17).
 */
export function deriveChildSaKeys(
  alg: PrfTransform,
  skD: Uint8Array,
  suite: ProtectionSuite,
  nonceI: Uint8Array,
  nonceR: Uint8Array,
  pfsSharedSecret?: Uint8Array,
): CryptoResult<ChildSaKeys> {
  const seed = pfsSharedSecret === undefined ? concat(nonceI, nonceR) : concat(pfsSharedSecret, nonceI, nonceR);
  const stream = prfPlus(alg, skD, seed, 2 * espKeyMaterialLength(suite));
  if (!stream.ok) return stream;
  const take = taker(stream.value);
  const oneSa = (): EspSaKeys => {
    const { key, salt } = splitKeyMaterial(suite.encryption, take(suite.encryption.keyMaterialLength));
    const integrityKey = take(suite.integrity === null ? 0 : suite.integrity.keyLength);
    return { encryptionKey: key, salt, integrityKey };
  };
  const initiatorToResponder = oneSa();
  const responderToInitiator = oneSa();
  return ok({ initiatorToResponder, responderToInitiator });
}

/** Splits SK_e / ESP key material into the cipher key and the AEAD salt that follows it. */
export function splitKeyMaterial(encryption: EncryptionTransform, material: Uint8Array): { key: Uint8Array; salt: Uint8Array } {
  return { key: material.subarray(0, encryption.keyLength), salt: material.subarray(encryption.keyLength, encryption.keyMaterialLength) };
}

function taker(stream: Uint8Array): (n: number) => Uint8Array {
  let offset = 0;
  return (n) => {
    const part = stream.slice(offset, offset + n);
    offset += n;
    return part;
  };
}

export function concat(...parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
