import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FALSE_ALARM_BUDGET, LossEstimator, MAX_N, MIN_N, chooseN, watchdogTimeout } from '../../src/cluster/keepalive.js';
import { SeededRandom } from '../../src/lib/random.js';
import { exactlyBelowBudget, referenceChooseN } from '../support/reference-models.js';

const probability = fc.double({ min: 0, max: 1, noNaN: true });

describe('chooseN', () => {
  it('picks the first n in 2..20 with n·p^n < 1/3600, as decided in exact arithmetic', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 2, noNaN: true }), (p) => {
        expect(chooseN(p)).toEqual(referenceChooseN(p));
      }),
      { seed: 1, numRuns: 20_000 },
    );
  });

  it('agrees with the exact rule across the whole interesting range of p', () => {
    for (let i = 0; i <= 2000; i++) {
      const p = i / 2000;
      expect(chooseN(p), `p = ${p}`).toEqual(referenceChooseN(p));
    }
  });

  it.each([
    // n=2: 2·0² = 0 < 1/3600.
    { p: 0, n: 2, satisfied: true },
    // n=2: 2·0.01² = 0.0002 < 1/3600 ≈ 0.000278.
    { p: 0.01, n: 2, satisfied: true },
    // 10% loss counted per delivered keepalive: p = 0.1/0.9 = 1/9.
    //   n=4: 4/9⁴ = 4/6561 ≈ 6.10e-4 ≥ 2.78e-4;  n=5: 5/9⁵ = 5/59049 ≈ 8.47e-5 < 2.78e-4.
    { p: 0.1 / 0.9, n: 5, satisfied: true },
    // 30% loss counted per delivered keepalive: p = 0.3/0.7 = 3/7 ≈ 0.428571, ln p ≈ −0.847298.
    //   n=12: 12·(3/7)¹² = 12·e^(−10.1676) ≈ 12·3.843e-5 ≈ 4.61e-4 ≥ 2.78e-4;
    //   n=13: 13·(3/7)¹³ = 13·e^(−11.0149) ≈ 13·1.647e-5 ≈ 2.14e-4 < 2.78e-4.
    { p: 0.3 / 0.7, n: 13, satisfied: true },
    // The rule is strict: here 9·p⁹ rounds to exactly 1/3600 in doubles (and is above it exactly), so n = 9 does
    // not qualify; 10·p¹⁰ = (10/9)·p · 9·p⁹ ≈ 0.35 · 1/3600 does.
    { p: 0.3153757760479954, n: 10, satisfied: true },
    // Every n·p^n ≥ 1 here: nothing qualifies, so 20 and an alarm.
    { p: 1, n: 20, satisfied: false },
    { p: 1.5, n: 20, satisfied: false },
  ])('p = $p → n = $n (satisfied: $satisfied)', ({ p, n, satisfied }) => {
    expect(chooseN(p)).toEqual({ n, satisfied });
    expect(referenceChooseN(p)).toEqual({ n, satisfied });
  });

  it('never returns an n outside 2..20', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 10, noNaN: true }), (p) => {
        const { n } = chooseN(p);
        expect(n).toBeGreaterThanOrEqual(MIN_N);
        expect(n).toBeLessThanOrEqual(MAX_N);
      }),
      { seed: 2, numRuns: 2000 },
    );
  });

  it('never lowers n, nor clears the alarm, as the loss estimate grows', () => {
    fc.assert(
      fc.property(probability, probability, (a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        expect(chooseN(lo).n).toBeLessThanOrEqual(chooseN(hi).n);
        if (chooseN(hi).satisfied) expect(chooseN(lo).satisfied).toBe(true);
      }),
      { seed: 3, numRuns: 10_000 },
    );
  });

  it('raises the alarm exactly where 20·p^20 reaches 1/3600 (p* ≈ 0.5717)', () => {
    // Bisect for the flip of `satisfied`: below p* the rule still holds (at n = 20), from p* on it does not.
    let lo = 0.5;
    let hi = 0.6;
    expect(chooseN(lo).satisfied).toBe(true);
    expect(chooseN(hi).satisfied).toBe(false);
    while (true) {
      const mid = (lo + hi) / 2;
      if (mid === lo || mid === hi) break;
      if (chooseN(mid).satisfied) lo = mid;
      else hi = mid;
    }
    // lo and hi are now adjacent doubles around p*.
    expect(chooseN(lo)).toEqual({ n: 20, satisfied: true });
    expect(chooseN(hi)).toEqual({ n: 20, satisfied: false });
    expect(20 * lo ** 20 * 3600).toBeCloseTo(1, 12);
    // ln(72000)/20 ≈ 0.559221, e^−0.559221 ≈ 0.571656.
    expect(lo).toBeCloseTo(Math.exp(-Math.log(72_000) / 20), 12);
    expect(lo).toBeCloseTo(0.5717, 4);
    // The exact rule flips between the same two doubles.
    expect(exactlyBelowBudget(lo, 20)).toBe(true);
    expect(exactlyBelowBudget(hi, 20)).toBe(false);
  });

  it('uses the patent budget of one false alarm per hour', () => {
    expect(FALSE_ALARM_BUDGET).toBe(1 / 3600);
    expect([MIN_N, MAX_N]).toEqual([2, 20]);
  });
});

/** Sequence numbers modulo 2^32, as a member sends them. */
const seqOf = (n: number): number => n >>> 0;

function estimatorAfter(seqs: readonly number[]): LossEstimator {
  const e = new LossEstimator();
  for (const s of seqs) e.observe(s);
  return e;
}

/** Strictly increasing sequence numbers with gaps of 1..maxGap from a random start (wrapping). */
const inOrderSeqs = (maxGap: number): fc.Arbitrary<number[]> =>
  fc
    .tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.array(fc.integer({ min: 1, max: maxGap }), { maxLength: 60 }))
    .map(([start, gaps]) => {
      const out = [start];
      let s = start;
      for (const g of gaps) out.push((s = seqOf(s + g)));
      return out;
    });

describe('LossEstimator', () => {
  it('starts at zero and stays there while no keepalive is lost', () => {
    const e = new LossEstimator();
    expect(e.estimate).toBe(0);
    for (let s = 1000; s < 6000; s++) e.observe(s);
    expect(e.estimate).toBe(0);
  });

  it('takes the first keepalive as the reference point, whatever its number', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (s) => {
        const e = estimatorAfter([s]);
        expect(e.estimate).toBe(0);
        e.observe(seqOf(s + 1));
        expect(e.estimate).toBe(0);
      }),
      { seed: 4, numRuns: 500 },
    );
  });

  it('decays the estimate by 127/128 and adds (gap − 1)/128 per received keepalive', () => {
    fc.assert(
      fc.property(inOrderSeqs(50), fc.integer({ min: 1, max: 100_000 }), (seqs, gap) => {
        const e = estimatorAfter(seqs);
        const before = e.estimate;
        e.observe(seqOf((seqs.at(-1) ?? 0) + gap));
        expect(e.estimate).toBe((before * 127) / 128 + (gap - 1) / 128);
      }),
      { seed: 5, numRuns: 2000 },
    );
  });

  it('adds exactly (k − 1)/128 for a gap of k from zero', () => {
    for (const k of [1, 2, 3, 10, 129]) {
      const e = estimatorAfter([7, 7 + k]);
      expect(e.estimate, `gap ${k}`).toBe((k - 1) / 128);
    }
  });

  it('ignores duplicates and keepalives older than the newest one seen', () => {
    fc.assert(
      fc.property(
        inOrderSeqs(5),
        fc.array(fc.integer({ min: 0, max: 0x7fffffff }), { minLength: 1, maxLength: 10 }),
        fc.integer({ min: 1, max: 5 }),
        (seqs, backs, nextGap) => {
          const last = seqs.at(-1) ?? 0;
          const clean = estimatorAfter(seqs);
          const noisy = estimatorAfter(seqs);
          // back = 0 is a duplicate of the newest; up to 2^31−1 behind is older.
          for (const back of backs) noisy.observe(seqOf(last - back));
          expect(noisy.estimate).toBe(clean.estimate);
          // And they leave the reference point alone: the next in-order keepalive counts the same gap.
          clean.observe(seqOf(last + nextGap));
          noisy.observe(seqOf(last + nextGap));
          expect(noisy.estimate).toBe(clean.estimate);
        },
      ),
      { seed: 6, numRuns: 2000 },
    );
  });

  it('counts a late keepalive neither as a loss undone nor as a new one', () => {
    const e = estimatorAfter([1, 2, 4]); // 3 is lost: 1/128
    expect(e.estimate).toBe(1 / 128);
    e.observe(3); // arrives late
    expect(e.estimate).toBe(1 / 128);
    e.observe(5);
    expect(e.estimate).toBe(((1 / 128) * 127) / 128);
  });

  it('treats the u32 wrap-around as consecutive numbers', () => {
    const e = estimatorAfter([0xfffffffe, 0xffffffff, 0, 1]);
    expect(e.estimate).toBe(0);
    e.observe(0xffffffff); // older than 1 across the wrap
    expect(e.estimate).toBe(0);

    const skip = estimatorAfter([0xffffffff, 1]); // 0 lost across the wrap
    expect(skip.estimate).toBe(1 / 128);
  });

  it.each([0.01, 0.1, 0.3])(
    'converges to lost-per-delivered p/(1−p) under %f Bernoulli loss',
    (p) => {
      const rng = new SeededRandom(Math.round(p * 1000));
      const e = new LossEstimator();
      const target = p / (1 - p);
      let received = 0;
      let sum = 0;
      let samples = 0;
      for (let seq = 0; seq < 100_000; seq++) {
        if (rng.float() < p) continue;
        e.observe(seq);
        // Skip the warm-up (the estimate starts at 0; 1/128 per step leaves e^−16 of it after 2048 steps).
        if (++received > 2048) {
          sum += e.estimate;
          samples++;
        }
      }
      // The single estimate fluctuates (its sd is about √(p/(1−p)²/255), e.g. ±60% of the mean for
      // p = 1%), so compare its time average, which has the mean of the loss per delivered keepalive.
      expect(Math.abs(sum / samples - target) / target).toBeLessThan(0.1);
      // And the last value is no outlier: within five of those standard deviations.
      const sd = Math.sqrt(p / (1 - p) ** 2 / 255);
      expect(Math.abs(e.estimate - target)).toBeLessThan(5 * sd);
    },
  );
});

describe('watchdogTimeout', () => {
  it.each([
    { w: 1000, n: 2, t: 1250 },
    { w: 1000, n: 4, t: 1125 },
    { w: 1000, n: 20, t: 1025 },
    { w: 3000, n: 5, t: 3300 },
    { w: 600, n: 13, t: 600 + 600 / 26 },
  ])('W = $w, n = $n → $t ms (the window plus half an interval)', ({ w, n, t }) => {
    expect(watchdogTimeout(w, n)).toBe(t);
  });

  it('lies above the window by half of one keepalive interval W/n', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 600_000 }), fc.integer({ min: MIN_N, max: MAX_N }), (w, n) => {
        const t = watchdogTimeout(w, n);
        expect(t).toBeGreaterThan(w);
        expect(t).toBeLessThanOrEqual(w * 1.25);
        expect(t - w).toBeCloseTo(w / n / 2, 6);
        if (n < MAX_N) expect(watchdogTimeout(w, n + 1)).toBeLessThan(t);
      }),
      { seed: 7, numRuns: 2000 },
    );
  });
});
