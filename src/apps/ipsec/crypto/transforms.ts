/**
 * The IKEv2 transforms Shoal supports (IANA IKEv2 transform IDs, RFC 7296 §3.3.2)
 * and what each needs: key lengths, IV/block/ICV sizes and node:crypto names.
 * Everything else in this folder looks sizes up here rather than hard-coding them.
 */
import { fail, ok } from './errors.js';
import type { CryptoResult } from './errors.js';

/** Transform type 1 (ENCR) IDs. */
export const EncrId = { AES_CBC: 12, AES_GCM_16: 20, CHACHA20_POLY1305: 28 } as const;
export type EncrId = (typeof EncrId)[keyof typeof EncrId];

/** Transform type 2 (PRF) IDs, RFC 4868 §2.2. */
export const PrfId = { HMAC_SHA2_256: 5, HMAC_SHA2_384: 6, HMAC_SHA2_512: 7 } as const;
export type PrfId = (typeof PrfId)[keyof typeof PrfId];

/** Transform type 3 (INTEG) IDs, RFC 4868 §2.3. */
export const IntegId = { HMAC_SHA2_256_128: 12, HMAC_SHA2_384_192: 13, HMAC_SHA2_512_256: 14 } as const;
export type IntegId = (typeof IntegId)[keyof typeof IntegId];

/** Transform type 4 (D-H group) numbers. */
export const DhGroup = { MODP_2048: 14, ECP_256: 19, ECP_384: 20, CURVE25519: 31 } as const;
export type DhGroup = (typeof DhGroup)[keyof typeof DhGroup];

export type HashName = 'sha256' | 'sha384' | 'sha512';

export interface PrfTransform {
  readonly id: PrfId;
  readonly name: string;
  readonly hash: HashName;
  /** Output length, which is also the preferred key length (SK_d, SK_pi, SK_pr), RFC 7296 §2.13. */
  readonly outputLength: number;
}

export interface IntegrityTransform {
  readonly id: IntegId;
  readonly name: string;
  readonly hash: HashName;
  /** HMAC key length: the hash output length (RFC 4868 §2.1.1). */
  readonly keyLength: number;
  /** ICV: the HMAC truncated to half the hash output (RFC 4868 §2.1.2). */
  readonly icvLength: number;
}

export interface CbcEncryption {
  readonly kind: 'cbc';
  readonly id: EncrId;
  readonly name: string;
  readonly nodeName: 'aes-128-cbc' | 'aes-256-cbc';
  readonly keyBits: 128 | 256;
  readonly keyLength: number;
  /** Bytes of key material taken from prf+ (the key alone for CBC). */
  readonly keyMaterialLength: number;
  readonly blockSize: number;
  /** IV: one cipher block, carried in the payload. */
  readonly ivLength: number;
}

export interface AeadEncryption {
  readonly kind: 'aead';
  readonly id: EncrId;
  readonly name: string;
  readonly nodeName: 'aes-128-gcm' | 'aes-256-gcm' | 'chacha20-poly1305';
  /** Key Length attribute value; undefined for ChaCha20-Poly1305, which has none. */
  readonly keyBits: 128 | 256 | undefined;
  readonly keyLength: number;
  /** Implicit nonce part taken from the key material after the key (RFC 5282 §7.1). */
  readonly saltLength: number;
  readonly keyMaterialLength: number;
  /** Explicit IV carried in the payload (RFC 5282 §3.1). */
  readonly ivLength: number;
  readonly icvLength: number;
}

export type EncryptionTransform = CbcEncryption | AeadEncryption;

export interface DhGroupInfo {
  readonly group: DhGroup;
  readonly name: string;
  /** Bytes of the KE payload's Key Exchange Data. */
  readonly publicLength: number;
  /** Bytes of g^ir as fed to SKEYSEED / KEYMAT. */
  readonly sharedLength: number;
}

const PRFS: readonly PrfTransform[] = [
  { id: PrfId.HMAC_SHA2_256, name: 'prfsha256', hash: 'sha256', outputLength: 32 },
  { id: PrfId.HMAC_SHA2_384, name: 'prfsha384', hash: 'sha384', outputLength: 48 },
  { id: PrfId.HMAC_SHA2_512, name: 'prfsha512', hash: 'sha512', outputLength: 64 },
];

const INTEGRITIES: readonly IntegrityTransform[] = [
  { id: IntegId.HMAC_SHA2_256_128, name: 'sha256', hash: 'sha256', keyLength: 32, icvLength: 16 },
  { id: IntegId.HMAC_SHA2_384_192, name: 'sha384', hash: 'sha384', keyLength: 48, icvLength: 24 },
  { id: IntegId.HMAC_SHA2_512_256, name: 'sha512', hash: 'sha512', keyLength: 64, icvLength: 32 },
];

function cbc(keyBits: 128 | 256): CbcEncryption {
  const keyLength = keyBits / 8;
  return {
    kind: 'cbc',
    id: EncrId.AES_CBC,
    name: `aes${keyBits}`,
    nodeName: keyBits === 128 ? 'aes-128-cbc' : 'aes-256-cbc',
    keyBits,
    keyLength,
    keyMaterialLength: keyLength,
    blockSize: 16,
    ivLength: 16,
  };
}

function gcm16(keyBits: 128 | 256): AeadEncryption {
  const keyLength = keyBits / 8;
  return {
    kind: 'aead',
    id: EncrId.AES_GCM_16,
    name: `aes${keyBits}gcm16`,
    nodeName: keyBits === 128 ? 'aes-128-gcm' : 'aes-256-gcm',
    keyBits,
    keyLength,
    saltLength: 4,
    keyMaterialLength: keyLength + 4,
    ivLength: 8,
    icvLength: 16,
  };
}

/** RFC 7634 §2-§4 (not in the shared RFC folder; layout checked against node's chacha20-poly1305). */
const CHACHA20_POLY1305: AeadEncryption = {
  kind: 'aead',
  id: EncrId.CHACHA20_POLY1305,
  name: 'chacha20poly1305',
  nodeName: 'chacha20-poly1305',
  keyBits: undefined,
  keyLength: 32,
  saltLength: 4,
  keyMaterialLength: 36,
  ivLength: 8,
  icvLength: 16,
};

const ENCRYPTIONS: readonly EncryptionTransform[] = [cbc(128), cbc(256), gcm16(128), gcm16(256), CHACHA20_POLY1305];

const DH_GROUPS: readonly DhGroupInfo[] = [
  { group: DhGroup.MODP_2048, name: 'modp2048', publicLength: 256, sharedLength: 256 },
  // ECP: KE data is x | y without the 0x04 prefix (RFC 5903 §7); g^ir is x only.
  { group: DhGroup.ECP_256, name: 'ecp256', publicLength: 64, sharedLength: 32 },
  { group: DhGroup.ECP_384, name: 'ecp384', publicLength: 96, sharedLength: 48 },
  { group: DhGroup.CURVE25519, name: 'x25519', publicLength: 32, sharedLength: 32 },
];

export const SUPPORTED_ENCRYPTIONS: readonly EncryptionTransform[] = ENCRYPTIONS;
export const SUPPORTED_PRFS: readonly PrfTransform[] = PRFS;
export const SUPPORTED_INTEGRITIES: readonly IntegrityTransform[] = INTEGRITIES;
export const SUPPORTED_DH_GROUPS: readonly DhGroupInfo[] = DH_GROUPS;

/** The encryption transform for a negotiated ID and Key Length attribute (bits), or undefined. */
export function encryptionTransform(id: number, keyBits?: number): EncryptionTransform | undefined {
  return ENCRYPTIONS.find((e) => e.id === id && e.keyBits === keyBits);
}

export function prfTransform(id: number): PrfTransform | undefined {
  return PRFS.find((p) => p.id === id);
}

export function integrityTransform(id: number): IntegrityTransform | undefined {
  return INTEGRITIES.find((i) => i.id === id);
}

export function dhGroupInfo(group: number): DhGroupInfo | undefined {
  return DH_GROUPS.find((g) => g.group === group);
}

/** Encryption plus integrity as used for one SA (the IKE SA's SK payload, or an ESP SA). */
export type ProtectionSuite =
  | { readonly encryption: CbcEncryption; readonly integrity: IntegrityTransform }
  | { readonly encryption: AeadEncryption; readonly integrity: null };

/** An IKE SA suite: protection plus the PRF and D-H group. */
export type IkeSuite = ProtectionSuite & { readonly prf: PrfTransform; readonly dhGroup: DhGroupInfo };

export function isAead(encryption: EncryptionTransform): encryption is AeadEncryption {
  return encryption.kind === 'aead';
}

/**
 * Pairs encryption with integrity: an AEAD takes no integrity transform
 * (RFC 5282 §8), a CBC cipher needs one.
 */
export function protectionSuite(encryption: EncryptionTransform, integrity: IntegrityTransform | null): CryptoResult<ProtectionSuite> {
  if (encryption.kind === 'aead') {
    if (integrity !== null) return fail('bad-suite', `${encryption.name} is AEAD and takes no integrity transform`);
    return ok({ encryption, integrity: null });
  }
  if (integrity === null) return fail('bad-suite', `${encryption.name} needs an integrity transform`);
  return ok({ encryption, integrity });
}

/**
 * Parses a strongSwan-style proposal name such as "aes256gcm16-prfsha256-ecp256"
 * or "aes256-sha256-modp2048". For CBC without an explicit prfXXX token, the
 * PRF follows the integrity hash, as strongSwan does.
 */
export function parseIkeSuite(name: string): CryptoResult<IkeSuite> {
  const tokens = name.toLowerCase().split('-');
  let encryption: EncryptionTransform | undefined;
  let integrity: IntegrityTransform | null = null;
  let prf: PrfTransform | undefined;
  let dhGroup: DhGroupInfo | undefined;
  for (const token of tokens) {
    const e = ENCRYPTIONS.find((x) => x.name === token);
    const i = INTEGRITIES.find((x) => x.name === token);
    const p = PRFS.find((x) => x.name === token);
    const g = DH_GROUPS.find((x) => x.name === token || (token === 'curve25519' && x.group === DhGroup.CURVE25519));
    if (e !== undefined && encryption === undefined) encryption = e;
    else if (i !== undefined && integrity === null) integrity = i;
    else if (p !== undefined && prf === undefined) prf = p;
    else if (g !== undefined && dhGroup === undefined) dhGroup = g;
    else return fail('bad-suite', `unknown or repeated token "${token}" in "${name}"`);
  }
  if (encryption === undefined || dhGroup === undefined) return fail('bad-suite', `"${name}" lacks an encryption or D-H group`);
  if (prf === undefined && integrity !== null) prf = PRFS.find((x) => x.hash === integrity.hash);
  if (prf === undefined) return fail('bad-suite', `"${name}" lacks a PRF`);
  const protection = protectionSuite(encryption, integrity);
  if (!protection.ok) return protection;
  return ok({ ...protection.value, prf, dhGroup });
}
