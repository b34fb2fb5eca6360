/**
 * Configuration payload body (RFC 7296 §3.15):
 *
 *   |   CFG Type    |                    RESERVED                   |
 *   ~                   Configuration Attributes                    ~
 *
 *   Attribute (§3.15.1)
 *   |R|         Attribute Type      |            Length             |
 *   ~                             Value                             ~
 *
 * Values stay raw bytes; the lengths the table in §3.15.1 fixes are checked
 * for the address attributes (empty is always allowed: a request asks with
 * zero-length values). ipv4Value / ipv4Attribute convert the common case.
 */
import type { Ipv4 } from '../../lib/ipv4.js';
import { ByteReader } from '../byte-reader.js';
import { ByteWriter } from '../byte-writer.js';
import { DecodeError, decodeSafely, type Decoded } from '../decode-error.js';
import { MAX_PAYLOAD_BODY, uint } from './fields.js';

export const CFG_TYPE = { REQUEST: 1, REPLY: 2, SET: 3, ACK: 4 } as const;

export const CFG_ATTRIBUTE = {
  INTERNAL_IP4_ADDRESS: 1,
  INTERNAL_IP4_NETMASK: 2,
  INTERNAL_IP4_DNS: 3,
  INTERNAL_IP4_NBNS: 4,
  INTERNAL_IP4_DHCP: 6,
  APPLICATION_VERSION: 7,
  INTERNAL_IP6_ADDRESS: 8,
  INTERNAL_IP6_DNS: 10,
  INTERNAL_IP6_DHCP: 12,
  INTERNAL_IP4_SUBNET: 13,
  SUPPORTED_ATTRIBUTES: 14,
  INTERNAL_IP6_SUBNET: 15,
} as const;

/** Non-empty value length per attribute type (§3.15.1 table). */
const FIXED_LENGTH: ReadonlyMap<number, number> = new Map([
  [CFG_ATTRIBUTE.INTERNAL_IP4_ADDRESS, 4],
  [CFG_ATTRIBUTE.INTERNAL_IP4_NETMASK, 4],
  [CFG_ATTRIBUTE.INTERNAL_IP4_DNS, 4],
  [CFG_ATTRIBUTE.INTERNAL_IP4_NBNS, 4],
  [CFG_ATTRIBUTE.INTERNAL_IP4_DHCP, 4],
  [CFG_ATTRIBUTE.INTERNAL_IP6_ADDRESS, 17],
  [CFG_ATTRIBUTE.INTERNAL_IP6_DNS, 16],
  [CFG_ATTRIBUTE.INTERNAL_IP6_DHCP, 16],
  [CFG_ATTRIBUTE.INTERNAL_IP4_SUBNET, 8],
  [CFG_ATTRIBUTE.INTERNAL_IP6_SUBNET, 17],
]);

export interface CfgAttribute {
  type: number;
  value: Uint8Array;
}

export interface CpPayload {
  cfgType: number;
  attributes: CfgAttribute[];
}

function checkLength(a: CfgAttribute): string | undefined {
  const fixed = FIXED_LENGTH.get(a.type);
  if (fixed !== undefined && a.value.length !== 0 && a.value.length !== fixed) {
    return `attribute ${a.type} of ${a.value.length} bytes, expected 0 or ${fixed}`;
  }
  return undefined;
}

export function readCp(body: Uint8Array): CpPayload {
  const r = new ByteReader(body);
  const cfgType = r.u8('CFG type');
  r.bytes(3, 'CP reserved');
  const attributes: CfgAttribute[] = [];
  while (r.remaining > 0) {
    // R bit: reserved, ignored on receipt
    const type = r.u16('attribute type') & 0x7fff;
    const attribute = { type, value: r.bytes16('attribute value') };
    const wrong = checkLength(attribute);
    if (wrong !== undefined) throw new DecodeError('bad-length', wrong);
    attributes.push(attribute);
  }
  return { cfgType, attributes };
}

export function decodeCp(body: Uint8Array): Decoded<CpPayload> {
  return decodeSafely(() => readCp(body));
}

export function encodeCp(p: CpPayload): Uint8Array {
  const w = new ByteWriter(4 + 8 * p.attributes.length).u8(uint(p.cfgType, 0xff, 'cfgType')).u8(0).u16(0);
  for (const a of p.attributes) {
    const wrong = checkLength(a);
    if (wrong !== undefined) throw new RangeError(wrong);
    w.u16(uint(a.type, 0x7fff, 'attribute type')).bytes16(a.value);
  }
  if (w.length > MAX_PAYLOAD_BODY) throw new RangeError(`CP body of ${w.length} bytes exceeds ${MAX_PAYLOAD_BODY}`);
  return w.finish();
}

/** An IPv4-valued attribute; `undefined` makes the empty request form. */
export function ipv4Attribute(type: number, address?: Ipv4): CfgAttribute {
  if (address === undefined) return { type, value: new Uint8Array(0) };
  return { type, value: new ByteWriter(4).u32(uint(address, 0xffffffff, 'address')).finish() };
}

/** The address of a 4-byte attribute value, or undefined when empty (a request). */
export function ipv4Value(a: CfgAttribute): Ipv4 | undefined {
  if (a.value.length !== 4) return undefined;
  return new ByteReader(a.value).u32('address');
}
