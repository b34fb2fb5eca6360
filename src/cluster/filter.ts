/**
 * The patent's filter (WO 00/31945): classify a raw IPv4 packet into one of
 * the 1024 work units. A member processes a packet only if it owns its unit.
 *
 * Result: a unit 0..1023, or a negative FILTER_* code (drop it). This is the
 * per-packet hot path, so it never throws and never allocates: every read is
 * bounds-checked by hand against the datagram's end, bytes are read straight
 * out of the Uint8Array (no DataView), and the checksum is not verified here
 * (the stack does that after the ownership decision, on far fewer packets).
 *
 * Fragments: a non-first fragment (offset != 0) has no transport header, so it
 * is classified by source+destination address like "other protocols". Its
 * first fragment may land in a different unit (by port or SPI), so a datagram
 * split that way is never reassembled by one member; the real fix is to
 * reassemble upstream of the filter (or on the address-pair owner and
 * re-classify), not to guess ports here.
 */
import { unitOfId16, unitOfIkeSpi, unitOfSpi32 } from './session-id.js';
import { unitOfAddress, unitOfAddressPair, unitOfAddressPort } from './unit-hash.js';

/** IPv4 header unusable: buffer window, version, IHL or total length wrong. */
export const FILTER_MALFORMED = -1;
/** Transport or tunnel header (UDP, TCP, ESP, IKE, L2TP, GRE) truncated or inconsistent. */
export const FILTER_MALFORMED_L4 = -2;
/** ESP SPI 0..255: 0 is invalid and 1..255 reserved (RFC 4303 §2.1); the cluster never allocates them. */
export const FILTER_RESERVED_SPI = -3;

export type FilterCode = typeof FILTER_MALFORMED | typeof FILTER_MALFORMED_L4 | typeof FILTER_RESERVED_SPI;

/** True when a classify* result is a unit rather than a drop code. */
export function isUnit(result: number): boolean {
  return result >= 0;
}

const PROTO_TCP = 6;
const PROTO_UDP = 17;
const PROTO_GRE = 47;
const PROTO_ESP = 50;
const PORT_IKE = 500;
const PORT_IKE_NATT = 4500;
const PORT_L2TP = 1701;

const IPV4_MIN_HEADER = 20;
const UDP_HEADER = 8;
const TCP_MIN_HEADER = 20;
const ESP_HEADER = 8; // SPI + sequence number
const IKE_HEADER = 28;
const NON_ESP_MARKER = 4;
const GRE_V1_HEADER = 8; // flags, protocol, key (payload length + call ID)
const GRE_PPTP_PROTOCOL = 0x880b;

function u16(p: Uint8Array, i: number): number {
  return (p[i]! << 8) | p[i + 1]!;
}

/**
 * Signed 32-bit big-endian read. Addresses and SPIs only feed bitwise ops
 * (the hash and `& UNIT_MASK`), which see the same bits either way, and
 * staying in int32 keeps V8 from boxing values >= 2^31.
 */
function i32(p: Uint8Array, i: number): number {
  return (p[i]! << 24) | (p[i + 1]! << 16) | (p[i + 2]! << 8) | p[i + 3]!;
}

/*
 * IPv4 header (RFC 791 §3.1):
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |Version|  IHL  |Type of Service|          Total Length         |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |         Identification        |Flags|      Fragment Offset    |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |  Time to Live |    Protocol   |         Header Checksum       |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                       Source Address                          |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                    Destination Address                        |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                    Options (IHL > 5)                          |
 */

/**
 * Validates the IPv4 header inside p[off, off+len) and returns the offset just
 * past the datagram (off + Total Length; trailing link padding is ignored),
 * or FILTER_MALFORMED.
 */
function ipEnd(p: Uint8Array, off: number, len: number): number {
  if ((off | 0) !== off || (len | 0) !== len || off < 0 || len < IPV4_MIN_HEADER || off + len > p.length) {
    return FILTER_MALFORMED;
  }
  const vihl = p[off]!;
  if (vihl >>> 4 !== 4) return FILTER_MALFORMED;
  const ihl = (vihl & 0x0f) << 2;
  if (ihl < IPV4_MIN_HEADER) return FILTER_MALFORMED;
  const total = u16(p, off + 2);
  if (total < ihl || total > len) return FILTER_MALFORMED;
  return off + total;
}

/**
 * Packets arriving for the cluster address. Rules in order:
 *  a. identifiers the cluster allocated carry their unit (IKE responder SPI,
 *     ESP SPI, L2TP tunnel ID, PPTP call ID), see session-id.ts;
 *  b. otherwise the patent's fields: TCP/UDP by source address + source port,
 *     anything else (ICMP, GRE v0, non-first fragments…) by source+destination.
 */
export function classifyInbound(p: Uint8Array, off = 0, len = p.length - off): number {
  const end = ipEnd(p, off, len);
  if (end < 0) return end;
  const src = i32(p, off + 12);
  if ((u16(p, off + 6) & 0x1fff) !== 0) return unitOfAddressPair(src, i32(p, off + 16));
  const l4 = off + ((p[off]! & 0x0f) << 2);
  switch (p[off + 9]) {
    case PROTO_UDP:
      return classifyUdp(p, l4, end, src);
    case PROTO_TCP:
      if (end - l4 < TCP_MIN_HEADER) return FILTER_MALFORMED_L4;
      return unitOfAddressPort(src, u16(p, l4));
    case PROTO_ESP:
      if (end - l4 < ESP_HEADER) return FILTER_MALFORMED_L4;
      return espUnit(i32(p, l4));
    case PROTO_GRE:
      return classifyGre(p, l4, end, src, i32(p, off + 16));
    default:
      return unitOfAddressPair(src, i32(p, off + 16));
  }
}

/** Forwarded (routed) traffic: source and destination address. */
export function classifyForward(p: Uint8Array, off = 0, len = p.length - off): number {
  const end = ipEnd(p, off, len);
  if (end < 0) return end;
  return unitOfAddressPair(i32(p, off + 12), i32(p, off + 16));
}

/**
 * Traffic towards tunnel clients' virtual addresses: destination only. Pools
 * hand out only addresses of the session's unit, so this lands on the owner.
 */
export function classifyToClient(p: Uint8Array, off = 0, len = p.length - off): number {
  const end = ipEnd(p, off, len);
  if (end < 0) return end;
  return unitOfAddress(i32(p, off + 16));
}

/*
 * ESP header (RFC 4303 §2):
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |               Security Parameters Index (SPI)                 |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                      Sequence Number                          |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
function espUnit(spi: number): number {
  if (spi >>> 8 === 0) return FILTER_RESERVED_SPI;
  return unitOfSpi32(spi);
}

/*
 * UDP header (RFC 768):
 *    0      7 8     15 16    23 24    31
 *   +--------+--------+--------+--------+
 *   |   Source Port   |   Dest. Port    |
 *   +--------+--------+--------+--------+
 *   |     Length      |    Checksum     |
 *   +--------+--------+--------+--------+
 * Length covers header + payload; the payload ends there, not at the IP end.
 */
function classifyUdp(p: Uint8Array, l4: number, end: number, src: number): number {
  if (end - l4 < UDP_HEADER) return FILTER_MALFORMED_L4;
  const udpLen = u16(p, l4 + 4);
  if (udpLen < UDP_HEADER || udpLen > end - l4) return FILTER_MALFORMED_L4;
  const sport = u16(p, l4);
  const at = l4 + UDP_HEADER;
  const payEnd = l4 + udpLen;
  switch (u16(p, l4 + 2)) {
    case PORT_IKE:
      return classifyIke(p, at, payEnd, src, sport);
    case PORT_IKE_NATT:
      return classifyNatT(p, at, payEnd, src, sport);
    case PORT_L2TP:
      return classifyL2tp(p, at, payEnd, src, sport);
    default:
      return unitOfAddressPort(src, sport);
  }
}

/*
 * IKE header (RFC 7296 §3.1; IKEv1 cookies sit in the same place):
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                       IKE SA Initiator's SPI                  |
 *   |                                                               |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                       IKE SA Responder's SPI                  |
 *   |                                                               |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |  Next Payload | MjVer | MnVer | Exchange Type |     Flags     |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                          Message ID                           |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                            Length                             |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * The cluster is the responder, so a non-zero responder SPI is ours and
 * carries the unit. Zero (IKE_SA_INIT request) falls back to address+port.
 */
function classifyIke(p: Uint8Array, at: number, end: number, src: number, sport: number): number {
  if (end - at < IKE_HEADER) return FILTER_MALFORMED_L4;
  if ((i32(p, at + 8) | i32(p, at + 12)) === 0) return unitOfAddressPort(src, sport);
  return unitOfIkeSpi(p, at + 8);
}

/*
 * UDP 4500 (RFC 3948 §2): one port carries three things.
 *   ESP-in-UDP:      | SPI (non-zero) | Sequence Number | ...  -> the ESP SPI
 *   IKE (non-ESP):   | 0x00000000     | IKE header ...         -> as port 500
 *   NAT-keepalive:   | 0xFF |  (exactly one byte, §2.3)        -> address+port
 */
function classifyNatT(p: Uint8Array, at: number, end: number, src: number, sport: number): number {
  const n = end - at;
  if (n === 1 && p[at] === 0xff) return unitOfAddressPort(src, sport);
  if (n < NON_ESP_MARKER) return FILTER_MALFORMED_L4;
  const first = i32(p, at);
  if (first === 0) return classifyIke(p, at + NON_ESP_MARKER, end, src, sport);
  if (n < ESP_HEADER) return FILTER_MALFORMED_L4;
  return espUnit(first);
}

/*
 * L2TPv2 header (RFC 2661 §3.1):
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |T|L|x|x|S|x|O|P|x|x|x|x|  Ver  |          Length (opt)         |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |           Tunnel ID           |           Session ID          |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |             Ns (opt)          |             Nr (opt)          |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |      Offset Size (opt)        |    Offset pad... (opt)
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * Tunnel ID is the receiver's, i.e. the one the cluster allocated. It is
 * zero only in the SCCRQ that opens a tunnel: that one goes by address+port.
 */
const L2TP_FLAG_LENGTH = 0x4000;
const L2TP_VERSION = 2;

function classifyL2tp(p: Uint8Array, at: number, end: number, src: number, sport: number): number {
  if (end - at < 2) return FILTER_MALFORMED_L4;
  const flags = u16(p, at);
  if ((flags & 0x000f) !== L2TP_VERSION) return FILTER_MALFORMED_L4;
  const ids = (flags & L2TP_FLAG_LENGTH) !== 0 ? at + 4 : at + 2;
  if (end - ids < 4) return FILTER_MALFORMED_L4;
  const tunnel = u16(p, ids);
  if (tunnel === 0) return unitOfAddressPort(src, sport);
  return unitOfId16(tunnel);
}

/*
 * Enhanced GRE header, version 1 (RFC 2637 §4.1, PPTP data channel):
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |C|R|K|S|s|Recur|A| Flags | Ver |         Protocol Type         |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |    Key (HW) Payload Length    |       Key (LW) Call ID        |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                  Sequence Number (Optional)                   |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |               Acknowledgment Number (Optional)                |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * C, R, s, Recur and Flags must be 0, K must be 1 (S and A are free); the
 * Call ID is the receiver's, i.e. the one the cluster allocated. Other GRE
 * versions are not PPTP and go by address pair like any other protocol.
 */
const GRE_VERSION_MASK = 0x0007;
const GRE_V1_FIXED_MASK = 0xef7f; // every bit except S (0x1000) and A (0x0080)
const GRE_V1_FIXED_VALUE = 0x2001; // K=1, version 1

function classifyGre(p: Uint8Array, at: number, end: number, src: number, dst: number): number {
  if (end - at < 4) return FILTER_MALFORMED_L4;
  const flags = u16(p, at);
  if ((flags & GRE_VERSION_MASK) !== 1) return unitOfAddressPair(src, dst);
  if ((flags & GRE_V1_FIXED_MASK) !== GRE_V1_FIXED_VALUE) return FILTER_MALFORMED_L4;
  if (u16(p, at + 2) !== GRE_PPTP_PROTOCOL || end - at < GRE_V1_HEADER) return FILTER_MALFORMED_L4;
  return unitOfId16(u16(p, at + 6));
}
