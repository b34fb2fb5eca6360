/**
 * Administrator signatures on personality images. The box is provisioned
 * with a trust root (the administrator's public key, or a certificate holding
 * it, PEM); an image is accepted only when its signature section names that
 * key (key id = SHA-256 of the SubjectPublicKeyInfo) and the signature over
 * every preceding byte verifies. ECDSA P-256 (SHA-256, IEEE P1363 r‖s) or Ed25519.
 *
 *   image ─► readFrame ─► signer known? ─► signature verifies? ─► decodeBody ─► personality
 *            (framing)    'wrong-signer'    'bad-signature'        (bodies parsed only once signed)
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { bytesEqual } from '../lib/bytes.js';
import { ShoalError } from '../lib/errors.js';
import {
  appendSignature,
  decodeBody,
  FlashImageError,
  readFrame,
  SIGNATURE_ALGORITHM,
  type ImageFrame,
  type Personality,
  type SignatureAlgorithm,
} from '../wire/flash-image.js';

export type AdminKeyType = 'ecdsa-p256' | 'ed25519';
export const ADMIN_KEY_TYPES: readonly AdminKeyType[] = ['ecdsa-p256', 'ed25519'];

const ALGORITHM_OF: Record<AdminKeyType, SignatureAlgorithm> = {
  'ecdsa-p256': SIGNATURE_ALGORITHM.ECDSA_P256_SHA256,
  ed25519: SIGNATURE_ALGORITHM.ED25519,
};

export function algorithmName(a: SignatureAlgorithm): AdminKeyType {
  return a === SIGNATURE_ALGORITHM.ED25519 ? 'ed25519' : 'ecdsa-p256';
}

/** The administrator key type of a key, or null for any other kind of key. */
export function adminKeyType(key: KeyObject): AdminKeyType | null {
  if (key.asymmetricKeyType === 'ed25519') return 'ed25519';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ecdsa-p256';
  return null;
}

/** SHA-256 of the public key's SubjectPublicKeyInfo (DER). */
export function keyIdOf(key: KeyObject): Uint8Array {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return new Uint8Array(createHash('sha256').update(pub.export({ type: 'spki', format: 'der' })).digest());
}

/** A key id for people: "sha256:" and the first 16 hex digits. */
export function shortKeyId(id: Uint8Array): string {
  return `sha256:${Buffer.from(id).toString('hex').slice(0, 16)}`;
}

export interface TrustedKey {
  type: AdminKeyType;
  keyId: Uint8Array;
  publicKey: KeyObject;
  /** Where it came from: a certificate's subject, or "public key". */
  label: string;
}

export interface TrustRoot {
  keys: TrustedKey[];
}

function badRoot(origin: string, why: string): never {
  throw new ShoalError('BAD_TRUST_ROOT', `trust root ${origin}: ${why}`);
}

function trusted(publicKey: KeyObject, label: string, origin: string): TrustedKey {
  const type = adminKeyType(publicKey);
  if (type === null) badRoot(origin, `${label} is a ${publicKey.asymmetricKeyType ?? 'unknown'} key; an administrator key is ECDSA P-256 or Ed25519`);
  return { type, keyId: keyIdOf(publicKey), publicKey, label };
}

/** Every PUBLIC KEY and CERTIFICATE block of a PEM text (a private key is refused: a box is given the public half only). */
export function parseTrustRoot(pem: string, origin = '(text)'): TrustRoot {
  const keys: TrustedKey[] = [];
  for (const m of pem.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g)) {
    const block = m[0];
    try {
      if (m[1] === 'CERTIFICATE') {
        const cert = new X509Certificate(block);
        keys.push(trusted(cert.publicKey, `certificate ${cert.subject.replace(/\n/g, ', ')}`, origin));
      } else if (m[1] === 'PUBLIC KEY') keys.push(trusted(createPublicKey(block), 'public key', origin));
      else if (m[1]?.includes('PRIVATE KEY')) badRoot(origin, 'holds a private key; provision the public key (shoal flash keygen writes it as .pub)');
    } catch (e) {
      if (e instanceof ShoalError) throw e;
      badRoot(origin, `unreadable ${m[1] ?? ''} block: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  if (keys.length === 0) badRoot(origin, 'holds no PEM public key or certificate');
  return { keys };
}

export function readTrustRoot(path: string): TrustRoot {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    return badRoot(path, `cannot read: ${e instanceof Error ? e.message : String(e)}`);
  }
  return parseTrustRoot(text, path);
}

/** An administrator private key from a PEM file. */
export function readAdminKey(path: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ShoalError('BAD_ADMIN_KEY', `admin key ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (adminKeyType(key) === null) throw new ShoalError('BAD_ADMIN_KEY', `admin key ${path}: a ${key.asymmetricKeyType ?? 'unknown'} key; use ECDSA P-256 or Ed25519`);
  return key;
}

export interface AdminKeyPair {
  type: AdminKeyType;
  privateKeyPem: string;
  publicKeyPem: string;
  keyId: Uint8Array;
}

export function generateAdminKey(type: AdminKeyType): AdminKeyPair {
  const { privateKey, publicKey } = type === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    type,
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    keyId: keyIdOf(publicKey),
  };
}

/** `image` signed with the administrator's private key (an existing signature is replaced). */
export function signImage(image: Uint8Array, privateKey: KeyObject): Uint8Array {
  const type = adminKeyType(privateKey);
  if (type === null || privateKey.type !== 'private') throw new ShoalError('BAD_ADMIN_KEY', 'the signing key must be an ECDSA P-256 or Ed25519 private key');
  return appendSignature(image, ALGORITHM_OF[type], keyIdOf(privateKey), (signed) =>
    new Uint8Array(type === 'ed25519' ? sign(null, signed, privateKey) : sign('sha256', signed, { key: privateKey, dsaEncoding: 'ieee-p1363' })),
  );
}

export interface VerifiedImage {
  frame: ImageFrame;
  personality: Personality;
  signer: TrustedKey;
}

function signatureHolds(key: TrustedKey, signed: Uint8Array, value: Uint8Array): boolean {
  try {
    return key.type === 'ed25519' ? verify(null, signed, key.publicKey, value) : verify('sha256', signed, { key: key.publicKey, dsaEncoding: 'ieee-p1363' }, value);
  } catch {
    return false;
  }
}

/** The personality of a signed image, once its signer is trusted and its signature holds. Throws FlashImageError. */
export function verifyImage(image: Uint8Array, root: TrustRoot): VerifiedImage {
  const frame = readFrame(image);
  const sig = frame.signature;
  if (sig === null) throw new FlashImageError('unsigned', 'not signed (sign it with `shoal flash sign`)');
  const key = root.keys.find((k) => bytesEqual(k.keyId, sig.keyId));
  if (key === undefined) {
    const known = root.keys.map((k) => shortKeyId(k.keyId)).join(', ');
    throw new FlashImageError('wrong-signer', `signed by key ${shortKeyId(sig.keyId)}, which this box does not trust (trusted: ${known})`);
  }
  if (ALGORITHM_OF[key.type] !== sig.algorithm) {
    throw new FlashImageError('bad-signature', `signature claims ${algorithmName(sig.algorithm)} but the trusted key ${shortKeyId(key.keyId)} is ${key.type}`);
  }
  if (!signatureHolds(key, sig.signed, sig.value)) {
    throw new FlashImageError('bad-signature', `signature does not verify with trusted key ${shortKeyId(key.keyId)}: the image was altered after signing`);
  }
  return { frame, personality: decodeBody(frame), signer: key };
}
