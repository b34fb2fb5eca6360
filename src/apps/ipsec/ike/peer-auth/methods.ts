/**
 * AUTH method numbers beyond the ones src/wire/ike/auth.ts names: the
 * RFC 4754 ECDSA methods, whose hash and curve are fixed by the number.
 */
import { AUTH_METHOD } from '../../../../wire/ike/auth.js';
import type { HashName } from '../../crypto/transforms.js';

export const ECDSA_METHOD = {
  /** ECDSA with SHA-256 on the P-256 curve (RFC 4754 §3). */
  P256_SHA256: 9,
  P384_SHA384: 10,
  P521_SHA512: 11,
} as const;

export interface EcdsaMethod {
  method: number;
  /** node's name for the curve, as KeyObject.asymmetricKeyDetails reports it. */
  curve: 'prime256v1' | 'secp384r1' | 'secp521r1';
  hash: HashName;
  /** Bytes of r and of s: the signature is r || s, each this long (RFC 4754 §7). */
  half: number;
}

export const ECDSA_METHODS: readonly EcdsaMethod[] = [
  { method: ECDSA_METHOD.P256_SHA256, curve: 'prime256v1', hash: 'sha256', half: 32 },
  { method: ECDSA_METHOD.P384_SHA384, curve: 'secp384r1', hash: 'sha384', half: 48 },
  { method: ECDSA_METHOD.P521_SHA512, curve: 'secp521r1', hash: 'sha512', half: 66 },
];

/** Names for logs and AuthCheck.method. */
export function methodName(method: number): string {
  switch (method) {
    case AUTH_METHOD.RSA_SIGNATURE:
      return 'rsa-sha1';
    case AUTH_METHOD.SHARED_KEY_MIC:
      return 'psk';
    case AUTH_METHOD.DSS_SIGNATURE:
      return 'dss';
    case ECDSA_METHOD.P256_SHA256:
      return 'ecdsa-256';
    case ECDSA_METHOD.P384_SHA384:
      return 'ecdsa-384';
    case ECDSA_METHOD.P521_SHA512:
      return 'ecdsa-521';
    case AUTH_METHOD.DIGITAL_SIGNATURE:
      return 'digital-signature';
    default:
      return `method-${method}`;
  }
}
