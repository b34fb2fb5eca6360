/**
 * Certificate and Certificate Request payload bodies (RFC 7296 §3.6, §3.7):
 *
 *   | Cert Encoding |  Certificate Data / Certification Authority  ~
 *
 * For CERTREQ with X.509 encoding the data is a list of 20-byte SHA-1
 * hashes of CA public keys; splitting it is left to the PKI layer.
 */
import { ByteReader } from '../byte-reader.js';
import { ByteWriter } from '../byte-writer.js';
import { decodeSafely, type Decoded } from '../decode-error.js';
import { MAX_PAYLOAD_BODY, maxLength, uint } from './fields.js';

export const CERT_ENCODING = {
  X509_SIGNATURE: 4,
  CRL: 7,
  HASH_URL_X509: 12,
  HASH_URL_X509_BUNDLE: 13,
} as const;

/** CERT and CERTREQ share this shape; the payload type tells them apart. */
export interface CertPayload {
  encoding: number;
  data: Uint8Array;
}

export function readCert(body: Uint8Array): CertPayload {
  const r = new ByteReader(body);
  const encoding = r.u8('cert encoding');
  return { encoding, data: r.rest() };
}

export function decodeCert(body: Uint8Array): Decoded<CertPayload> {
  return decodeSafely(() => readCert(body));
}

export function encodeCert(p: CertPayload): Uint8Array {
  maxLength(p.data, MAX_PAYLOAD_BODY - 1, 'cert data');
  return new ByteWriter(1 + p.data.length).u8(uint(p.encoding, 0xff, 'encoding')).bytes(p.data).finish();
}
