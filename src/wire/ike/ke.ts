/**
 * Key Exchange payload body (RFC 7296 §3.4), after the generic header:
 *
 *   |   Diffie-Hellman Group Num    |           RESERVED            |
 *   ~                       Key Exchange Data                       ~
 *
 * The data length is fixed by the group; checking it is the DH layer's job
 * (a mismatch is INVALID_SYNTAX, not a decode failure here).
 */
import { ByteReader } from '../byte-reader.js';
import { ByteWriter } from '../byte-writer.js';
import { decodeSafely, type Decoded } from '../decode-error.js';
import { MAX_PAYLOAD_BODY, maxLength, uint } from './fields.js';

export interface KePayload {
  dhGroup: number;
  keyData: Uint8Array;
}

export function readKe(body: Uint8Array): KePayload {
  const r = new ByteReader(body);
  const dhGroup = r.u16('KE DH group');
  r.u16('KE reserved');
  return { dhGroup, keyData: r.rest() };
}

export function decodeKe(body: Uint8Array): Decoded<KePayload> {
  return decodeSafely(() => readKe(body));
}

export function encodeKe(p: KePayload): Uint8Array {
  maxLength(p.keyData, MAX_PAYLOAD_BODY - 4, 'KE data');
  return new ByteWriter(4 + p.keyData.length).u16(uint(p.dhGroup, 0xffff, 'dhGroup')).u16(0).bytes(p.keyData).finish();
}
