/**
 * Key pairs and the algorithm choices that follow from a key type, for the
 * certificates src/pki issues. Uses node's WebCrypto through @peculiar/x509.
 */
import { randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import type { KeyKind } from '../cluster/auth/key-kind.js';
import { ShoalError } from '../lib/errors.js';

x509.cryptoProvider.set(webcrypto);

/** The key types a member may use (see cluster/auth/key-kind.ts); 'rsa' is 2048 bits, 'rsa-3072' a stronger RSA key of the same kind. */
export type KeyType = KeyKind | 'rsa-3072';
/** Key types the chain verifier refuses: issued only with `allowUnsupportedKey`, for negative tests. */
export type UnsupportedKeyType = 'ec-p521' | 'rsa-1024';
export type AnyKeyType = KeyType | UnsupportedKeyType;

export type KeyPair = webcrypto.CryptoKeyPair;

export const DEFAULT_KEY_TYPE: KeyType = 'ec-p256';

const SUPPORTED: readonly AnyKeyType[] = ['ec-p256', 'ec-p384', 'rsa', 'rsa-3072'];

export function isSupportedKeyType(t: AnyKeyType): t is KeyType {
  return SUPPORTED.includes(t);
}

/** Refuses an unsupported key type unless the caller asked for one on purpose. */
export function checkKeyType(t: AnyKeyType, allowUnsupported: boolean | undefined): void {
  if (!isSupportedKeyType(t) && allowUnsupported !== true) {
    throw new ShoalError('PKI_UNSUPPORTED_KEY', `key type ${t} is refused by cluster members (use ${SUPPORTED.join(', ')})`);
  }
}

const RSA_BITS = { rsa: 2048, 'rsa-3072': 3072, 'rsa-1024': 1024 } as const;

function keyAlgorithm(t: AnyKeyType): webcrypto.EcKeyGenParams | webcrypto.RsaHashedKeyGenParams {
  switch (t) {
    case 'ec-p256':
      return { name: 'ECDSA', namedCurve: 'P-256' };
    case 'ec-p384':
      return { name: 'ECDSA', namedCurve: 'P-384' };
    case 'ec-p521':
      return { name: 'ECDSA', namedCurve: 'P-521' };
    case 'rsa':
    case 'rsa-3072':
    case 'rsa-1024':
      return {
        name: 'RSASSA-PKCS1-v1_5',
        modulusLength: RSA_BITS[t],
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: 'SHA-256',
      };
  }
}

/** How a certificate signed by a key of this type is signed. */
export function signingAlgorithm(t: AnyKeyType): webcrypto.Algorithm | webcrypto.EcdsaParams {
  switch (t) {
    case 'ec-p256':
      return { name: 'ECDSA', hash: 'SHA-256' };
    case 'ec-p384':
      return { name: 'ECDSA', hash: 'SHA-384' };
    case 'ec-p521':
      return { name: 'ECDSA', hash: 'SHA-512' };
    case 'rsa':
    case 'rsa-3072':
    case 'rsa-1024':
      return { name: 'RSASSA-PKCS1-v1_5' };
  }
}

/** A fresh, extractable signing key pair. */
export async function generateKeyPair(t: AnyKeyType): Promise<KeyPair> {
  return webcrypto.subtle.generateKey(keyAlgorithm(t), true, ['sign', 'verify']);
}

/** 8 random bytes, high bit clear and first byte non-zero: a positive serial with no leading zeros. */
export function randomSerial(): string {
  const b = randomBytes(8);
  b[0] = ((b[0] ?? 1) & 0x7f) | 0x01;
  return b.toString('hex');
}

export function derOf(cert: x509.X509Certificate): Uint8Array {
  return new Uint8Array(cert.rawData);
}
