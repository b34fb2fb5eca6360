/** Builders shared by the fragmentation and reassembly tests. */
import fc from 'fast-check';
import { encodeIpv4, IP_PROTOCOL, type Ipv4Header } from '../../../src/wire/ipv4.js';
import { arbIpv4Header, arbWellFormedOptions } from '../../wire/arbitraries.js';

export const SRC = 0x0a000001;
export const DST = 0x0a000002;

export function header(overrides: Partial<Ipv4Header> = {}): Ipv4Header {
  return {
    dscp: 0,
    ecn: 0,
    id: 7,
    dontFragment: false,
    moreFragments: false,
    fragmentOffset: 0,
    ttl: 64,
    protocol: IP_PROTOCOL.UDP,
    src: SRC,
    dst: DST,
    options: new Uint8Array(0),
    ...overrides,
  };
}

/** One fragment: data at byte offset `at` (a multiple of 8), MF as given. */
export function frag(at: number, data: Uint8Array | number, more: boolean, overrides: Partial<Ipv4Header> = {}): Uint8Array {
  const payload = typeof data === 'number' ? Uint8Array.from({ length: data }, (_, i) => (at + i) & 0xff) : data;
  return encodeIpv4({ header: header({ fragmentOffset: at / 8, moreFragments: more, ...overrides }), payload });
}

/** A whole datagram that may be fragmented: DF clear, MF clear, offset 0, well-formed options. */
export function arbWholeDatagram(maxPayload: number): fc.Arbitrary<Uint8Array> {
  return fc
    .record({
      header: arbIpv4Header(arbWellFormedOptions).map((h) => ({ ...h, dontFragment: false, moreFragments: false, fragmentOffset: 0 })),
      payload: fc.uint8Array({ maxLength: maxPayload }),
    })
    .map((d) => encodeIpv4(d));
}

export const arbMtu = fc.oneof(fc.integer({ min: 68, max: 200 }), fc.integer({ min: 200, max: 1500 }), fc.constantFrom(68, 576, 1280, 1500));

/** Option bytes with the copied flag, walked independently of src/: EOL ends, NOP is one byte, the rest type|length|body. */
export function expectedCopied(options: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < options.length; ) {
    const type = options[i]!;
    if (type === 0) break;
    if (type === 1) {
      i++;
      continue;
    }
    const length = options[i + 1]!;
    if (type & 0x80) out.push(...options.subarray(i, i + length));
    i += length;
  }
  while (out.length % 4 !== 0) out.push(0);
  return out;
}
