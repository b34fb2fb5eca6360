/**
 * Making and checking the AUTH payload (RFC 7296 §2.15, §3.8):
 *
 *   signed octets ──► createAuth(own key | PSK) ──► AuthPayload ──► wire
 *   wire ──► AuthPayload ──► verifyAuth(peer key | PSK) ──► AuthCheck
 *
 * Methods: 1 (RSA PKCS#1 v1.5 + SHA-1), 2 (shared key MIC), 9/10/11 (ECDSA,
 * RFC 4754: r || s) and 14 (RFC 7427: AlgorithmIdentifier + signature, ECDSA
 * signatures in DER). verifyAuth returns a typed result and never throws:
 * the AUTH data is attacker-controlled.
 */
import { timingSafeEqual } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { AUTH_METHOD, joinDigitalSignature, splitDigitalSignature, type AuthPayload } from '../../../../wire/ike/auth.js';
import { HASH_ALGORITHM } from '../../../../wire/ike/notify.js';
import { prf } from '../../crypto/prf.js';
import type { HashName, PrfTransform } from '../../crypto/transforms.js';
import { ECDSA_METHODS, methodName, type EcdsaMethod } from './methods.js';
import {
  algorithmIdentifier,
  keyFits,
  nodeScheme,
  parseAlgorithmIdentifier,
  signWith,
  verifySignature,
  type NodeScheme,
  type SignatureScheme,
} from './signature-algorithms.js';

export type AuthCheck =
  | { ok: true; method: string }
  | { ok: false; reason: 'bad-signature' | 'unsupported-method' | 'method-mismatch' | 'malformed'; detail: string };

export type PeerCredential = { kind: 'public-key'; key: KeyObject } | { kind: 'psk'; secret: Uint8Array; prf: PrfTransform };

export type OwnCredential =
  | {
      kind: 'private-key';
      key: KeyObject;
      /** Hashes from the peer's SIGNATURE_HASH_ALGORITHMS notify (RFC 7427 §4); empty when it sent none. */
      peerHashes: readonly number[];
    }
  | { kind: 'psk'; secret: Uint8Array; prf: PrfTransform };

/** What we announce in our own SIGNATURE_HASH_ALGORITHMS notify: SHA-2 only. */
export const OUR_SIGNATURE_HASHES: readonly number[] = [HASH_ALGORITHM.SHA2_256, HASH_ALGORITHM.SHA2_384, HASH_ALGORITHM.SHA2_512];

/** RFC 7296 §2.15: the fixed pad string, without a terminating NUL. */
const KEY_PAD = new TextEncoder().encode('Key Pad for IKEv2');

type Failure = Extract<AuthCheck, { ok: false }>;

function fail(reason: Failure['reason'], detail: string): Failure {
  return { ok: false, reason, detail };
}

/** AUTH = prf( prf(Shared Secret, "Key Pad for IKEv2"), <signed octets>) */
function pskMic(alg: PrfTransform, secret: Uint8Array, octets: Uint8Array): Uint8Array {
  return prf(alg, prf(alg, secret, KEY_PAD), octets);
}

function curveMethod(key: KeyObject): EcdsaMethod | undefined {
  const curve = key.asymmetricKeyDetails?.namedCurve;
  return ECDSA_METHODS.find((m) => m.curve === curve);
}

function schemeName(s: SignatureScheme): string {
  return `${s.kind}-${s.hash}`;
}

function checkSignature(scheme: NodeScheme, key: KeyObject, octets: Uint8Array, signature: Uint8Array, method: string): AuthCheck {
  return verifySignature(scheme, key, octets, signature) ? { ok: true, method } : fail('bad-signature', `${method} signature does not verify`);
}

function verifyDigitalSignature(data: Uint8Array, octets: Uint8Array, key: KeyObject): AuthCheck {
  const split = splitDigitalSignature(data);
  if (!split.ok) return fail('malformed', `digital signature: ${split.error.message}`);
  const parsed = parseAlgorithmIdentifier(split.value.algorithmIdentifier);
  if (!parsed.ok) return fail(parsed.reason === 'malformed' ? 'malformed' : 'unsupported-method', parsed.detail);
  const scheme = nodeScheme(parsed.scheme);
  const name = `${methodName(AUTH_METHOD.DIGITAL_SIGNATURE)}/${schemeName(parsed.scheme)}`;
  if (!keyFits(scheme, key)) return fail('method-mismatch', `${name} with a ${key.asymmetricKeyType ?? 'unknown'} key`);
  return checkSignature(scheme, key, octets, split.value.signature, name);
}

function verifyWithKey(auth: AuthPayload, octets: Uint8Array, key: KeyObject): AuthCheck {
  const name = methodName(auth.method);
  if (auth.method === AUTH_METHOD.DIGITAL_SIGNATURE) return verifyDigitalSignature(auth.data, octets, key);
  if (auth.method === AUTH_METHOD.RSA_SIGNATURE) {
    if (key.asymmetricKeyType !== 'rsa') return fail('method-mismatch', `${name} with a ${key.asymmetricKeyType ?? 'unknown'} key`);
    return checkSignature({ kind: 'rsa-pkcs1', hash: 'sha1' }, key, octets, auth.data, name);
  }
  const ecdsa = ECDSA_METHODS.find((m) => m.method === auth.method);
  if (ecdsa === undefined) return fail('unsupported-method', `AUTH ${name}`);
  // RFC 4754 §3: the method fixes the curve, so a key on another curve cannot be meant.
  if (curveMethod(key) !== ecdsa) return fail('method-mismatch', `${name} with a key that is not on ${ecdsa.curve}`);
  if (auth.data.length !== 2 * ecdsa.half) return fail('malformed', `${name} signature of ${auth.data.length} bytes, need ${2 * ecdsa.half}`);
  return checkSignature({ kind: 'ecdsa', hash: ecdsa.hash, encoding: 'ieee-p1363' }, key, octets, auth.data, name);
}

function verifyPsk(auth: AuthPayload, octets: Uint8Array, peer: Extract<PeerCredential, { kind: 'psk' }>): AuthCheck {
  const expected = pskMic(peer.prf, peer.secret, octets);
  // Length is public (it is the PRF's); only the content comparison must be constant-time.
  if (auth.data.length !== expected.length || !timingSafeEqual(auth.data, expected)) {
    return fail('bad-signature', 'shared key MIC does not match');
  }
  return { ok: true, method: methodName(AUTH_METHOD.SHARED_KEY_MIC) };
}

const SIGNATURE_METHODS: ReadonlySet<number> = new Set([
  AUTH_METHOD.RSA_SIGNATURE,
  AUTH_METHOD.DIGITAL_SIGNATURE,
  ...ECDSA_METHODS.map((m) => m.method),
]);

/** Checks the peer's AUTH payload over `octets` (see signedOctets). Never throws. */
export function verifyAuth(auth: AuthPayload, octets: Uint8Array, peer: PeerCredential): AuthCheck {
  try {
    const isPsk = auth.method === AUTH_METHOD.SHARED_KEY_MIC;
    if (!isPsk && !SIGNATURE_METHODS.has(auth.method)) return fail('unsupported-method', `AUTH ${methodName(auth.method)}`);
    if (isPsk !== (peer.kind === 'psk')) {
      return fail('method-mismatch', `peer used ${methodName(auth.method)} but is configured for ${peer.kind === 'psk' ? 'a shared key' : 'a public key'}`);
    }
    return peer.kind === 'psk' ? verifyPsk(auth, octets, peer) : verifyWithKey(auth, octets, peer.key);
  } catch (err) {
    // Last resort: node:crypto surprises must not escape onto the packet path.
    return fail('malformed', `unexpected: ${err instanceof Error ? err.message : String(err)}`);
  }
}

const HASH_NUMBER: Record<HashName, number> = {
  sha256: HASH_ALGORITHM.SHA2_256,
  sha384: HASH_ALGORITHM.SHA2_384,
  sha512: HASH_ALGORITHM.SHA2_512,
};

/** The hash for RFC 7427 signing: the first of `preference` the peer announced. */
function pickHash(preference: readonly HashName[], peerHashes: readonly number[]): HashName | undefined {
  return preference.find((h) => peerHashes.includes(HASH_NUMBER[h]));
}

/**
 * The signing scheme for our key. RFC 7427 (method 14) when the peer announced
 * a SHA-2 hash: ECDSA with the curve's own hash, else SHA-256; RSA with
 * PKCS#1 v1.5 and SHA-256 (strongSwan's default, which every peer accepts).
 * Without the notify the peer may not know method 14, so the classic one.
 */
function chooseScheme(key: KeyObject, peerHashes: readonly number[]): { method: number; scheme: NodeScheme; digital?: SignatureScheme } {
  if (key.asymmetricKeyType === 'ec') {
    const ecdsa = curveMethod(key);
    if (ecdsa === undefined) throw new RangeError(`cannot sign AUTH with an EC key on ${key.asymmetricKeyDetails?.namedCurve ?? 'an unknown curve'}`);
    const hash = pickHash([ecdsa.hash, 'sha256', 'sha384', 'sha512'], peerHashes);
    if (hash !== undefined) {
      const digital: SignatureScheme = { kind: 'ecdsa', hash };
      return { method: AUTH_METHOD.DIGITAL_SIGNATURE, scheme: nodeScheme(digital), digital };
    }
    return { method: ecdsa.method, scheme: { kind: 'ecdsa', hash: ecdsa.hash, encoding: 'ieee-p1363' } };
  }
  if (key.asymmetricKeyType === 'rsa') {
    const hash = pickHash(['sha256', 'sha384', 'sha512'], peerHashes);
    if (hash !== undefined) {
      const digital: SignatureScheme = { kind: 'rsa-pkcs1', hash };
      return { method: AUTH_METHOD.DIGITAL_SIGNATURE, scheme: digital, digital };
    }
    return { method: AUTH_METHOD.RSA_SIGNATURE, scheme: { kind: 'rsa-pkcs1', hash: 'sha1' } };
  }
  throw new RangeError(`cannot sign AUTH with a ${key.asymmetricKeyType ?? 'unknown'} key (need EC P-256/384/521 or RSA)`);
}

/** Our AUTH payload over `octets`. Throws RangeError for a key type we cannot sign with (a configuration error). */
export function createAuth(octets: Uint8Array, own: OwnCredential): AuthPayload {
  if (own.kind === 'psk') return { method: AUTH_METHOD.SHARED_KEY_MIC, data: pskMic(own.prf, own.secret, octets) };
  const { method, scheme, digital } = chooseScheme(own.key, own.peerHashes);
  const signature = signWith(scheme, own.key, octets);
  if (digital === undefined) return { method, data: signature };
  return { method, data: joinDigitalSignature({ algorithmIdentifier: algorithmIdentifier(digital), signature }) };
}
