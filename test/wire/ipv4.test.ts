import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatIpv4, parseIpv4 } from '../../src/lib/ipv4.js';
import { decodeEthernet } from '../../src/wire/ethernet.js';
import { decodeIpv4, decrementTtl, encodeIpv4, IP_PROTOCOL, isFragment, type Ipv4Datagram } from '../../src/wire/ipv4.js';
import { ipv4 as referenceIpv4 } from '../support/packets.js';
import { arbIpv4Datagram, flipBit, reasonOf, valueOf } from './arbitraries.js';
import { CLASSIC_IPV4_HEADER, ICMP_ECHO_FRAME, UDP_DNS_FRAME } from './captures.js';

const sample: Ipv4Datagram = {
  header: {
    dscp: 46,
    ecn: 1,
    id: 0x1234,
    dontFragment: true,
    moreFragments: false,
    fragmentOffset: 0,
    ttl: 64,
    protocol: IP_PROTOCOL.UDP,
    src: parseIpv4('10.0.0.1'),
    dst: parseIpv4('10.0.0.2'),
    options: Uint8Array.of(0x94, 0x04, 0x00, 0x00), // router alert
  },
  payload: Uint8Array.from({ length: 37 }, (_, i) => i),
};

describe('IPv4 header codec', () => {
  it('decodes a captured ICMP echo request field by field', () => {
    const d = valueOf(decodeIpv4(valueOf(decodeEthernet(ICMP_ECHO_FRAME)).payload));
    expect(d.header).toEqual({
      dscp: 0,
      ecn: 0,
      id: 0x4d2e,
      dontFragment: true,
      moreFragments: false,
      fragmentOffset: 0,
      ttl: 64,
      protocol: IP_PROTOCOL.ICMP,
      src: parseIpv4('10.0.0.1'),
      dst: parseIpv4('10.0.0.2'),
      options: new Uint8Array(0),
    });
    expect(d.payload.length).toBe(0x4c - 20);
    expect(d.payload[0]).toBe(8);
  });

  it('decodes a captured UDP datagram', () => {
    const d = valueOf(decodeIpv4(valueOf(decodeEthernet(UDP_DNS_FRAME)).payload));
    expect(formatIpv4(d.header.dst)).toBe('10.0.0.53');
    expect(d.header.protocol).toBe(IP_PROTOCOL.UDP);
    expect(d.header.dontFragment).toBe(false);
    expect(d.header.id).toBe(0x1c46);
    expect(d.payload.length).toBe(37);
  });

  it('accepts the classic header b861 and reports the missing payload as truncated', () => {
    expect(reasonOf(decodeIpv4(CLASSIC_IPV4_HEADER))).toBe('truncated');
    const whole = new Uint8Array(0x73);
    whole.set(CLASSIC_IPV4_HEADER);
    expect(valueOf(decodeIpv4(whole)).header.src).toBe(parseIpv4('192.168.0.1'));
  });

  it('encodes what an independent builder encodes', () => {
    const bytes = encodeIpv4({ ...sample, header: { ...sample.header, dscp: 0, ecn: 0, dontFragment: false } });
    const reference = referenceIpv4({ src: sample.header.src, dst: sample.header.dst, protocol: IP_PROTOCOL.UDP, payload: sample.payload, ttl: 64, id: 0x1234, options: sample.header.options });
    expect(bytes).toEqual(reference);
  });

  it('round-trips any datagram, options and all', () => {
    fc.assert(
      fc.property(arbIpv4Datagram, (d) => {
        expect(valueOf(decodeIpv4(encodeIpv4(d)))).toEqual(d);
      }),
      { numRuns: 500 },
    );
  });

  it('drops link padding after Total Length', () => {
    const bytes = encodeIpv4(sample);
    const padded = new Uint8Array(bytes.length + 9);
    padded.set(bytes);
    expect(valueOf(decodeIpv4(padded))).toEqual(sample);
  });

  it('is truncated at every shorter length', () => {
    fc.assert(
      fc.property(arbIpv4Datagram, fc.nat(), (d, cut) => {
        const bytes = encodeIpv4(d);
        expect(reasonOf(decodeIpv4(bytes.subarray(0, cut % bytes.length)))).toBe('truncated');
      }),
      { numRuns: 500 },
    );
  });

  it('refuses a wrong version, IHL < 5 and Total Length < header', () => {
    const bytes = encodeIpv4(sample);
    const patch = (at: number, v: number): Uint8Array => {
      const b = bytes.slice();
      b[at] = v;
      return b;
    };
    expect(reasonOf(decodeIpv4(patch(0, 0x66)))).toBe('bad-version');
    expect(reasonOf(decodeIpv4(patch(0, 0x44)))).toBe('bad-length');
    expect(reasonOf(decodeIpv4(patch(0, 0x40)))).toBe('bad-length');
    const short = bytes.slice();
    short[2] = 0;
    short[3] = 23; // below the 24-byte header
    expect(reasonOf(decodeIpv4(short))).toBe('bad-length');
  });

  it('catches any single-bit flip in the header fields as bad-checksum', () => {
    fc.assert(
      fc.property(arbIpv4Datagram, fc.nat(), (d, pick) => {
        const bytes = encodeIpv4(d);
        const headerLength = 20 + d.header.options.length;
        // byte 1 and bytes 4.. are neither version/IHL nor Total Length
        const positions = [1, ...Array.from({ length: headerLength - 4 }, (_, i) => i + 4)];
        const at = positions[pick % positions.length]!;
        expect(reasonOf(decodeIpv4(flipBit(bytes, at * 8 + (pick % 8))))).toBe('bad-checksum');
      }),
      { numRuns: 500 },
    );
  });

  it('never throws on random bytes or flipped datagrams', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), (bytes) => {
        reasonOf(decodeIpv4(bytes));
      }),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(arbIpv4Datagram, fc.nat(), (d, bit) => {
        reasonOf(decodeIpv4(flipBit(encodeIpv4(d), bit)));
      }),
      { numRuns: 500 },
    );
  });

  it('ignores the reserved flag on decode', () => {
    const bytes = encodeIpv4(sample);
    bytes[6] = bytes[6]! | 0x80;
    bytes[10] = 0;
    bytes[11] = 0;
    const sum = referenceChecksum(bytes.subarray(0, 24));
    bytes[10] = sum >>> 8;
    bytes[11] = sum & 0xff;
    expect(valueOf(decodeIpv4(bytes))).toEqual(sample);
  });

  it('refuses to encode fields that do not fit (programming errors)', () => {
    const bad = (h: Partial<Ipv4Datagram['header']>, payload = sample.payload): (() => Uint8Array) => () =>
      encodeIpv4({ header: { ...sample.header, ...h }, payload });
    expect(bad({ options: new Uint8Array(3) })).toThrow(RangeError);
    expect(bad({ options: new Uint8Array(44) })).toThrow(RangeError);
    expect(bad({ dscp: 64 })).toThrow(RangeError);
    expect(bad({ fragmentOffset: 0x2000 })).toThrow(RangeError);
    expect(bad({ src: 2 ** 32 })).toThrow(RangeError);
    expect(bad({}, new Uint8Array(65535 - 24 + 1))).toThrow(RangeError);
    expect(bad({}, new Uint8Array(65535 - 24))).not.toThrow();
  });

  it('tells fragments from whole datagrams', () => {
    expect(isFragment(sample.header)).toBe(false);
    expect(isFragment({ ...sample.header, moreFragments: true })).toBe(true);
    expect(isFragment({ ...sample.header, fragmentOffset: 1 })).toBe(true);
  });
});

function referenceChecksum(b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < b.length; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

describe('decrementTtl (forwarding, RFC 1624 incremental checksum)', () => {
  it('leaves a datagram that still decodes, with TTL - 1 and the checksum a fresh encode gives', () => {
    fc.assert(
      fc.property(arbIpv4Datagram.filter((d) => d.header.ttl > 1), (d) => {
        const bytes = encodeIpv4(d);
        expect(decrementTtl(bytes)).toBe(true);
        const after = valueOf(decodeIpv4(bytes));
        expect(after.header.ttl).toBe(d.header.ttl - 1);
        expect(bytes).toEqual(encodeIpv4({ ...d, header: { ...d.header, ttl: d.header.ttl - 1 } }));
      }),
      { numRuns: 500 },
    );
  });

  it('refuses, untouched, when the TTL would reach zero', () => {
    for (const ttl of [0, 1]) {
      const bytes = encodeIpv4({ ...sample, header: { ...sample.header, ttl } });
      const copy = bytes.slice();
      expect(decrementTtl(bytes)).toBe(false);
      expect(bytes).toEqual(copy);
    }
  });

  it('works on a view into a larger buffer (the frame)', () => {
    const frame = ICMP_ECHO_FRAME.slice();
    const packet = frame.subarray(14);
    expect(decrementTtl(packet)).toBe(true);
    expect(valueOf(decodeIpv4(valueOf(decodeEthernet(frame)).payload)).header.ttl).toBe(63);
  });
});
