import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  FILTER_MALFORMED,
  FILTER_MALFORMED_L4,
  FILTER_RESERVED_SPI,
  classifyForward,
  classifyInbound,
  classifyToClient,
} from '../../src/cluster/filter.js';
import { AddressPool, allocateId16, allocateIkeSpi, allocateSpi32, unitOfIkeSpi } from '../../src/cluster/session-id.js';
import { unitOfAddress, unitOfAddressPair, unitOfAddressPort } from '../../src/cluster/unit-hash.js';
import { parseIpv4 } from '../../src/lib/ipv4.js';
import { SeededRandom } from '../../src/lib/random.js';
import { mutatedPacket, referenceInbound, wellFormedPacket } from '../support/filter-reference.js';
import {
  IKE_AUTH,
  PROTO,
  concat,
  esp,
  greV0,
  greV1,
  icmpEcho,
  ike,
  ipv4,
  l2tp,
  natKeepalive,
  nonEsp,
  tcp,
  udp,
  udpPacket,
} from '../support/packets.js';

const CLUSTER = parseIpv4('192.0.2.10');
const CLIENT = parseIpv4('198.51.100.7');
const rng = new SeededRandom(0x5eed);
const ispi = rng.bytes(8);
const ZERO8 = new Uint8Array(8);
const byAddrPort = (port: number): number => unitOfAddressPort(CLIENT, port);
const PAIR = unitOfAddressPair(CLIENT, CLUSTER);
const inbound = (protocol: number, payload: Uint8Array): number =>
  classifyInbound(ipv4({ src: CLIENT, dst: CLUSTER, protocol, payload }));
const viaUdp = (dport: number, payload: Uint8Array, sport = 40000): number =>
  classifyInbound(udpPacket(CLIENT, CLUSTER, sport, dport, payload));

describe('patent fields (rule b)', () => {
  it('UDP and TCP go by source address + source port, whatever the destination port', () => {
    expect(viaUdp(53, new Uint8Array(12), 33333)).toBe(byAddrPort(33333));
    expect(viaUdp(1194, new Uint8Array(0), 33333)).toBe(byAddrPort(33333));
    expect(inbound(PROTO.TCP, tcp(44444, 443))).toBe(byAddrPort(44444));
    expect(inbound(PROTO.TCP, tcp(44444, 1723))).toBe(byAddrPort(44444));
  });

  it('ICMP, plain GRE and unknown protocols go by source + destination address', () => {
    expect(inbound(PROTO.ICMP, icmpEcho(1, 1))).toBe(PAIR);
    expect(inbound(PROTO.GRE, greV0())).toBe(PAIR);
    expect(inbound(132, new Uint8Array(12))).toBe(PAIR);
  });

  it('non-first fragments go by address pair; first fragments still by port', () => {
    const payload = udp(40000, 4500, esp(0x12345678, 1));
    const frag = (fragmentOffset: number, moreFragments: boolean): number =>
      classifyInbound(ipv4({ src: CLIENT, dst: CLUSTER, protocol: PROTO.UDP, payload, fragmentOffset, moreFragments }));
    expect(frag(0, true)).toBe(0x12345678 & 1023);
    expect(frag(185, true)).toBe(PAIR);
    expect(frag(185, false)).toBe(PAIR);
    const tiny = ipv4({ src: CLIENT, dst: CLUSTER, protocol: PROTO.ESP, payload: Uint8Array.of(1, 2), fragmentOffset: 3 });
    expect(classifyInbound(tiny)).toBe(PAIR);
  });

  it('skips IP options to find the transport header', () => {
    const pkt = ipv4({ src: CLIENT, dst: CLUSTER, protocol: PROTO.UDP, payload: udp(5555, 80), options: new Uint8Array(8).fill(1) });
    expect(classifyInbound(pkt)).toBe(byAddrPort(5555));
  });
});

describe('cluster-allocated identifiers (rule a)', () => {
  it('ESP (protocol 50): the SPI\'s unit; reserved SPIs are refused', () => {
    const spi = allocateSpi32(777, rng);
    expect(inbound(PROTO.ESP, esp(spi, 1))).toBe(777);
    expect(inbound(PROTO.ESP, esp(255, 1))).toBe(FILTER_RESERVED_SPI);
    expect(inbound(PROTO.ESP, esp(0, 1))).toBe(FILTER_RESERVED_SPI);
    expect(inbound(PROTO.ESP, esp(256, 1))).toBe(256);
  });

  it('IKE on 500: zero responder SPI by address+port, otherwise the SPI\'s unit', () => {
    expect(viaUdp(500, ike({ initiatorSpi: ispi }), 500)).toBe(byAddrPort(500));
    const rspi = allocateIkeSpi(42, rng);
    expect(viaUdp(500, ike({ initiatorSpi: ispi, responderSpi: rspi, exchange: IKE_AUTH }), 500)).toBe(42);
    // Only the responder SPI matters, not the initiator's.
    expect(viaUdp(500, ike({ initiatorSpi: allocateIkeSpi(9, rng), responderSpi: rspi }))).toBe(42);
  });

  it('UDP 4500: non-ESP marker + IKE, ESP-in-UDP, and NAT-keepalive', () => {
    const rspi = allocateIkeSpi(1000, rng);
    expect(viaUdp(4500, nonEsp(ike({ initiatorSpi: ispi, responderSpi: rspi })))).toBe(1000);
    expect(viaUdp(4500, nonEsp(ike({ initiatorSpi: ispi, responderSpi: ZERO8 })), 4500)).toBe(byAddrPort(4500));
    expect(viaUdp(4500, esp(allocateSpi32(3, rng), 9))).toBe(3);
    expect(viaUdp(4500, esp(17, 9))).toBe(FILTER_RESERVED_SPI);
    expect(viaUdp(4500, natKeepalive(), 61000)).toBe(byAddrPort(61000));
  });

  it('L2TP (UDP 1701): SCCRQ with tunnel 0 by address+port, then the tunnel ID\'s unit', () => {
    expect(viaUdp(1701, l2tp({ tunnelId: 0, sessionId: 0, control: true }), 1701)).toBe(byAddrPort(1701));
    const tid = allocateId16(555, rng);
    expect(viaUdp(1701, l2tp({ tunnelId: tid, sessionId: 0, control: true }))).toBe(555);
    expect(viaUdp(1701, l2tp({ tunnelId: tid, sessionId: 77 }))).toBe(555);
    expect(viaUdp(1701, l2tp({ tunnelId: tid, sessionId: 77, withLength: true, offsetSize: 4 }))).toBe(555);
    expect(viaUdp(1701, l2tp({ tunnelId: tid, sessionId: 77, sequence: { ns: 1, nr: 2 } }))).toBe(555);
  });

  it('PPTP GRE v1: the call ID\'s unit, with or without sequence and ack', () => {
    const callId = allocateId16(12, rng);
    expect(inbound(PROTO.GRE, greV1({ callId }))).toBe(12);
    expect(inbound(PROTO.GRE, greV1({ callId, sequence: 5, ack: 4, payload: new Uint8Array(20) }))).toBe(12);
    expect(inbound(PROTO.GRE, greV1({ callId, ack: 4 }))).toBe(12);
  });
});

describe('a session keeps its unit when the NAT changes the source port (charon-cmd)', () => {
  it('IKE_SA_INIT from port A, IKE_AUTH and ESP from ports B and C', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1024, max: 65535 }), fc.integer({ min: 1024, max: 65535 }), fc.nat(), (a, b, s) => {
        const r = new SeededRandom(s);
        const init = viaUdp(500, ike({ initiatorSpi: ispi }), a);
        expect(init).toBe(byAddrPort(a));
        const rspi = allocateIkeSpi(init, r);
        expect(viaUdp(4500, nonEsp(ike({ initiatorSpi: ispi, responderSpi: rspi, exchange: IKE_AUTH })), b)).toBe(init);
        const spi = allocateSpi32(init, r);
        expect(viaUdp(4500, esp(spi, 1), b)).toBe(init);
        expect(viaUdp(4500, esp(spi, 2), b ^ 0x5a5a)).toBe(init);
      }),
      { seed: 41, numRuns: 500 },
    );
  });
});

describe('forward and to-client classification', () => {
  it('forward: ordered address pair; to-client: destination only', () => {
    const other = parseIpv4('203.0.113.9');
    const pkt = ipv4({ src: CLIENT, dst: other, protocol: PROTO.TCP, payload: tcp(1, 2) });
    expect(classifyForward(pkt)).toBe(unitOfAddressPair(CLIENT, other));
    expect(classifyToClient(pkt)).toBe(unitOfAddress(other));
  });

  it('traffic to a pool address reaches the unit that allocated it', () => {
    const pool = new AddressPool(parseIpv4('100.64.0.0'), 16);
    for (const u of [0, 17, 1023]) {
      const addr = pool.allocate(u)!;
      expect(classifyToClient(ipv4({ src: CLIENT, dst: addr, protocol: PROTO.ICMP, payload: icmpEcho(1, 1) }))).toBe(u);
    }
  });

  it('honours offset and length: packet inside a larger frame with link padding', () => {
    const pkt = udpPacket(CLIENT, CLUSTER, 4242, 9999);
    const frame = concat(new Uint8Array(14), pkt, new Uint8Array(10));
    expect(classifyInbound(frame, 14, pkt.length + 10)).toBe(byAddrPort(4242));
    expect(classifyInbound(frame, 14)).toBe(byAddrPort(4242));
    expect(classifyForward(frame, 14, pkt.length)).toBe(PAIR);
    expect(classifyToClient(frame, 14, pkt.length)).toBe(unitOfAddress(CLUSTER));
  });
});

describe('malformed input returns a negative code and never throws', () => {
  const good = udpPacket(CLIENT, CLUSTER, 1000, 2000);
  const edit = (f: (b: Uint8Array) => void): Uint8Array => {
    const b = Uint8Array.from(good);
    f(b);
    return b;
  };

  it('IPv4 header faults', () => {
    for (const bad of [
      new Uint8Array(0),
      good.subarray(0, 19),
      edit((b) => (b[0] = 0x65)), // version 6
      edit((b) => (b[0] = 0x44)), // IHL 4
      edit((b) => (b[3] = good.length + 1)), // total length beyond buffer
      edit((b) => (b[3] = 19)), // total length below header
      good.subarray(0, good.length - 1),
    ]) {
      for (const f of [classifyInbound, classifyForward, classifyToClient]) expect(f(bad)).toBe(FILTER_MALFORMED);
    }
  });

  it('bad offset or length windows', () => {
    for (const [off, len] of [
      [-1, good.length],
      [1, good.length],
      [0, good.length + 1],
      [0.5, 20],
      [0, Number.NaN],
    ] as const) {
      expect(classifyInbound(good, off, len)).toBe(FILTER_MALFORMED);
    }
  });

  it('truncated or inconsistent transport and tunnel headers', () => {
    const cut = (protocol: number, payload: Uint8Array): number => inbound(protocol, payload);
    const ikeMsg = ike({ initiatorSpi: ispi, responderSpi: allocateIkeSpi(5, rng) });
    const cases: number[] = [
      cut(PROTO.UDP, udp(1, 2).subarray(0, 7)),
      cut(PROTO.UDP, edit((b) => b.set([0, 7], 24)).subarray(20)), // UDP length 7
      cut(PROTO.UDP, edit((b) => b.set([0, 9], 24)).subarray(20)), // UDP length past the datagram
      cut(PROTO.TCP, tcp(1, 2).subarray(0, 19)),
      cut(PROTO.ESP, esp(0x1000, 1, new Uint8Array(0)).subarray(0, 7)),
      viaUdp(500, ikeMsg.subarray(0, 27)),
      viaUdp(4500, nonEsp(ikeMsg).subarray(0, 31)),
      viaUdp(4500, new Uint8Array(0)),
      viaUdp(4500, Uint8Array.of(0xfe)),
      viaUdp(4500, Uint8Array.of(0xff, 0xff)),
      viaUdp(4500, esp(0x1000, 1, new Uint8Array(0)).subarray(0, 6)),
      viaUdp(1701, Uint8Array.of(0x00)),
      viaUdp(1701, l2tp({ tunnelId: 9, sessionId: 1 }).subarray(0, 5)),
      viaUdp(1701, l2tp({ tunnelId: 9, sessionId: 1, withLength: true }).subarray(0, 7)),
      viaUdp(1701, l2tp({ tunnelId: 9, sessionId: 1, version: 3 })),
      cut(PROTO.GRE, greV1({ callId: 9 }).subarray(0, 7)),
      cut(PROTO.GRE, Uint8Array.of(0x20, 0x01, 0x88)),
      cut(PROTO.GRE, greV1({ callId: 9, flagsWord: 0xa001 })), // C bit
      cut(PROTO.GRE, greV1({ callId: 9, flagsWord: 0x0001 })), // K bit clear
      cut(PROTO.GRE, greV1({ callId: 9, flagsWord: 0x2801 })), // strict source route
      cut(PROTO.GRE, greV1({ callId: 9, flagsWord: 0x2101 })), // recursion control
      cut(PROTO.GRE, greV1({ callId: 9, flagsWord: 0x2009 })), // reserved flag bits
      cut(PROTO.GRE, greV1({ callId: 9, protocolType: 0x0800 })),
    ];
    for (const c of cases) expect(c).toBe(FILTER_MALFORMED_L4);
    // The UDP length, not the IP length, bounds the payload: an IKE header
    // cut by the UDP length is truncated even if bytes follow it.
    const short = udp(1, 500, ikeMsg);
    short.set([0, 8 + 20], 4);
    expect(inbound(PROTO.UDP, short)).toBe(FILTER_MALFORMED_L4);
  });

  it('random bytes: a unit or a known code, never a throw', () => {
    const codes = new Set([FILTER_MALFORMED, FILTER_MALFORMED_L4, FILTER_RESERVED_SPI]);
    const valid = (r: number): boolean => codes.has(r) || (Number.isInteger(r) && r >= 0 && r < 1024);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), fc.nat(), fc.nat(), (b, off, len) => {
        for (const f of [classifyInbound, classifyForward, classifyToClient]) {
          expect(valid(f(b))).toBe(true);
          expect(valid(f(b, off % (b.length + 2), len % (b.length + 2)))).toBe(true);
        }
        // Random bytes that happen to start like IPv4 are the interesting ones.
        if (b.length >= 20) {
          b[0] = 0x45;
          b[2] = 0;
          b[3] = b.length;
          expect(valid(classifyInbound(b))).toBe(true);
          expect(classifyInbound(b)).toBe(referenceInbound(b));
        }
      }),
      { seed: 51, numRuns: 5000 },
    );
  });
});

describe('agrees with the slow reference model', () => {
  it('on well-formed packets of every kind', () => {
    fc.assert(
      fc.property(wellFormedPacket, (pkt) => {
        expect(classifyInbound(pkt)).toBe(referenceInbound(pkt));
      }),
      { seed: 61, numRuns: 5000 },
    );
  });

  it('on mutated and truncated packets', () => {
    fc.assert(
      fc.property(mutatedPacket, (pkt) => {
        expect(classifyInbound(pkt)).toBe(referenceInbound(pkt));
      }),
      { seed: 62, numRuns: 5000 },
    );
  });

  it('unitOfIkeSpi is the big-endian value mod 1024', () => {
    const spi = allocateIkeSpi(321, rng);
    expect(unitOfIkeSpi(spi)).toBe(Number(new DataView(spi.buffer).getBigUint64(0) % 1024n));
  });
});
