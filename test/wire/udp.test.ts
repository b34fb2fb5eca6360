import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseIpv4 } from '../../src/lib/ipv4.js';
import { internetChecksum, onesSum, pseudoHeaderSum } from '../../src/wire/checksum.js';
import { decodeEthernet } from '../../src/wire/ethernet.js';
import { decodeIpv4 } from '../../src/wire/ipv4.js';
import { decodeUdp, encodeUdp, UDP_MAX_PAYLOAD, type UdpDatagram } from '../../src/wire/udp.js';
import { arbAddress, arbU16, flipBit, reasonOf, toHex, valueOf } from './arbitraries.js';
import { UDP_DNS_FRAME } from './captures.js';

const arbUdp: fc.Arbitrary<UdpDatagram> = fc.record({ srcPort: arbU16, dstPort: arbU16, payload: fc.uint8Array({ maxLength: 600 }) });
const arbEndpoints = fc.record({ src: arbAddress, dst: arbAddress });

const dnsEndpoints = { src: parseIpv4('10.0.0.1'), dst: parseIpv4('10.0.0.53') };

function udpOf(frame: Uint8Array): Uint8Array {
  return valueOf(decodeIpv4(valueOf(decodeEthernet(frame)).payload)).payload;
}

describe('UDP codec (RFC 768)', () => {
  it('decodes a captured DNS query field by field, checksum verified', () => {
    const u = valueOf(decodeUdp(udpOf(UDP_DNS_FRAME), dnsEndpoints));
    expect(u.srcPort).toBe(53000);
    expect(u.dstPort).toBe(53);
    expect(u.checksummed).toBe(true);
    expect(u.payload.length).toBe(29);
    expect(new TextDecoder().decode(u.payload.subarray(13, 20))).toBe('example');
  });

  it('re-encodes the capture byte for byte', () => {
    const bytes = udpOf(UDP_DNS_FRAME);
    const u = valueOf(decodeUdp(bytes, dnsEndpoints));
    expect(toHex(encodeUdp(u, dnsEndpoints))).toBe(toHex(bytes));
  });

  it('reports the wrong pseudo-header (misrouted datagram) as bad-checksum', () => {
    expect(reasonOf(decodeUdp(udpOf(UDP_DNS_FRAME), { ...dnsEndpoints, dst: parseIpv4('10.0.0.54') }))).toBe('bad-checksum');
  });

  it('round-trips with and without a checksum', () => {
    fc.assert(
      fc.property(arbUdp, arbEndpoints, fc.boolean(), (d, endpoints, checksum) => {
        const bytes = encodeUdp(d, endpoints, { checksum });
        expect(valueOf(decodeUdp(bytes, endpoints))).toEqual({ ...d, checksummed: checksum });
      }),
      { numRuns: 500 },
    );
  });

  it('sends a computed zero as 0xFFFF, which verifies', () => {
    fc.assert(
      fc.property(arbUdp.filter((d) => d.payload.length >= 2), arbEndpoints, (d, endpoints) => {
        // choose the last two payload bytes so the checksum comes out as zero
        const payload = d.payload.slice();
        const last = payload.length - (payload.length % 2 === 0 ? 2 : 3);
        payload[last] = 0;
        payload[last + 1] = 0;
        const length = 8 + payload.length;
        const header = Uint8Array.of(d.srcPort >>> 8, d.srcPort & 0xff, d.dstPort >>> 8, d.dstPort & 0xff, length >>> 8, length & 0xff, 0, 0);
        const fill = internetChecksum(payload, 0, payload.length, onesSum(header, 0, 8, pseudoHeaderSum(endpoints.src, endpoints.dst, 17, length)));
        payload[last] = fill >>> 8;
        payload[last + 1] = fill & 0xff;
        const bytes = encodeUdp({ ...d, payload }, endpoints);
        expect(toHex(bytes.subarray(6, 8))).toBe('ffff');
        expect(valueOf(decodeUdp(bytes, endpoints)).checksummed).toBe(true);
      }),
    );
  });

  it('skips verification when the checksum is 0', () => {
    const bytes = encodeUdp({ srcPort: 1, dstPort: 2, payload: Uint8Array.of(1, 2, 3) }, dnsEndpoints, { checksum: false });
    expect(toHex(bytes.subarray(6, 8))).toBe('0000');
    expect(valueOf(decodeUdp(bytes, { src: 0, dst: 0 })).checksummed).toBe(false);
  });

  it('is truncated at every shorter length, bad-length below 8, and ignores bytes after Length', () => {
    fc.assert(
      fc.property(arbUdp, arbEndpoints, fc.nat(), (d, endpoints, cut) => {
        const bytes = encodeUdp(d, endpoints);
        expect(reasonOf(decodeUdp(bytes.subarray(0, cut % bytes.length), endpoints))).toBe('truncated');
        const longer = new Uint8Array(bytes.length + 5);
        longer.set(bytes);
        expect(valueOf(decodeUdp(longer, endpoints)).payload).toEqual(d.payload);
      }),
    );
    const bad = encodeUdp({ srcPort: 1, dstPort: 2, payload: new Uint8Array(4) }, dnsEndpoints, { checksum: false });
    bad[5] = 7;
    expect(reasonOf(decodeUdp(bad, dnsEndpoints))).toBe('bad-length');
  });

  it('catches any single-bit flip of ports or data; a flip in the checksum field is caught or turns it into "none"', () => {
    fc.assert(
      fc.property(arbUdp, arbEndpoints, fc.nat(), (d, endpoints, bit) => {
        const bytes = encodeUdp(d, endpoints);
        const at = Math.floor(bit / 8) % bytes.length;
        const r = decodeUdp(flipBit(bytes, bit), endpoints);
        if (at < 4 || at >= 8) expect(reasonOf(r)).toBe('bad-checksum');
        else if (at >= 6 && r.ok) expect(r.value.checksummed).toBe(false);
        else if (at >= 6) expect(reasonOf(r)).toBe('bad-checksum');
      }),
      { numRuns: 500 },
    );
  });

  it('never throws on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), arbEndpoints, (bytes, endpoints) => {
        reasonOf(decodeUdp(bytes, endpoints));
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses to encode what does not fit (programming errors)', () => {
    expect(() => encodeUdp({ srcPort: 65536, dstPort: 1, payload: new Uint8Array(0) }, dnsEndpoints)).toThrow(RangeError);
    expect(() => encodeUdp({ srcPort: 1, dstPort: 1, payload: new Uint8Array(UDP_MAX_PAYLOAD + 1) }, dnsEndpoints)).toThrow(RangeError);
  });
});
