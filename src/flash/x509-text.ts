/**
 * Certificates and keys as people see them: the certificates in a file the
 * personality carries (PEM with any number of blocks, or one DER certificate),
 * and summaries that never include private key material.
 */
import { createHash, createPrivateKey, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';

const PEM_CERT = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/g;

export function certificatesInFile(data: Uint8Array): Uint8Array[] {
  const text = Buffer.from(data).toString('latin1');
  const pem = [...text.matchAll(PEM_CERT)].map((m) => new Uint8Array(Buffer.from((m[1] ?? '').replace(/\s+/g, ''), 'base64')));
  if (pem.length > 0) return pem;
  try {
    new X509Certificate(data);
    return [data];
  } catch {
    return [];
  }
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export interface CertSummary {
  subject: string;
  issuer: string;
  serial: string;
  notAfter: string;
  /** SHA-256 of the DER. */
  sha256: string;
}

export function certSummary(der: Uint8Array): CertSummary {
  try {
    const c = new X509Certificate(der);
    return {
      subject: c.subject.replace(/\n/g, ', '),
      issuer: c.issuer.replace(/\n/g, ', '),
      serial: c.serialNumber.toLowerCase(),
      notAfter: new Date(c.validTo).toISOString(),
      sha256: sha256Hex(der),
    };
  } catch {
    return { subject: '(unreadable certificate)', issuer: '', serial: '', notAfter: '', sha256: sha256Hex(der) };
  }
}

export interface KeySummary {
  /** "ec-p256", "rsa-2048", "ed25519"… */
  type: string;
  /** SHA-256 of the public half's SubjectPublicKeyInfo: identifies the key without revealing it. */
  publicKeySha256: string;
}

const CURVES: Record<string, string> = { prime256v1: 'p256', secp384r1: 'p384', secp521r1: 'p521' };

/** A private key from PKCS#8 DER or PEM text, or null when it is not one. */
export function parsePrivateKey(data: Uint8Array): KeyObject | null {
  try {
    const text = Buffer.from(data).toString('latin1');
    return text.includes('-----BEGIN') ? createPrivateKey(text) : createPrivateKey({ key: Buffer.from(data), format: 'der', type: 'pkcs8' });
  } catch {
    return null;
  }
}

export function keyType(key: KeyObject): string {
  const d = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === 'ec') return `ec-${CURVES[d?.namedCurve ?? ''] ?? d?.namedCurve ?? 'unknown'}`;
  if (key.asymmetricKeyType === 'rsa') return `rsa-${d?.modulusLength ?? 0}`;
  return key.asymmetricKeyType ?? 'unknown';
}

export function publicKeySha256(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return sha256Hex(new Uint8Array(pub.export({ type: 'spki', format: 'der' })));
}

export function keySummary(data: Uint8Array): KeySummary | null {
  const key = parsePrivateKey(data);
  return key === null ? null : { type: keyType(key), publicKeySha256: publicKeySha256(key) };
}
