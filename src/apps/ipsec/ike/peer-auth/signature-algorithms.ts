/**
 * The signature schemes peer authentication speaks, and the DER
 * AlgorithmIdentifiers that name them in RFC 7427 Digital Signature AUTH
 * payloads (and in certificates and CRLs, which use the same structure).
 *
 *   AlgorithmIdentifier ::= SEQUENCE { algorithm OID, parameters ANY OPTIONAL }
 *
 * Only SHA-2: RFC 7427 §4 lets us refuse SHA-1 by not announcing it, and the
 * classic RSA method 1 is the one place SHA-1 is still accepted.
 */
import { constants, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { HashName } from '../../crypto/transforms.js';
import { TAG, oidText, readChildren, readOnly, smallInteger } from '../../../../wire/der.js';

export type SignatureScheme =
  | { kind: 'ecdsa'; hash: HashName }
  | { kind: 'rsa-pkcs1'; hash: HashName }
  /** MGF1 always uses `hash` too: the only PSS shape accepted (RFC 7427 A.4.3 style). */
  | { kind: 'rsa-pss'; hash: HashName; saltLength: number };

export type SchemeParse =
  | { ok: true; scheme: SignatureScheme }
  | { ok: false; reason: 'malformed' | 'unsupported'; detail: string };

const HASH_BYTES: Record<HashName, number> = { sha256: 32, sha384: 48, sha512: 64 };

const ECDSA_OIDS: Record<string, HashName> = {
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
};
const RSA_PKCS1_OIDS: Record<string, HashName> = {
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
};
const HASH_OIDS: Record<string, HashName> = {
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};
const RSASSA_PSS = '1.2.840.113549.1.1.10';
const MGF1 = '1.2.840.113549.1.1.8';

function oidOf(tlv: { tag: number; value: Uint8Array } | undefined): string | undefined {
  return tlv?.tag === TAG.OID ? oidText(tlv.value) : undefined;
}

/** Absent parameters, or NULL: both are seen in the wild for RSA and harmless elsewhere. */
function absentOrNull(params: { tag: number; value: Uint8Array } | undefined): boolean {
  return params === undefined || (params.tag === TAG.NULL && params.value.length === 0);
}

/** A hash AlgorithmIdentifier inside PSS parameters: SHA-2 with absent or NULL parameters. */
function hashAlgorithm(der: Uint8Array): HashName | undefined {
  const seq = readOnly(der, TAG.SEQUENCE);
  const parts = seq && readChildren(seq.value);
  if (parts === undefined || parts.length > 2 || !absentOrNull(parts[1])) return undefined;
  const oid = oidOf(parts[0]);
  return oid === undefined ? undefined : HASH_OIDS[oid];
}

/** RSASSA-PSS-params (RFC 4055 §3.1); only SHA-2 with MGF1 of the same hash and a salt of the hash length. */
function pssParams(params: { tag: number; value: Uint8Array } | undefined): SchemeParse {
  if (params?.tag !== TAG.SEQUENCE) return { ok: false, reason: 'unsupported', detail: 'RSASSA-PSS without parameters means SHA-1' };
  const fields = readChildren(params.value);
  if (fields === undefined) return { ok: false, reason: 'malformed', detail: 'bad RSASSA-PSS parameters' };
  let hash: HashName | undefined;
  let mgfHash: HashName | undefined;
  let salt = 20;
  let trailer = 1;
  for (const f of fields) {
    if (f.tag === TAG.context(0)) hash = hashAlgorithm(f.value);
    else if (f.tag === TAG.context(1)) {
      const seq = readOnly(f.value, TAG.SEQUENCE);
      const parts = seq && readChildren(seq.value);
      if (parts?.length === 2 && oidOf(parts[0]) === MGF1 && parts[1] !== undefined) mgfHash = hashAlgorithm(parts[1].whole);
    } else if (f.tag === TAG.context(2) || f.tag === TAG.context(3)) {
      const int = readOnly(f.value, TAG.INTEGER);
      const n = int && smallInteger(int.value);
      if (n === undefined) return { ok: false, reason: 'malformed', detail: 'bad RSASSA-PSS integer' };
      if (f.tag === TAG.context(2)) salt = n;
      else trailer = n;
    } else {
      return { ok: false, reason: 'malformed', detail: `unexpected tag 0x${f.tag.toString(16)} in RSASSA-PSS parameters` };
    }
  }
  if (hash === undefined || mgfHash !== hash || salt !== HASH_BYTES[hash] || trailer !== 1) {
    return { ok: false, reason: 'unsupported', detail: 'RSASSA-PSS needs SHA-2, MGF1 with the same hash and a salt of the hash length' };
  }
  return { ok: true, scheme: { kind: 'rsa-pss', hash, saltLength: salt } };
}

/** Reads a DER AlgorithmIdentifier; never throws. */
export function parseAlgorithmIdentifier(der: Uint8Array): SchemeParse {
  const seq = readOnly(der, TAG.SEQUENCE);
  const parts = seq && readChildren(seq.value);
  const oid = oidOf(parts?.[0]);
  if (parts === undefined || parts.length > 2 || oid === undefined) {
    return { ok: false, reason: 'malformed', detail: 'not a DER AlgorithmIdentifier' };
  }
  const params = parts[1];
  const ecdsa = ECDSA_OIDS[oid];
  const rsa = RSA_PKCS1_OIDS[oid];
  if (ecdsa !== undefined || rsa !== undefined) {
    if (!absentOrNull(params)) return { ok: false, reason: 'malformed', detail: `unexpected parameters for ${oid}` };
    return { ok: true, scheme: ecdsa !== undefined ? { kind: 'ecdsa', hash: ecdsa } : { kind: 'rsa-pkcs1', hash: rsa ?? 'sha256' } };
  }
  if (oid === RSASSA_PSS) return pssParams(params);
  return { ok: false, reason: 'unsupported', detail: `signature algorithm ${oid}` };
}

// ---- encoding (what we send) ----

function tlv(tag: number, ...parts: Uint8Array[]): Uint8Array {
  const length = parts.reduce((n, p) => n + p.length, 0);
  // Everything built here is far below 128 bytes: short-form length only.
  if (length > 0x7f) throw new RangeError('DER element too long for this encoder');
  return Uint8Array.of(tag, length, ...parts.flatMap((p) => [...p]));
}

function oidBytes(dotted: string): Uint8Array {
  const [a = 0, b = 0, ...rest] = dotted.split('.').map(Number);
  const out = [40 * a + b];
  for (const arc of rest) {
    const septets = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) septets.unshift((v & 0x7f) | 0x80);
    out.push(...septets);
  }
  return tlv(TAG.OID, Uint8Array.from(out));
}

function oidFor(table: Record<string, HashName>, hash: HashName): string {
  const entry = Object.entries(table).find(([, h]) => h === hash);
  if (entry === undefined) throw new RangeError(`no OID for ${hash}`);
  return entry[0];
}

const NULL = Uint8Array.of(TAG.NULL, 0);

/**
 * The AlgorithmIdentifier for a scheme: ECDSA without parameters, RSA with
 * NULL (RFC 7427 A.1, A.3), PSS with all four fields (A.4.3).
 */
export function algorithmIdentifier(scheme: SignatureScheme): Uint8Array {
  switch (scheme.kind) {
    case 'ecdsa':
      return tlv(TAG.SEQUENCE, oidBytes(oidFor(ECDSA_OIDS, scheme.hash)));
    case 'rsa-pkcs1':
      return tlv(TAG.SEQUENCE, oidBytes(oidFor(RSA_PKCS1_OIDS, scheme.hash)), NULL);
    case 'rsa-pss': {
      const hashId = tlv(TAG.SEQUENCE, oidBytes(oidFor(HASH_OIDS, scheme.hash)), NULL);
      const params = tlv(
        TAG.SEQUENCE,
        tlv(TAG.context(0), hashId),
        tlv(TAG.context(1), tlv(TAG.SEQUENCE, oidBytes(MGF1), hashId)),
        tlv(TAG.context(2), tlv(TAG.INTEGER, Uint8Array.of(scheme.saltLength))),
        tlv(TAG.context(3), tlv(TAG.INTEGER, Uint8Array.of(1))),
      );
      return tlv(TAG.SEQUENCE, oidBytes(RSASSA_PSS), params);
    }
  }
}

// ---- signing and verifying with node:crypto ----

export type SignHash = HashName | 'sha1';

/** How node must treat the signature: ECDSA as DER or r||s (RFC 4754), RSA with PKCS#1 v1.5 or PSS padding. */
export type NodeScheme =
  | { kind: 'ecdsa'; hash: SignHash; encoding: 'der' | 'ieee-p1363' }
  | { kind: 'rsa-pkcs1'; hash: SignHash }
  | { kind: 'rsa-pss'; hash: HashName; saltLength: number };

export function nodeScheme(scheme: SignatureScheme): NodeScheme {
  return scheme.kind === 'ecdsa' ? { ...scheme, encoding: 'der' } : scheme;
}

/** Whether a key of this type can make or check signatures of this kind. */
export function keyFits(scheme: NodeScheme, key: KeyObject): boolean {
  const type = key.asymmetricKeyType;
  if (scheme.kind === 'ecdsa') return type === 'ec';
  if (scheme.kind === 'rsa-pkcs1') return type === 'rsa';
  return type === 'rsa' || type === 'rsa-pss';
}

function options(scheme: NodeScheme, key: KeyObject) {
  switch (scheme.kind) {
    case 'ecdsa':
      return { key, dsaEncoding: scheme.encoding };
    case 'rsa-pkcs1':
      return { key, padding: constants.RSA_PKCS1_PADDING };
    case 'rsa-pss':
      return { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: scheme.saltLength };
  }
}

/** True only for a good signature; a wrong key type or mangled signature is false, never an exception. */
export function verifySignature(scheme: NodeScheme, key: KeyObject, data: Uint8Array, signature: Uint8Array): boolean {
  if (!keyFits(scheme, key)) return false;
  try {
    return verify(scheme.hash, data, options(scheme, key), signature);
  } catch {
    return false;
  }
}

export function signWith(scheme: NodeScheme, key: KeyObject, data: Uint8Array): Uint8Array {
  return new Uint8Array(sign(scheme.hash, data, options(scheme, key)));
}
