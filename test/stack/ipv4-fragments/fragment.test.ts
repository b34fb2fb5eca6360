import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { copiedOptions, fragment } from '../../../src/stack/ipv4-fragments.js';
import { decodeIpv4, encodeIpv4, type Ipv4Datagram } from '../../../src/wire/ipv4.js';
import { valueOf } from '../../wire/arbitraries.js';
import { arbMtu, arbWholeDatagram, expectedCopied, frag, header } from './fragment-support.js';

function fragmentsOf(packet: Uint8Array, mtu: number): Uint8Array[] {
  const r = fragment(packet, mtu);
  if (!r.ok) throw new Error(`refused: ${r.refusal}`);
  return r.fragments;
}

describe('fragment (RFC 791 §3.2)', () => {
  it('reproduces the classic split: 1480 data octets over MTU 576 -> 552 + 552 + 376 at offsets 0, 69, 138', () => {
    const original = frag(0, 1480, false);
    const parts = fragmentsOf(original, 576).map((f) => valueOf(decodeIpv4(f)));
    expect(parts.map((p) => p.payload.length)).toEqual([552, 552, 376]);
    expect(parts.map((p) => p.header.fragmentOffset)).toEqual([0, 69, 138]);
    expect(parts.map((p) => p.header.moreFragments)).toEqual([true, true, false]);
  });

  it('passes a datagram that fits through as it is', () => {
    const original = frag(0, 100, false, { dontFragment: true });
    const padded = new Uint8Array(original.length + 6);
    padded.set(original);
    expect(fragmentsOf(padded, 576)).toEqual([original]);
  });

  it('refuses a DF datagram that does not fit, naming the MTU for ICMP 3/4', () => {
    expect(fragment(frag(0, 1480, false, { dontFragment: true }), 1400)).toEqual({ ok: false, refusal: 'dont-fragment', mtu: 1400 });
  });

  it('refuses malformed datagrams and options as values', () => {
    const r = fragment(new Uint8Array(30), 576);
    expect(r.ok || r.refusal).toBe('malformed');
    const badOption = frag(0, 1000, false, { options: Uint8Array.of(0x83, 0x01, 0, 0) });
    const r2 = fragment(badOption, 576);
    expect(r2.ok || r2.refusal).toBe('malformed');
    const runsOff = frag(8184 * 8, 1000, false);
    const r3 = fragment(runsOff, 576);
    expect(r3.ok || r3.refusal).toBe('malformed');
  });

  it('treats an MTU below 68 as a programming error', () => {
    expect(() => fragment(frag(0, 100, false), 67)).toThrow(RangeError);
  });

  it('makes fragments that fit, align on 8 octets, tile the data and carry only copied options after the first', () => {
    fc.assert(
      fc.property(arbWholeDatagram(3000), arbMtu, (packet, mtu) => {
        const original = valueOf(decodeIpv4(packet));
        const parts: Ipv4Datagram[] = fragmentsOf(packet, mtu).map((f) => {
          expect(f.length).toBeLessThanOrEqual(mtu);
          return valueOf(decodeIpv4(f));
        });
        let at = 0;
        parts.forEach((p, i) => {
          const last = i === parts.length - 1;
          expect(p.header.fragmentOffset * 8).toBe(at);
          expect(p.header.moreFragments).toBe(!last);
          expect(p.header.id).toBe(original.header.id);
          if (!last) expect(p.payload.length % 8).toBe(0);
          expect(Array.from(p.payload)).toEqual(Array.from(original.payload.subarray(at, at + p.payload.length)));
          expect(Array.from(p.header.options)).toEqual(i === 0 ? Array.from(original.header.options) : expectedCopied(original.header.options));
          at += p.payload.length;
        });
        expect(at).toBe(original.payload.length);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps the original offset and MF when fragmenting a fragment', () => {
    const middle = frag(1480, 1480, true);
    const parts = fragmentsOf(middle, 576).map((f) => valueOf(decodeIpv4(f)).header);
    expect(parts.map((h) => h.fragmentOffset)).toEqual([185, 254, 323]);
    expect(parts.every((h) => h.moreFragments)).toBe(true);
  });
});

describe('copiedOptions', () => {
  it('keeps exactly the options with the copied flag, padded to 32 bits', () => {
    const options = Uint8Array.of(0x01, 0x07, 0x07, 0x04, 0, 0, 0, 0, 0x83, 0x07, 0x04, 1, 2, 3, 4, 0x94, 0x04, 0, 0, 0);
    expect(Array.from(valueOf(copiedOptions(options)))).toEqual([0x83, 0x07, 0x04, 1, 2, 3, 4, 0x94, 0x04, 0, 0, 0]);
  });

  it('refuses option lists that run off the header or have lengths below 2', () => {
    expect(copiedOptions(Uint8Array.of(0x83, 0x08, 0, 0)).ok).toBe(false);
    expect(copiedOptions(Uint8Array.of(0x83, 0x00, 0, 0)).ok).toBe(false);
    expect(copiedOptions(Uint8Array.of(0x83)).ok).toBe(false);
  });

  it('stops at End-of-Options', () => {
    expect(Array.from(valueOf(copiedOptions(Uint8Array.of(0x00, 0x83, 0x09, 0))))).toEqual([]);
  });

  it('an unfragmented datagram with bad options still passes when it fits', () => {
    const packet = encodeIpv4({ header: header({ options: Uint8Array.of(0x83, 0x01, 0, 0) }), payload: new Uint8Array(10) });
    expect(fragmentsOf(packet, 576)).toEqual([packet]);
  });
});
