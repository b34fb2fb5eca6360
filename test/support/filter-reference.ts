/**
 * A slow, obviously-correct model of src/cluster/filter.ts for differential
 * tests: DataView reads, BigInt for the 64-bit IKE SPI, `% 1024` instead of
 * masks, one rule per line in the order the brief states them. It shares only
 * the hash functions (unit-hash.ts) with the real filter, as it must: there is
 * one mixing function. Plus fast-check arbitraries for well-formed packets.
 */
import fc from 'fast-check';
import { FILTER_MALFORMED, FILTER_MALFORMED_L4, FILTER_RESERVED_SPI } from '../../src/cluster/filter.js';
import { unitOfAddressPair, unitOfAddressPort } from '../../src/cluster/unit-hash.js';
import { PROTO, concat, esp, greV0, greV1, icmpEcho, ike, ipv4, l2tp, natKeepalive, nonEsp, tcp, udp } from './packets.js';

function spiRule(spi: number): number {
  return spi < 256 ? FILTER_RESERVED_SPI : spi % 1024;
}

function referenceUdp(v: DataView, l4: number, end: number, src: number): number {
  if (end - l4 < 8) return FILTER_MALFORMED_L4;
  const sport = v.getUint16(l4);
  const dport = v.getUint16(l4 + 2);
  const udpLen = v.getUint16(l4 + 4);
  if (udpLen < 8 || l4 + udpLen > end) return FILTER_MALFORMED_L4;
  const pay = l4 + 8;
  const n = udpLen - 8;
  const ikeRule = (at: number, left: number): number => {
    if (left < 28) return FILTER_MALFORMED_L4;
    const responder = v.getBigUint64(at + 8);
    return responder === 0n ? unitOfAddressPort(src, sport) : Number(responder % 1024n);
  };
  if (dport === 500) return ikeRule(pay, n);
  if (dport === 4500) {
    if (n === 1 && v.getUint8(pay) === 0xff) return unitOfAddressPort(src, sport);
    if (n < 4) return FILTER_MALFORMED_L4;
    const first = v.getUint32(pay);
    if (first === 0) return ikeRule(pay + 4, n - 4);
    return n < 8 ? FILTER_MALFORMED_L4 : spiRule(first);
  }
  if (dport === 1701) {
    if (n < 2) return FILTER_MALFORMED_L4;
    const flags = v.getUint16(pay);
    if (flags % 16 !== 2) return FILTER_MALFORMED_L4;
    const lengthBit = Math.floor(flags / 0x4000) % 2 === 1;
    const ids = pay + (lengthBit ? 4 : 2);
    if (ids + 4 > pay + n) return FILTER_MALFORMED_L4;
    const tunnel = v.getUint16(ids);
    return tunnel === 0 ? unitOfAddressPort(src, sport) : tunnel % 1024;
  }
  return unitOfAddressPort(src, sport);
}

function referenceGre(v: DataView, l4: number, end: number, src: number, dst: number): number {
  if (end - l4 < 4) return FILTER_MALFORMED_L4;
  const flags = v.getUint16(l4);
  const bit = (n: number): number => (flags >> (15 - n)) & 1; // RFC bit numbering
  if ((flags & 7) !== 1) return unitOfAddressPair(src, dst);
  const recur = (flags >> 8) & 7;
  const otherFlags = (flags >> 3) & 0xf;
  if (bit(0) !== 0 || bit(1) !== 0 || bit(2) !== 1 || bit(4) !== 0 || recur !== 0 || otherFlags !== 0) {
    return FILTER_MALFORMED_L4;
  }
  if (v.getUint16(l4 + 2) !== 0x880b) return FILTER_MALFORMED_L4;
  if (end - l4 < 8) return FILTER_MALFORMED_L4;
  return v.getUint16(l4 + 6) % 1024;
}

/** The reference inbound classifier over the whole of `b`. */
export function referenceInbound(b: Uint8Array): number {
  if (b.length < 20) return FILTER_MALFORMED;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const version = Math.floor(v.getUint8(0) / 16);
  const ihl = (v.getUint8(0) % 16) * 4;
  const total = v.getUint16(2);
  if (version !== 4 || ihl < 20 || total < ihl || total > b.length) return FILTER_MALFORMED;
  const src = v.getUint32(12);
  const dst = v.getUint32(16);
  const fragmentOffset = v.getUint16(6) % 0x2000;
  if (fragmentOffset !== 0) return unitOfAddressPair(src, dst);
  const protocol = v.getUint8(9);
  if (protocol === PROTO.UDP) return referenceUdp(v, ihl, total, src);
  if (protocol === PROTO.TCP) return total - ihl < 20 ? FILTER_MALFORMED_L4 : unitOfAddressPort(src, v.getUint16(ihl));
  if (protocol === PROTO.ESP) return total - ihl < 8 ? FILTER_MALFORMED_L4 : spiRule(v.getUint32(ihl));
  if (protocol === PROTO.GRE) return referenceGre(v, ihl, total, src, dst);
  return unitOfAddressPair(src, dst);
}

// ------------------------------------------------------------ arbitraries

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const bytes = (max: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ maxLength: max });
const spi8 = fc.oneof(fc.constant(new Uint8Array(8)), fc.uint8Array({ minLength: 8, maxLength: 8 }));
/** Mostly-small values for "usually zero" fields (tunnel ID 0, SPI < 256). */
const smallOr = (arb: fc.Arbitrary<number>): fc.Arbitrary<number> => fc.oneof(fc.integer({ min: 0, max: 300 }), arb);

const ikeMsg = fc
  .record({ i: spi8, r: spi8, body: bytes(40) })
  .map(({ i, r, body }) => ike({ initiatorSpi: i, responderSpi: r, body }));

/** [protocol, transport bytes] pairs of every kind the filter distinguishes. */
const transport: fc.Arbitrary<[number, Uint8Array]> = fc.oneof(
  fc.tuple(u16, u16, bytes(40)).map(([s, d, p]): [number, Uint8Array] => [PROTO.UDP, udp(s, d, p)]),
  fc.tuple(u16, ikeMsg).map(([s, m]): [number, Uint8Array] => [PROTO.UDP, udp(s, 500, m)]),
  fc.tuple(u16, ikeMsg).map(([s, m]): [number, Uint8Array] => [PROTO.UDP, udp(s, 4500, nonEsp(m))]),
  fc.tuple(u16, smallOr(u32), bytes(40)).map(([s, spi, p]): [number, Uint8Array] => [PROTO.UDP, udp(s, 4500, esp(spi, 1, p))]),
  u16.map((s): [number, Uint8Array] => [PROTO.UDP, udp(s, 4500, natKeepalive())]),
  fc
    .record({
      s: u16,
      tunnelId: smallOr(u16),
      sessionId: u16,
      control: fc.boolean(),
      withLength: fc.boolean(),
      offsetSize: fc.option(fc.integer({ min: 0, max: 8 }), { nil: undefined }),
      version: fc.constantFrom(2, 2, 2, 3),
      payload: bytes(30),
    })
    .map(({ s, ...spec }): [number, Uint8Array] => [PROTO.UDP, udp(s, 1701, l2tp(spec))]),
  fc.tuple(u16, u16, bytes(40)).map(([s, d, p]): [number, Uint8Array] => [PROTO.TCP, tcp(s, d, p)]),
  fc.tuple(smallOr(u32), bytes(40)).map(([spi, p]): [number, Uint8Array] => [PROTO.ESP, esp(spi, 7, p)]),
  fc
    .record({
      callId: u16,
      sequence: fc.option(u32, { nil: undefined }),
      ack: fc.option(u32, { nil: undefined }),
      payload: bytes(30),
    })
    .map((spec): [number, Uint8Array] => [PROTO.GRE, greV1(spec)]),
  // Version-1 GRE with arbitrary flag bits, to exercise the must-be-zero checks.
  fc
    .tuple(u16, u16, fc.constantFrom(0x880b, 0x880b, 0x0800))
    .map(([flags, callId, protocolType]): [number, Uint8Array] => [
      PROTO.GRE,
      greV1({ callId, flagsWord: (flags & ~7) | 1, protocolType }),
    ]),
  bytes(30).map((p): [number, Uint8Array] => [PROTO.GRE, greV0(0x0800, p)]),
  fc.tuple(u16, u16).map(([id, seq]): [number, Uint8Array] => [PROTO.ICMP, icmpEcho(id, seq)]),
  fc.tuple(fc.integer({ min: 0, max: 255 }), bytes(40)).map(([proto, p]): [number, Uint8Array] => [proto, p]),
);

/** A well-formed IPv4 datagram, sometimes with options, a fragment offset, or trailing link padding. */
export const wellFormedPacket: fc.Arbitrary<Uint8Array> = fc
  .record({
    src: u32,
    dst: u32,
    t: transport,
    optionWords: fc.constantFrom(0, 0, 0, 1, 3, 10),
    fragmentOffset: fc.constantFrom(0, 0, 0, 0, 0, 1, 185),
    moreFragments: fc.boolean(),
    trailer: fc.constantFrom(0, 0, 0, 6),
  })
  .map(({ src, dst, t, optionWords, fragmentOffset, moreFragments, trailer }) =>
    concat(
      ipv4({
        src,
        dst,
        protocol: t[0],
        payload: t[1],
        options: new Uint8Array(optionWords * 4).fill(1), // NOPs
        fragmentOffset,
        moreFragments,
      }),
      new Uint8Array(trailer),
    ),
  );

/** A well-formed packet with a few bytes overwritten and maybe cut short. */
export const mutatedPacket: fc.Arbitrary<Uint8Array> = fc
  .tuple(
    wellFormedPacket,
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
    fc.option(fc.nat(), { nil: undefined }),
  )
  .map(([pkt, edits, cut]) => {
    const b = Uint8Array.from(pkt);
    for (const [at, value] of edits) b[at % b.length] = value;
    return cut === undefined ? b : b.subarray(0, cut % (b.length + 1));
  });
