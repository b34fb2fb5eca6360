/**
 * Key types as the CA store and `shoal pki --key-type` spell them, and how
 * they map to the key types src/pki generates (keys.ts). One list, so the
 * CLI's choices, the index file and the loader of an existing CA agree.
 */
import type { KeyObject } from 'node:crypto';
import { ShoalError } from '../lib/errors.js';
import type { KeyType } from './keys.js';

export const STORE_KEY_TYPES = ['ecdsa-p256', 'ecdsa-p384', 'rsa-2048', 'rsa-3072'] as const;
export type StoreKeyType = (typeof STORE_KEY_TYPES)[number];

export const DEFAULT_STORE_KEY_TYPE: StoreKeyType = 'ecdsa-p256';

const GENERATED: Record<StoreKeyType, KeyType> = {
  'ecdsa-p256': 'ec-p256',
  'ecdsa-p384': 'ec-p384',
  'rsa-2048': 'rsa',
  'rsa-3072': 'rsa-3072',
};

/** The key type src/pki generates for a store key type. */
export function generatedKeyType(t: StoreKeyType): KeyType {
  return GENERATED[t];
}

export function isStoreKeyType(text: string): text is StoreKeyType {
  return (STORE_KEY_TYPES as readonly string[]).includes(text);
}

/** Throws BAD_KEY_TYPE naming the choices. */
export function parseStoreKeyType(text: string): StoreKeyType {
  if (isStoreKeyType(text)) return text;
  throw new ShoalError('BAD_KEY_TYPE', `key type '${text}': expected one of ${STORE_KEY_TYPES.join(', ')}`);
}

/** The store key type of an existing key, or null when the store cannot sign with it (another curve, another RSA size). */
export function storeKeyTypeOf(key: KeyObject): StoreKeyType | null {
  const d = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === 'ec') {
    if (d?.namedCurve === 'prime256v1') return 'ecdsa-p256';
    if (d?.namedCurve === 'secp384r1') return 'ecdsa-p384';
    return null;
  }
  if (key.asymmetricKeyType === 'rsa') {
    if (d?.modulusLength === 2048) return 'rsa-2048';
    if (d?.modulusLength === 3072) return 'rsa-3072';
  }
  return null;
}
