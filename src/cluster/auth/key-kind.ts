/**
 * The certificate key types a member may use, in one place, because the chain
 * verifier (accepts), signing.ts (picks the hash) and key-wrap.ts (picks ECIES
 * or RSA-OAEP) must agree on the list.
 */
import type { KeyObject } from 'node:crypto';

export type KeyKind = 'ec-p256' | 'ec-p384' | 'rsa';

/** Below 2048 bits RSA is too weak; above 8192 every join attempt would cost the master too much CPU. */
export const RSA_MIN_BITS = 2048;
export const RSA_MAX_BITS = 8192;

/** The kind of a public or private key, or null when members may not use it (e.g. P-521, Ed25519, RSA-PSS-only keys). */
export function keyKindOf(key: KeyObject): KeyKind | null {
  const details = key.asymmetricKeyDetails;
  switch (key.asymmetricKeyType) {
    case 'ec':
      if (details?.namedCurve === 'prime256v1') return 'ec-p256';
      if (details?.namedCurve === 'secp384r1') return 'ec-p384';
      return null;
    case 'rsa': {
      const bits = details?.modulusLength ?? 0;
      return bits >= RSA_MIN_BITS && bits <= RSA_MAX_BITS ? 'rsa' : null;
    }
    default:
      // 'rsa-pss' keys cannot do OAEP (key wrap needs it), so they are refused too.
      return null;
  }
}

/** For problem details: what the key is, in words. */
export function describeKey(key: KeyObject): string {
  const d = key.asymmetricKeyDetails;
  const extra = d?.namedCurve ?? (d?.modulusLength !== undefined ? `${d.modulusLength} bits` : '');
  return `${key.asymmetricKeyType ?? 'unknown'}${extra === '' ? '' : ` ${extra}`}`;
}
