/**
 * fast-check arbitraries and small helpers for the link/network codec tests
 * (test/wire, test/stack). Everything generated is valid: codecs must
 * round-trip it exactly.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import { DecodeError, type Decoded, type DecodeFailure } from '../../src/wire/decode-error.js';
import type { Ipv4Datagram, Ipv4Header } from '../../src/wire/ipv4.js';

export const arbU8 = fc.integer({ min: 0, max: 0xff });
export const arbU16 = fc.integer({ min: 0, max: 0xffff });
export const arbU32 = fc.integer({ min: 0, max: 0xffffffff });
export const arbMac = fc.uint8Array({ minLength: 6, maxLength: 6 });
export const arbAddress = arbU32;

/** Raw option bytes: any content, a multiple of 4 up to 40 (the codec keeps options opaque). */
export const arbRawOptions = fc.integer({ min: 0, max: 10 }).chain((words) => fc.uint8Array({ minLength: words * 4, maxLength: words * 4 }));

/** One well-formed option: [type, length, ...body]; types mix copied (bit 7) and not copied. */
const arbOption: fc.Arbitrary<number[]> = fc.oneof(
  fc.constant<number[]>([1]),
  fc
    .tuple(fc.constantFrom(0x07, 0x44, 0x83, 0x88, 0x89, 0x94), fc.array(arbU8, { maxLength: 6 }))
    .map(([type, body]) => [type, body.length + 2, ...body]),
);

/** A parseable option list padded with End-of-Options to a multiple of 4, at most 40 bytes. */
export const arbWellFormedOptions: fc.Arbitrary<Uint8Array> = fc.array(arbOption, { maxLength: 6 }).map((options) => {
  const flat: number[] = [];
  for (const o of options) if (flat.length + o.length <= 40) flat.push(...o);
  while (flat.length % 4 !== 0) flat.push(0);
  return Uint8Array.from(flat);
});

export function arbIpv4Header(options: fc.Arbitrary<Uint8Array> = arbRawOptions): fc.Arbitrary<Ipv4Header> {
  return fc.record({
    dscp: fc.integer({ min: 0, max: 63 }),
    ecn: fc.integer({ min: 0, max: 3 }),
    id: arbU16,
    dontFragment: fc.boolean(),
    moreFragments: fc.boolean(),
    fragmentOffset: fc.integer({ min: 0, max: 0x1fff }),
    ttl: arbU8,
    protocol: arbU8,
    src: arbAddress,
    dst: arbAddress,
    options,
  });
}

export const arbIpv4Datagram: fc.Arbitrary<Ipv4Datagram> = fc.record({
  header: arbIpv4Header(),
  payload: fc.uint8Array({ maxLength: 600 }),
});

export function hex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, '');
  return Uint8Array.from(clean.match(/../g) ?? [], (h) => parseInt(h, 16));
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** The failure reason of a decode result, or 'ok'; also checks the failure is a DecodeError value. */
export function reasonOf<T>(d: Decoded<T>): DecodeFailure | 'ok' {
  if (d.ok) return 'ok';
  expect(d.error).toBeInstanceOf(DecodeError);
  return d.error.reason;
}

export function valueOf<T>(d: Decoded<T>): T {
  if (!d.ok) throw new Error(`expected a value, got ${d.error.message}`);
  return d.value;
}

/** Flips one bit of a copy of `bytes`. */
export function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const out = bytes.slice();
  const at = Math.floor(bit / 8) % out.length;
  out[at] = out[at]! ^ (1 << bit % 8);
  return out;
}
