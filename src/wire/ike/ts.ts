/**
 * Traffic Selector payload body, TSi and TSr alike (RFC 7296 §3.13):
 *
 *   | Number of TSs |                 RESERVED                      |
 *   ~                       <Traffic Selectors>                     ~
 *
 *   Selector (§3.13.1)
 *   |   TS Type     |IP Protocol ID*|       Selector Length         |
 *   |           Start Port*         |           End Port*           |
 *   ~                         Starting Address*                     ~
 *   ~                         Ending Address*                       ~
 *
 * Types 7 (IPv4, 16 bytes) and 8 (IPv6, 40 bytes) are decoded; any other
 * type keeps its bytes after the 4-byte type/length head, so a responder can
 * narrow it away rather than fail the exchange. Number of TSs must match.
 */
import type { Ipv4 } from '../../lib/ipv4.js';
import { ByteReader } from '../byte-reader.js';
import { ByteWriter } from '../byte-writer.js';
import { DecodeError, decodeSafely, type Decoded } from '../decode-error.js';
import { MAX_PAYLOAD_BODY, uint } from './fields.js';

export const TS_TYPE = { IPV4_ADDR_RANGE: 7, IPV6_ADDR_RANGE: 8 } as const;
const IPV4_SELECTOR_LENGTH = 16;
const IPV6_SELECTOR_LENGTH = 40;
const SELECTOR_HEAD = 4;

interface PortRange {
  /** 0 means any protocol. */
  protocol: number;
  startPort: number;
  endPort: number;
}

export type TrafficSelector =
  | ({ family: 'ipv4'; start: Ipv4; end: Ipv4 } & PortRange)
  | ({ family: 'ipv6'; start: Uint8Array; end: Uint8Array } & PortRange)
  | { family: 'other'; tsType: number; protocol: number; data: Uint8Array };

export interface TsPayload {
  selectors: TrafficSelector[];
}

function readSelector(r: ByteReader): TrafficSelector {
  const tsType = r.u8('TS type');
  const protocol = r.u8('TS protocol');
  const length = r.u16('TS length');
  if (length < SELECTOR_HEAD) throw new DecodeError('bad-length', `selector length ${length}`);
  const s = new ByteReader(r.bytes(length - SELECTOR_HEAD, 'selector'));
  const expected = tsType === TS_TYPE.IPV4_ADDR_RANGE ? IPV4_SELECTOR_LENGTH : tsType === TS_TYPE.IPV6_ADDR_RANGE ? IPV6_SELECTOR_LENGTH : undefined;
  if (expected === undefined) return { family: 'other', tsType, protocol, data: s.rest() };
  if (length !== expected) throw new DecodeError('bad-length', `TS type ${tsType} with length ${length}, expected ${expected}`);
  const startPort = s.u16('start port');
  const endPort = s.u16('end port');
  if (tsType === TS_TYPE.IPV4_ADDR_RANGE) {
    return { family: 'ipv4', protocol, startPort, endPort, start: s.u32('start address'), end: s.u32('end address') };
  }
  return { family: 'ipv6', protocol, startPort, endPort, start: s.bytes(16, 'start address'), end: s.bytes(16, 'end address') };
}

export function readTs(body: Uint8Array): TsPayload {
  const r = new ByteReader(body);
  const count = r.u8('number of TSs');
  r.bytes(3, 'TS reserved');
  const selectors: TrafficSelector[] = [];
  while (r.remaining > 0) selectors.push(readSelector(r));
  if (selectors.length !== count) throw new DecodeError('bad-length', `Number of TSs ${count}, found ${selectors.length}`);
  return { selectors };
}

export function decodeTs(body: Uint8Array): Decoded<TsPayload> {
  return decodeSafely(() => readTs(body));
}

function writeSelector(w: ByteWriter, s: TrafficSelector): void {
  const protocol = uint(s.protocol, 0xff, 'TS protocol');
  if (s.family === 'other') {
    if (s.tsType === TS_TYPE.IPV4_ADDR_RANGE || s.tsType === TS_TYPE.IPV6_ADDR_RANGE) throw new RangeError(`TS type ${s.tsType} must use its family`);
    uint(SELECTOR_HEAD + s.data.length, 0xffff, 'selector length');
    w.u8(uint(s.tsType, 0xff, 'tsType')).u8(protocol).u16(SELECTOR_HEAD + s.data.length).bytes(s.data);
    return;
  }
  const ipv4 = s.family === 'ipv4';
  w.u8(ipv4 ? TS_TYPE.IPV4_ADDR_RANGE : TS_TYPE.IPV6_ADDR_RANGE)
    .u8(protocol)
    .u16(ipv4 ? IPV4_SELECTOR_LENGTH : IPV6_SELECTOR_LENGTH)
    .u16(uint(s.startPort, 0xffff, 'startPort'))
    .u16(uint(s.endPort, 0xffff, 'endPort'));
  if (s.family === 'ipv4') {
    w.u32(uint(s.start, 0xffffffff, 'start')).u32(uint(s.end, 0xffffffff, 'end'));
  } else {
    if (s.start.length !== 16 || s.end.length !== 16) throw new RangeError('IPv6 selector addresses must be 16 bytes');
    w.bytes(s.start).bytes(s.end);
  }
}

export function encodeTs(p: TsPayload): Uint8Array {
  const w = new ByteWriter(4 + 40 * p.selectors.length).u8(uint(p.selectors.length, 0xff, 'number of TSs')).u8(0).u16(0);
  for (const s of p.selectors) writeSelector(w, s);
  if (w.length > MAX_PAYLOAD_BODY) throw new RangeError(`TS body of ${w.length} bytes exceeds ${MAX_PAYLOAD_BODY}`);
  return w.finish();
}
