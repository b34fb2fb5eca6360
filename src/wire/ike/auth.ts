/**
 * Authentication payload body (RFC 7296 §3.8):
 *
 *   | Auth Method   |                RESERVED                       |
 *   ~                      Authentication Data                      ~
 *
 * For method 14, Digital Signature (RFC 7427 §3), the data is itself
 *
 *   | ASN.1 Length  | AlgorithmIdentifier ASN.1 object  ~ | Signature Value ~
 *
 * with no padding between the two; splitDigitalSignature takes it apart.
 */
import { ByteReader } from '../byte-reader.js';
import { ByteWriter } from '../byte-writer.js';
import { DecodeError, decodeSafely, type Decoded } from '../decode-error.js';
import { MAX_PAYLOAD_BODY, maxLength, uint } from './fields.js';

export const AUTH_METHOD = {
  RSA_SIGNATURE: 1,
  SHARED_KEY_MIC: 2,
  DSS_SIGNATURE: 3,
  DIGITAL_SIGNATURE: 14,
} as const;

/** DER AlgorithmIdentifiers from RFC 7427 Appendix A, as they appear after the ASN.1 Length octet. */
export const SIGNATURE_ALGORITHM = {
  // A.1.2, 1.2.840.113549.1.1.11 with NULL parameters
  SHA256_WITH_RSA: Uint8Array.of(0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00),
  // A.3.2, 1.2.840.10045.4.3.2
  ECDSA_WITH_SHA256: Uint8Array.of(0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02),
  // A.3.3, 1.2.840.10045.4.3.3
  ECDSA_WITH_SHA384: Uint8Array.of(0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03),
} as const;

export interface AuthPayload {
  method: number;
  data: Uint8Array;
}

export interface DigitalSignature {
  /** The DER AlgorithmIdentifier, not parsed further here. */
  algorithmIdentifier: Uint8Array;
  signature: Uint8Array;
}

export function readAuth(body: Uint8Array): AuthPayload {
  const r = new ByteReader(body);
  const method = r.u8('auth method');
  r.bytes(3, 'auth reserved');
  return { method, data: r.rest() };
}

export function decodeAuth(body: Uint8Array): Decoded<AuthPayload> {
  return decodeSafely(() => readAuth(body));
}

export function encodeAuth(p: AuthPayload): Uint8Array {
  maxLength(p.data, MAX_PAYLOAD_BODY - 4, 'auth data');
  return new ByteWriter(4 + p.data.length).u8(uint(p.method, 0xff, 'method')).u8(0).u16(0).bytes(p.data).finish();
}

/** The Authentication Data of method 14; an empty AlgorithmIdentifier is 'bad-length'. */
export function splitDigitalSignature(data: Uint8Array): Decoded<DigitalSignature> {
  return decodeSafely(() => {
    const r = new ByteReader(data);
    const length = r.u8('ASN.1 length');
    if (length === 0) throw new DecodeError('bad-length', 'empty AlgorithmIdentifier');
    const algorithmIdentifier = r.bytes(length, 'AlgorithmIdentifier');
    return { algorithmIdentifier, signature: r.rest() };
  });
}

export function joinDigitalSignature(s: DigitalSignature): Uint8Array {
  const n = s.algorithmIdentifier.length;
  if (n === 0 || n > 0xff) throw new RangeError(`AlgorithmIdentifier of ${n} bytes, need 1..255`);
  return new ByteWriter(1 + n + s.signature.length).u8(n).bytes(s.algorithmIdentifier).bytes(s.signature).finish();
}
