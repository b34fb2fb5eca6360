import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checksumValid,
  foldSum,
  internetChecksum,
  onesSum,
  pseudoHeaderSum,
  updateChecksum,
} from '../../src/wire/checksum.js';
import { hex } from './arbitraries.js';

/** Obviously correct: byte pairs, end-around carry after every addition, odd byte padded with zero. */
function slowChecksum(bytes: readonly number[]): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) {
    sum += (bytes[i]! << 8) | (bytes[i + 1] ?? 0);
    if (sum > 0xffff) sum = (sum & 0xffff) + 1;
  }
  return ~sum & 0xffff;
}

function wordAt(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}

function setWord(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 8;
  b[at + 1] = v & 0xff;
}

describe('RFC 1071 internet checksum', () => {
  it('matches the RFC 1071 §3 numerical example (sum ddf2)', () => {
    const bytes = hex('0001 f203 f4f5 f6f7');
    expect(foldSum(onesSum(bytes))).toBe(0xddf2);
    expect(internetChecksum(bytes)).toBe(0x220d);
  });

  it('gives the well-known checksum b861 of a real IPv4 header', () => {
    const header = hex('4500 0073 0000 4000 4011 0000 c0a8 0001 c0a8 00c7');
    expect(internetChecksum(header)).toBe(0xb861);
    setWord(header, 10, 0xb861);
    expect(checksumValid(header)).toBe(true);
  });

  it('equals the slow reference on any bytes, ranges and odd lengths', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.nat(), fc.nat(), (bytes, a, b) => {
        const start = bytes.length === 0 ? 0 : a % (bytes.length + 1);
        const end = start + (bytes.length === 0 ? 0 : b % (bytes.length - start + 1));
        expect(internetChecksum(bytes, start, end)).toBe(slowChecksum(Array.from(bytes.subarray(start, end))));
      }),
      { numRuns: 1000 },
    );
  });

  it('chains ranges: an initial sum is the same as prefixing its bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }).map((b) => b.subarray(0, b.length & ~1)), fc.uint8Array({ maxLength: 200 }), (head, tail) => {
        const joined = new Uint8Array([...head, ...tail]);
        expect(internetChecksum(tail, 0, tail.length, onesSum(head))).toBe(internetChecksum(joined));
      }),
    );
  });

  it('a datagram carrying its checksum verifies, and any single-bit flip is caught', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 2, maxLength: 500 }), fc.nat(), fc.nat(), (raw, at, bit) => {
        const bytes = raw.slice();
        const field = (at % Math.floor(bytes.length / 2)) * 2;
        setWord(bytes, field, 0);
        setWord(bytes, field, internetChecksum(bytes));
        expect(checksumValid(bytes)).toBe(true);
        const flipped = bytes.slice();
        const i = bit % (bytes.length * 8);
        flipped[i >> 3] = flipped[i >> 3]! ^ (1 << (i & 7));
        expect(checksumValid(flipped)).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it('refuses ranges outside the buffer (programming error)', () => {
    expect(() => onesSum(new Uint8Array(4), 2, 6)).toThrow(RangeError);
    expect(() => onesSum(new Uint8Array(4), 3, 2)).toThrow(RangeError);
  });

  it('folds sums far beyond 32 bits', () => {
    expect(foldSum(0x1_0000_0000)).toBe(1);
    expect(foldSum(0xffff * 0x10000 + 0xffff)).toBe(0xffff);
  });
});

describe('pseudo-header (RFC 768)', () => {
  it('sums like the 12 bytes it stands for', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 0xffff }), (src, dst, proto, length) => {
        const b = new Uint8Array(12);
        const v = new DataView(b.buffer);
        v.setUint32(0, src);
        v.setUint32(4, dst);
        v.setUint8(9, proto);
        v.setUint16(10, length);
        expect(foldSum(pseudoHeaderSum(src, dst, proto, length))).toBe(foldSum(onesSum(b)));
      }),
    );
  });
});

describe('RFC 1624 incremental update', () => {
  it('reproduces the RFC 1624 §4 example (0xDD2F -> 0x0000, where RFC 1141 gave 0xFFFF)', () => {
    expect(updateChecksum(0xdd2f, 0x5555, 0x3285)).toBe(0x0000);
  });

  it('equals recomputation for any change of any word of an IPv4 header', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 20, maxLength: 20 }),
        fc.integer({ min: 1, max: 9 }).filter((w) => w !== 5),
        fc.integer({ min: 0, max: 0xffff }),
        (raw, word, next) => {
          const header = raw.slice();
          header[0] = 0x45;
          setWord(header, 10, 0);
          setWord(header, 10, internetChecksum(header));
          const old = wordAt(header, word * 2);
          const incremental = updateChecksum(wordAt(header, 10), old, next);
          setWord(header, word * 2, next);
          setWord(header, 10, 0);
          expect(incremental).toBe(internetChecksum(header));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('equals recomputation for a TTL decrement', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 20, maxLength: 20 }), fc.integer({ min: 1, max: 255 }), (raw, ttl) => {
        const header = raw.slice();
        header[0] = 0x45;
        header[8] = ttl;
        setWord(header, 10, 0);
        const before = internetChecksum(header);
        const word = wordAt(header, 8);
        header[8] = ttl - 1;
        expect(updateChecksum(before, word, wordAt(header, 8))).toBe(internetChecksum(header));
      }),
    );
  });
});
