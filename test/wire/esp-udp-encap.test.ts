import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeUdpEncap, encodeEspInUdp, encodeNatKeepalive, encodeNonEsp, encodeUdpEncap, type UdpEncapPayload } from '../../src/wire/udp-encap.js';
import { hex, reasonOf, toHex, valueOf } from './arbitraries.js';

const arbEsp = fc.uint8Array({ minLength: 8, maxLength: 200 }).filter((b) => (b[0]! | b[1]! | b[2]! | b[3]!) !== 0);
const arbPayload: fc.Arbitrary<UdpEncapPayload> = fc.oneof(
  fc.constant<UdpEncapPayload>({ kind: 'keepalive' }),
  fc.uint8Array({ maxLength: 200 }).map((message): UdpEncapPayload => ({ kind: 'ike', message })),
  arbEsp.map((packet): UdpEncapPayload => ({ kind: 'esp', packet })),
);

describe('UDP encapsulation on port 4500 (RFC 3948)', () => {
  it('tells keepalive, IKE (marker stripped) and ESP apart', () => {
    expect(valueOf(decodeUdpEncap(hex('ff')))).toEqual({ kind: 'keepalive' });
    expect(valueOf(decodeUdpEncap(hex('00000000 2a2b')))).toEqual({ kind: 'ike', message: hex('2a2b') });
    expect(valueOf(decodeUdpEncap(hex('00000100 00000001 99')))).toEqual({ kind: 'esp', packet: hex('00000100 00000001 99') });
    expect(toHex(encodeNatKeepalive())).toBe('ff');
    expect(toHex(encodeNonEsp(hex('2a')))).toBe('000000002a');
  });

  it('round-trips every kind', () => {
    fc.assert(
      fc.property(arbPayload, (p) => {
        expect(valueOf(decodeUdpEncap(encodeUdpEncap(p)))).toEqual(p);
      }),
    );
  });

  it('reports short and odd payloads as typed errors, never throwing', () => {
    expect(reasonOf(decodeUdpEncap(new Uint8Array(0)))).toBe('truncated');
    expect(reasonOf(decodeUdpEncap(hex('fe')))).toBe('bad-value');
    expect(reasonOf(decodeUdpEncap(hex('ffff')))).toBe('truncated');
    expect(reasonOf(decodeUdpEncap(hex('00000001 0000')))).toBe('truncated');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 12 }), (b) => {
        const r = decodeUdpEncap(b);
        if (r.ok) expect(encodeUdpEncap(r.value)).toEqual(b);
      }),
    );
  });

  it('refuses to encode ESP that would read as a marker', () => {
    expect(() => encodeEspInUdp(new Uint8Array(8))).toThrow(RangeError);
    expect(() => encodeEspInUdp(hex('01'))).toThrow(RangeError);
  });
});
