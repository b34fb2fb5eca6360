/**
 * IPv4 header (RFC 791 §3.1; DSCP/ECN per RFC 2474 / RFC 3168):
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |Version|  IHL  |   DSCP    |ECN|          Total Length         |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |         Identification        |0|D|M|      Fragment Offset    |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |  Time to Live |    Protocol   |         Header Checksum       |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                       Source Address                          |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                    Destination Address                        |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                    Options                    |    Padding    |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * IHL counts 32-bit words (5..15); Total Length counts header + data octets;
 * Fragment Offset counts 8-octet units. Flags: bit 0 reserved (must be zero),
 * DF = don't fragment, MF = more fragments.
 *
 * Decode checks, in wire order: version 4 ('bad-version'), IHL >= 5 and
 * Total Length >= IHL*4 ('bad-length'), the header and Total Length octets
 * present ('truncated'), then the header checksum ('bad-checksum'). Octets
 * past Total Length are link padding and dropped; a set reserved flag is
 * ignored (be liberal in what you accept); options are kept as raw bytes (a
 * view). Encode computes IHL, Total Length and the checksum.
 */
import type { Ipv4 } from '../lib/ipv4.js';
import { ByteReader } from './byte-reader.js';
import { ByteWriter } from './byte-writer.js';
import { checksumOfSum, checksumValid, onesSum, updateChecksum } from './checksum.js';
import { DecodeError, decodeSafely, type Decoded } from './decode-error.js';

export const IPV4_VERSION = 4;
export const IPV4_MIN_HEADER = 20;
export const IPV4_MAX_HEADER = 60;
export const IPV4_MAX_OPTIONS = IPV4_MAX_HEADER - IPV4_MIN_HEADER;
/** Largest Total Length (RFC 791: 16-bit field). */
export const IPV4_MAX_DATAGRAM = 0xffff;
export const IPV4_MAX_FRAGMENT_OFFSET = 0x1fff;

export const IP_PROTOCOL = { ICMP: 1, TCP: 6, UDP: 17, GRE: 47, ESP: 50 } as const;

const FLAG_DF = 0x4000;
const FLAG_MF = 0x2000;
const OFFSET_MASK = 0x1fff;
/** Byte offsets for the in-place TTL decrement (forwarding fast path). */
const TTL_PROTOCOL_AT = 8;
const CHECKSUM_AT = 10;

export interface Ipv4Header {
  /** Differentiated Services code point, 6 bits. */
  dscp: number;
  /** Explicit Congestion Notification, 2 bits. */
  ecn: number;
  id: number;
  dontFragment: boolean;
  moreFragments: boolean;
  /** In 8-octet units, as on the wire (0..8191). */
  fragmentOffset: number;
  ttl: number;
  protocol: number;
  src: Ipv4;
  dst: Ipv4;
  /** Raw option bytes including padding: a multiple of 4, at most 40. */
  options: Uint8Array;
}

export interface Ipv4Datagram {
  header: Ipv4Header;
  payload: Uint8Array;
}

export function ipv4HeaderLength(header: Ipv4Header): number {
  return IPV4_MIN_HEADER + header.options.length;
}

/** True for a fragment (first, middle or last) rather than a whole datagram. */
export function isFragment(header: Ipv4Header): boolean {
  return header.moreFragments || header.fragmentOffset !== 0;
}

export function decodeIpv4(bytes: Uint8Array): Decoded<Ipv4Datagram> {
  return decodeSafely(() => {
    const r = new ByteReader(bytes);
    const versionIhl = r.u8('version/IHL');
    if (versionIhl >>> 4 !== IPV4_VERSION) throw new DecodeError('bad-version', `IP version ${versionIhl >>> 4}`);
    const headerLength = (versionIhl & 0x0f) * 4;
    if (headerLength < IPV4_MIN_HEADER) throw new DecodeError('bad-length', `IHL ${headerLength / 4} < 5`);
    const tos = r.u8('DSCP/ECN');
    const totalLength = r.u16('total length');
    if (totalLength < headerLength) {
      throw new DecodeError('bad-length', `total length ${totalLength} < header length ${headerLength}`);
    }
    const id = r.u16('identification');
    const flagsOffset = r.u16('flags/fragment offset');
    const ttl = r.u8('TTL');
    const protocol = r.u8('protocol');
    r.u16('header checksum');
    const src = r.u32('source address');
    const dst = r.u32('destination address');
    const options = r.bytes(headerLength - IPV4_MIN_HEADER, 'options');
    const payload = r.bytes(totalLength - headerLength, 'payload');
    if (!checksumValid(bytes, 0, headerLength)) throw new DecodeError('bad-checksum', 'IPv4 header checksum');
    return {
      header: {
        dscp: tos >>> 2,
        ecn: tos & 0x03,
        id,
        dontFragment: (flagsOffset & FLAG_DF) !== 0,
        moreFragments: (flagsOffset & FLAG_MF) !== 0,
        fragmentOffset: flagsOffset & OFFSET_MASK,
        ttl,
        protocol,
        src,
        dst,
        options,
      },
      payload,
    };
  });
}

function uint(v: number, max: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`${what}: ${v} is not an integer in 0..${max}`);
  return v;
}

/** The datagram on the wire, header checksum filled in. Throws RangeError for fields that do not fit. */
export function encodeIpv4(d: Ipv4Datagram): Uint8Array {
  const h = d.header;
  if (h.options.length % 4 !== 0 || h.options.length > IPV4_MAX_OPTIONS) {
    throw new RangeError(`options: ${h.options.length} bytes, need a multiple of 4 up to ${IPV4_MAX_OPTIONS}`);
  }
  const headerLength = ipv4HeaderLength(h);
  const totalLength = headerLength + d.payload.length;
  if (totalLength > IPV4_MAX_DATAGRAM) throw new RangeError(`datagram of ${totalLength} bytes exceeds ${IPV4_MAX_DATAGRAM}`);
  const words = [
    (IPV4_VERSION << 12) | ((headerLength / 4) << 8) | (uint(h.dscp, 0x3f, 'dscp') << 2) | uint(h.ecn, 3, 'ecn'),
    totalLength,
    uint(h.id, 0xffff, 'id'),
    (h.dontFragment ? FLAG_DF : 0) | (h.moreFragments ? FLAG_MF : 0) | uint(h.fragmentOffset, OFFSET_MASK, 'fragmentOffset'),
    (uint(h.ttl, 0xff, 'ttl') << 8) | uint(h.protocol, 0xff, 'protocol'),
  ] as const;
  const src = uint(h.src, 0xffffffff, 'src');
  const dst = uint(h.dst, 0xffffffff, 'dst');
  let sum = onesSum(h.options) + (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff);
  for (const word of words) sum += word;
  const w = new ByteWriter(totalLength);
  for (const word of words) w.u16(word);
  w.u16(checksumOfSum(sum)).u32(src).u32(dst).bytes(h.options).bytes(d.payload);
  return w.finish();
}

/**
 * Forwarding: decrements the TTL of an already-decoded datagram in place and
 * patches the header checksum incrementally (RFC 1624 Eqn. 3; RFC 1812
 * §5.3.1). Returns false, leaving the packet untouched, when the TTL would
 * reach zero: the caller drops it and may send ICMP Time Exceeded (code 0).
 */
export function decrementTtl(packet: Uint8Array): boolean {
  if (packet.length < IPV4_MIN_HEADER) throw new RangeError(`decrementTtl: ${packet.length} bytes is not an IPv4 header`);
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  const word = view.getUint16(TTL_PROTOCOL_AT);
  if (word >>> 8 <= 1) return false;
  const next = word - 0x100;
  view.setUint16(TTL_PROTOCOL_AT, next);
  view.setUint16(CHECKSUM_AT, updateChecksum(view.getUint16(CHECKSUM_AT), word, next));
  return true;
}
