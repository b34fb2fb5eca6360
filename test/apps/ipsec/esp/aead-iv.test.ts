/**
 * The AEAD IV by construction (aead-iv.ts): two members sending on one SA
 * never produce the same IV, whatever their sequence numbers, in either
 * engine; and an SA stops before its counter would leave the IV's 48 bits.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IV_SEQUENCE_LIMIT, ivTagOf } from '../../../../src/apps/ipsec/esp/aead-iv.js';
import { OutboundEspSa } from '../../../../src/apps/ipsec/esp/sa.js';
import { parseIpv4 } from '../../../../src/lib/ipv4.js';
import { SeededRandom } from '../../../../src/lib/random.js';
import { transformSpec, type TransformName } from './support.js';

const AEAD: TransformName[] = ['aes-128-gcm-16', 'aes-256-gcm-16', 'chacha20-poly1305'];

/** `count` packets from an owner that resumes the SA after `last`; their IVs in hex. */
function ivs(name: TransformName, seed: number, tag: number, esn: boolean, last: number, count: number): string[] {
  const spec = transformSpec(name, new SeededRandom(seed));
  const sa = new OutboundEspSa(0, { spi: 0x1234, transform: spec, esn, random: new SeededRandom(seed + 1), lastSequence: last, ivTag: tag });
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const p = sa.encapsulate(0, new Uint8Array(20));
    if (typeof p === 'string') throw new Error(p);
    out.push(Buffer.from(p.subarray(8, 16)).toString('hex'));
  }
  return out;
}

describe('AEAD IVs: unique per key by construction', () => {
  it('two owners of one SA (the same key) with overlapping sequence numbers never send the same IV', () => {
    const last = (esn: boolean): fc.Arbitrary<number> => fc.integer({ min: 0, max: esn ? IV_SEQUENCE_LIMIT - 200 : 0xffffffff - 200 });
    fc.assert(
      fc.property(
        fc.constantFrom(...AEAD),
        fc.boolean().chain((esn) => fc.tuple(fc.constant(esn), last(esn), fc.integer({ min: 0, max: 50 }))),
        fc.integer({ min: 0, max: 0xffff }),
        fc.integer({ min: 1, max: 0xffff }),
        fc.integer({ min: 1, max: 1000 }),
        (name, [esn, lastA, overlap], tagA, delta, seed) => {
          const tagB = (tagA + delta) & 0xffff;
          const a = ivs(name, seed, tagA, esn, lastA, 60);
          // B resumes inside A's range: the sequence numbers repeat, the IVs must not
          const b = ivs(name, seed, tagB, esn, lastA + overlap, 60);
          expect(new Set(a).size).toBe(a.length);
          const seen = new Set(a);
          expect(b.filter((iv) => seen.has(iv))).toEqual([]);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('the IV is the tag and the low 48 bits of the sequence number', () => {
    const [iv] = ivs('aes-128-gcm-16', 5, 0xbeef, true, 0x1_2345_6788, 1);
    expect(iv).toBe('beef000123456789');
  });

  it('an ESN SA refuses to go past 2^48 - 1, where the IV would repeat', () => {
    const spec = transformSpec('aes-256-gcm-16', new SeededRandom(2));
    const sa = new OutboundEspSa(0, { spi: 1, transform: spec, esn: true, random: new SeededRandom(3), lastSequence: IV_SEQUENCE_LIMIT - 1, ivTag: 7 });
    expect(typeof sa.encapsulate(0, new Uint8Array(20))).not.toBe('string');
    expect(sa.encapsulate(0, new Uint8Array(20))).toBe('sequence-exhausted');
  });

  it('the tag is the low 16 bits of the member address', () => {
    expect(ivTagOf(parseIpv4('198.18.0.11'))).toBe((0 << 8) | 11);
    expect(ivTagOf(parseIpv4('198.19.4.2'))).toBe((4 << 8) | 2);
  });
});
