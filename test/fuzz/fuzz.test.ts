/**
 * The short fuzz pass that `npm test` runs: every target of `npm run fuzz`
 * (each parser in src/wire/, each control message type, the IKE handler)
 * with SHORT_INPUTS seeded mutated inputs. Only typed decode errors, never
 * another exception, and what decodes round-trips; a finding prints the
 * input in hex. The million-input pass and its figures: bench/README.md.
 */
import { describe, expect, it } from 'vitest';
import { DecodeError, decodeSafely } from '../../src/wire/decode-error.js';
import { SeededRandom } from '../../src/lib/random.js';
import { fuzzInput } from '../support/fuzz/mutator.js';
import { allTargets, fuzzTarget } from '../support/fuzz/run.js';
import { checkRefusal } from '../support/fuzz/target.js';

const SHORT_INPUTS = Number(process.env['SHOAL_FUZZ_INPUTS'] ?? 3000);
const SEED = 20261208;

describe('fuzz pass, short (npm run fuzz runs 1,000,000 per target)', () => {
  for (const target of allTargets()) {
    it(`${target.name}: ${SHORT_INPUTS} mutated inputs, only typed refusals, round trips hold`, async () => {
      const r = await fuzzTarget(target, SHORT_INPUTS, SEED);
      expect(r.finding?.message ?? null).toBeNull();
      expect(r.inputs).toBe(SHORT_INPUTS);
    });
  }
});

describe('the fuzz harness itself', () => {
  it('tells a decoder bug that decodeSafely caught from a typed refusal', () => {
    const bug = decodeSafely(() => {
      throw new TypeError('undefined is not an object');
    });
    const typed = decodeSafely(() => {
      throw new DecodeError('truncated', 'two bytes short');
    });
    if (bug.ok || typed.ok) throw new Error('both must refuse');
    expect(bug.error.reason).toBe('bad-value');
    expect(bug.error.cause).toBeInstanceOf(TypeError);
    expect(typed.error.cause).toBeUndefined();
    expect(() => checkRefusal('t', new Uint8Array(1), bug.error)).toThrow(/decoder bug/);
    expect(checkRefusal('t', new Uint8Array(1), typed.error)).toBe('refused');
    expect(() => checkRefusal('t', new Uint8Array(1), new RangeError('x'))).toThrow(/threw RangeError/);
  });

  it('mutates deterministically per seed and reaches oversized, truncated and random inputs', () => {
    const corpus = [Uint8Array.from({ length: 64 }, (_, i) => i)];
    const run = (seed: number): Uint8Array[] => {
      const rng = new SeededRandom(seed);
      return Array.from({ length: 2000 }, () => fuzzInput(rng, corpus));
    };
    const a = run(7);
    expect(run(7)).toEqual(a);
    expect(run(8)).not.toEqual(a);
    expect(a.some((x) => x.length > 1500)).toBe(true);
    expect(a.some((x) => x.length < 8)).toBe(true);
    expect(a.some((x) => x.length === 64 && x.some((b, i) => b !== i))).toBe(true);
  });
});
