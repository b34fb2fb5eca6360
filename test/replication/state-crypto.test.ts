import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { openState, sealState } from '../../src/cluster/membership/state-crypto.js';
import { SeededRandom } from '../../src/lib/random.js';

describe('StateSync payload encryption', () => {
  const key = new SeededRandom(1).bytes(32);
  const rng = new SeededRandom(2);

  it('opens what it sealed, and nothing else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 1, max: 255 }), fc.integer({ min: 0, max: 1023 }), fc.nat(), (plain, app, unit, seq) => {
        const sealed = sealState(key, rng, app, unit, seq, plain);
        expect(sealed.length).toBe(plain.length + 28);
        expect(openState(key, app, unit, seq, sealed)).toEqual(plain);
        // the associated data binds app, unit and sequence: a payload cannot be replayed elsewhere
        expect(openState(key, app, (unit + 1) % 1024, seq, sealed)).toBeNull();
        expect(openState(key, app, unit, seq + 1, sealed)).toBeNull();
        expect(openState(new Uint8Array(32), app, unit, seq, sealed)).toBeNull();
        const flipped = sealed.slice();
        flipped[flipped.length - 1]! ^= 1;
        expect(openState(key, app, unit, seq, flipped)).toBeNull();
      }),
      { numRuns: 100 },
    );
  });

  it('the plaintext does not appear in the payload', () => {
    const plain = new Uint8Array(64).fill(0x41);
    const sealed = sealState(key, rng, 1, 2, 3, plain);
    expect(Buffer.from(sealed).includes(Buffer.from(plain.subarray(0, 16)))).toBe(false);
  });

  it('short or random payloads are refused without throwing', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (junk) => {
      expect(openState(key, 1, 1, 1, junk)).toBeNull();
    }));
  });
});
