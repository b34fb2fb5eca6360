/**
 * Identification payload body, IDi and IDr alike (RFC 7296 §3.5):
 *
 *   |   ID Type     |                 RESERVED                      |
 *   ~                   Identification Data                         ~
 *
 * The data is kept raw: its meaning (address, FQDN, DER DN) belongs to the
 * authentication layer, which also hashes the body verbatim into AUTH.
 */
import { ByteReader } from '../byte-reader.js';
import { ByteWriter } from '../byte-writer.js';
import { decodeSafely, type Decoded } from '../decode-error.js';
import { MAX_PAYLOAD_BODY, maxLength, uint } from './fields.js';

export const ID_TYPE = {
  IPV4_ADDR: 1,
  FQDN: 2,
  RFC822_ADDR: 3,
  IPV6_ADDR: 5,
  DER_ASN1_DN: 9,
  DER_ASN1_GN: 10,
  KEY_ID: 11,
} as const;

export interface IdPayload {
  idType: number;
  data: Uint8Array;
}

export function readId(body: Uint8Array): IdPayload {
  const r = new ByteReader(body);
  const idType = r.u8('ID type');
  r.bytes(3, 'ID reserved');
  return { idType, data: r.rest() };
}

export function decodeId(body: Uint8Array): Decoded<IdPayload> {
  return decodeSafely(() => readId(body));
}

export function encodeId(p: IdPayload): Uint8Array {
  maxLength(p.data, MAX_PAYLOAD_BODY - 4, 'ID data');
  return new ByteWriter(4 + p.data.length).u8(uint(p.idType, 0xff, 'idType')).u8(0).u16(0).bytes(p.data).finish();
}
