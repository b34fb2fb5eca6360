import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseIpv4 } from '../../src/lib/ipv4.js';
import { decodeEthernet } from '../../src/wire/ethernet.js';
import {
  decodeIcmp,
  destinationUnreachable,
  echoReplyTo,
  encodeIcmp,
  ICMP_TYPE,
  quoteOriginal,
  TIME_EXCEEDED_CODE,
  timeExceeded,
  UNREACHABLE_CODE,
  type IcmpMessage,
} from '../../src/wire/icmp.js';
import { decodeIpv4, encodeIpv4, IP_PROTOCOL } from '../../src/wire/ipv4.js';
import { arbIpv4Datagram, arbU16, flipBit, hex, reasonOf, toHex, valueOf } from './arbitraries.js';
import { ICMP_ECHO_FRAME, UDP_DNS_FRAME } from './captures.js';

const arbOriginal = fc.uint8Array({ minLength: 20, maxLength: 68 });

const arbIcmp: fc.Arbitrary<IcmpMessage> = fc.oneof(
  fc.record({ kind: fc.constantFrom('echo-request' as const, 'echo-reply' as const), id: arbU16, seq: arbU16, data: fc.uint8Array({ maxLength: 300 }) }),
  fc.integer({ min: 0, max: 255 }).chain((code) =>
    fc.record({
      kind: fc.constant('destination-unreachable' as const),
      code: fc.constant(code),
      nextHopMtu: code === UNREACHABLE_CODE.FRAGMENTATION_NEEDED ? arbU16 : fc.constant(0),
      original: arbOriginal,
    }),
  ),
  fc.record({ kind: fc.constant('time-exceeded' as const), code: fc.integer({ min: 0, max: 255 }), original: arbOriginal }),
);

function icmpOf(frame: Uint8Array): Uint8Array {
  return valueOf(decodeIpv4(valueOf(decodeEthernet(frame)).payload)).payload;
}

describe('ICMP codec (RFC 792)', () => {
  it('decodes a captured echo request field by field', () => {
    const m = valueOf(decodeIcmp(icmpOf(ICMP_ECHO_FRAME)));
    expect(m.kind).toBe('echo-request');
    if (m.kind !== 'echo-request') return;
    expect(m.id).toBe(0x0b5e);
    expect(m.seq).toBe(1);
    expect(toHex(m.data)).toBe('6a3f5a6700000000' + toHex(Uint8Array.from({ length: 40 }, (_, i) => 0x10 + i)));
  });

  it('answers it with the same id, sequence and data, type 0, checksum recomputed', () => {
    const request = valueOf(decodeIcmp(icmpOf(ICMP_ECHO_FRAME)));
    if (request.kind !== 'echo-request') throw new Error('not an echo request');
    const reply = encodeIcmp(echoReplyTo(request));
    const original = icmpOf(ICMP_ECHO_FRAME);
    expect(reply[0]).toBe(ICMP_TYPE.ECHO_REPLY);
    expect(toHex(reply.subarray(4))).toBe(toHex(original.subarray(4)));
    // only the type word changed by 0x0800, so the checksum grows by 0x0800 (RFC 1624)
    expect((reply[2]! << 8) | reply[3]!).toBe(0x6927 + 0x0800);
  });

  it('round-trips every message kind', () => {
    fc.assert(
      fc.property(arbIcmp, (m) => {
        expect(valueOf(decodeIcmp(encodeIcmp(m)))).toEqual(m);
      }),
      { numRuns: 1000 },
    );
  });

  it('puts the next-hop MTU in the low 16 bits of the second word (RFC 1191)', () => {
    const original = hex('4500 05dc 0001 4000 4011 0000 0a000001 0a000002 cf08 0035 05c8 0000');
    const bytes = encodeIcmp({ kind: 'destination-unreachable', code: UNREACHABLE_CODE.FRAGMENTATION_NEEDED, nextHopMtu: 1400, original });
    expect(toHex(bytes.subarray(0, 2))).toBe('0304');
    expect(toHex(bytes.subarray(4, 8))).toBe('00000578');
    expect(toHex(bytes.subarray(8))).toBe(toHex(original));
  });

  it('ignores the unused word of other codes on decode', () => {
    const original = new Uint8Array(28);
    const bytes = encodeIcmp({ kind: 'destination-unreachable', code: UNREACHABLE_CODE.PORT, nextHopMtu: 0, original });
    bytes[6] = 0x12; // someone put junk in "unused"
    bytes[2] = 0;
    bytes[3] = 0;
    const sum = bytes.reduce((s, _, i) => (i % 2 === 0 ? s + ((bytes[i]! << 8) | (bytes[i + 1] ?? 0)) : s), 0);
    const folded = (sum & 0xffff) + (sum >>> 16);
    bytes[2] = (~folded >>> 8) & 0xff;
    bytes[3] = ~folded & 0xff;
    const m = valueOf(decodeIcmp(bytes));
    expect(m).toEqual({ kind: 'destination-unreachable', code: 3, nextHopMtu: 0, original });
  });

  it('catches any single-bit flip as bad-checksum', () => {
    fc.assert(
      fc.property(arbIcmp, fc.nat(), (m, bit) => {
        expect(reasonOf(decodeIcmp(flipBit(encodeIcmp(m), bit)))).toBe('bad-checksum');
      }),
      { numRuns: 500 },
    );
  });

  it('is truncated below 8 bytes and never throws on any prefix (ICMP has no length field)', () => {
    fc.assert(
      fc.property(arbIcmp, (m) => {
        const bytes = encodeIcmp(m);
        for (let n = 0; n < bytes.length; n++) {
          const r = reasonOf(decodeIcmp(bytes.subarray(0, n)));
          if (n < 8) expect(r).toBe('truncated');
          else expect(['ok', 'bad-checksum', 'truncated']).toContain(r);
        }
      }),
      { numRuns: 100 },
    );
  });

  it('refuses unknown types, echo codes other than 0 and quotes shorter than an IP header', () => {
    const withChecksum = (b: Uint8Array): Uint8Array => {
      let sum = 0;
      for (let i = 0; i < b.length; i += 2) sum += (b[i]! << 8) | (b[i + 1] ?? 0);
      while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
      b[2] = (~sum >>> 8) & 0xff;
      b[3] = ~sum & 0xff;
      return b;
    };
    expect(reasonOf(decodeIcmp(withChecksum(hex('0d00 0000 0000 0000'))))).toBe('unknown-type'); // timestamp
    expect(reasonOf(decodeIcmp(withChecksum(hex('0801 0000 0000 0000'))))).toBe('bad-value');
    expect(reasonOf(decodeIcmp(withChecksum(hex('0b00 0000 0000 0000' + '00'.repeat(19)))))).toBe('truncated');
  });

  it('never throws on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        reasonOf(decodeIcmp(bytes));
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses to encode what does not fit (programming errors)', () => {
    expect(() => encodeIcmp({ kind: 'echo-request', id: 0x10000, seq: 0, data: new Uint8Array(0) })).toThrow(RangeError);
    expect(() => encodeIcmp({ kind: 'destination-unreachable', code: 3, nextHopMtu: 1400, original: new Uint8Array(28) })).toThrow(RangeError);
    expect(() => encodeIcmp({ kind: 'time-exceeded', code: 0, original: new Uint8Array(19) })).toThrow(RangeError);
  });
});

describe('ICMP error builders quote the IP header + 64 bits (RFC 792)', () => {
  it('quote header and the first 8 data bytes, options included', () => {
    fc.assert(
      fc.property(arbIpv4Datagram, (d) => {
        const bytes = encodeIpv4(d);
        const quote = quoteOriginal(bytes);
        const headerLength = 20 + d.header.options.length;
        expect(quote).toEqual(bytes.subarray(0, headerLength + Math.min(8, d.payload.length)));
      }),
    );
  });

  it('port unreachable for the captured DNS query carries its ports', () => {
    const datagram = valueOf(decodeEthernet(UDP_DNS_FRAME)).payload;
    const m = destinationUnreachable(UNREACHABLE_CODE.PORT, datagram);
    expect(m).toBeDefined();
    const decoded = valueOf(decodeIcmp(encodeIcmp(m!)));
    if (decoded.kind !== 'destination-unreachable') throw new Error(decoded.kind);
    expect(decoded.original.length).toBe(28);
    expect(toHex(decoded.original.subarray(20))).toBe('cf08003500253298');
    expect(decodeIpv4(decoded.original).ok).toBe(false); // a quote, not a datagram
  });

  it('time exceeded in transit, and nothing for garbage', () => {
    const datagram = encodeIpv4({
      header: { dscp: 0, ecn: 0, id: 1, dontFragment: false, moreFragments: false, fragmentOffset: 0, ttl: 1, protocol: IP_PROTOCOL.UDP, src: parseIpv4('10.0.0.1'), dst: parseIpv4('10.9.9.9'), options: new Uint8Array(0) },
      payload: new Uint8Array(3),
    });
    expect(timeExceeded(TIME_EXCEEDED_CODE.TTL, datagram)).toEqual({ kind: 'time-exceeded', code: 0, original: datagram });
    expect(timeExceeded(TIME_EXCEEDED_CODE.TTL, new Uint8Array(10))).toBeUndefined();
    expect(destinationUnreachable(UNREACHABLE_CODE.HOST, new Uint8Array(30))).toBeUndefined();
  });
});
