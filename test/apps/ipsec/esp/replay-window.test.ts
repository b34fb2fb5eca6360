import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ReplayWindow } from '../../../../src/apps/ipsec/esp/replay-window.js';

const SUBSPACE = 2 ** 32;

/** The window rule written plainly: a set of accepted numbers and its maximum. */
class ReferenceWindow {
  readonly accepted = new Set<number>();
  top = 0;
  constructor(readonly size: number) {}
  /** What must happen to a packet whose true sequence number is s. */
  expect(s: number): 'accept' | 'replayed' | 'outside-window' {
    if (s <= 0 || s <= this.top - this.size) return 'outside-window';
    return this.accepted.has(s) ? 'replayed' : 'accept';
  }
  accept(s: number): void {
    this.accepted.add(s);
    this.top = Math.max(this.top, s);
  }
}

interface Step {
  /** Offset from the reference's current top. */
  delta: number;
  /** The ICV fails: checked, never updated. */
  forged: boolean;
}

function arbStep(size: number): fc.Arbitrary<Step> {
  const delta = fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: 1, max: 3 }) },
    { weight: 4, arbitrary: fc.integer({ min: -(size - 1), max: 0 }) },
    { weight: 2, arbitrary: fc.constantFrom(-size, -size + 1, -size - 1, size, size - 1, size + 1) },
    { weight: 2, arbitrary: fc.integer({ min: 1, max: size - 1 }) },
    { weight: 1, arbitrary: fc.integer({ min: -3 * size, max: 3 * size }) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 2 ** 31 }) },
  );
  return fc.record({ delta, forged: fc.boolean() });
}

function run(esn: boolean, size: number, start: number, steps: Step[]): void {
  const w = new ReplayWindow(esn, size);
  const ref = new ReferenceWindow(size);
  // bring both to `start` with authentic packets, at most 2^31 apart as a live sender would be, so runs can begin near 2^32
  for (let s = 0; s < start; ) {
    s = Math.min(start, s + 2 ** 31);
    expect(w.check(s % SUBSPACE)).toBe(s);
    w.update(s);
    ref.accept(s);
  }
  for (const { delta, forged } of steps) {
    const s = ref.top + delta;
    if (!esn && s >= SUBSPACE) continue; // a 32-bit sender never gets there
    if (s < 0) continue;
    const got = w.check(s % SUBSPACE);
    expect(w.check(s % SUBSPACE)).toBe(got); // check changes nothing
    const want = ref.expect(s);
    if (want === 'accept') expect(got).toBe(s);
    else if (want === 'replayed') expect(got).toBe('replayed');
    else if (esn && typeof got === 'number') {
      // too old to tell from the next subspace (Appendix A2.2): inferred elsewhere, so its ICV fails
      expect(got).not.toBe(s);
      expect(got).toBeGreaterThan(ref.top);
      continue;
    } else expect(got).toBe('outside-window');
    if (want === 'accept' && !forged) {
      w.update(s);
      ref.accept(s);
    }
    expect(w.highest).toBe(ref.top);
  }
}

describe('anti-replay window (RFC 4303 §3.4.3, Appendix A)', () => {
  const sizes = fc.constantFrom(1024, 2048, 4096);

  it('matches the reference model with 32-bit sequence numbers', () => {
    fc.assert(
      fc.property(sizes, fc.oneof(fc.constant(0), fc.integer({ min: 1, max: SUBSPACE - 1 })), fc.array(arbStep(1024), { maxLength: 200 }), (size, start, steps) => {
        run(false, size, start, steps);
      }),
      { numRuns: 300 },
    );
  });

  it('matches the reference model with ESN, across the 2^32 boundary', () => {
    const start = fc.oneof(
      fc.constant(0),
      fc.integer({ min: SUBSPACE - 5000, max: SUBSPACE + 5000 }),
      fc.integer({ min: 3 * SUBSPACE - 5000, max: 3 * SUBSPACE - 1 }),
      fc.integer({ min: 1, max: 2 ** 40 }),
    );
    fc.assert(
      fc.property(sizes, start, fc.array(arbStep(1024), { maxLength: 200 }), (size, s0, steps) => {
        run(true, size, s0, steps);
      }),
      { numRuns: 300 },
    );
  });

  it('infers the high bits on both sides of a wrap (Cases A and B)', () => {
    const w = new ReplayWindow(true, 1024);
    const t = SUBSPACE + 10; // Th = 1, Tl = 10 < W - 1: Case B
    w.update(w.check(SUBSPACE - 2000) as number);
    expect(w.check(t % SUBSPACE)).toBe(t);
    w.update(t);
    expect(w.check(0xffffff00)).toBe(SUBSPACE - 256); // Seql >= Bl: Th - 1
    expect(w.check(5)).toBe(SUBSPACE + 5); // Th
    expect(w.check(11)).toBe(SUBSPACE + 11);
    expect(w.check(0xfffffb00)).toBe(SUBSPACE + 0xfffffb00); // below Bl: ahead, in Th
    expect(w.check(10)).toBe('replayed');
    const a = new ReplayWindow(true, 1024);
    a.update(5000); // Case A: Th = 0, Tl = 5000
    expect(a.check(4000)).toBe(4000);
    expect(a.check(3977)).toBe(3977); // Bl = Tl - W + 1
    expect(a.check(3976)).toBe(SUBSPACE + 3976); // Seql < Bl: Th + 1
  });

  it('forgets a number once the window has moved a full turn past its bit', () => {
    for (const step of [1, 31, 32, 33, 500]) {
      const w = new ReplayWindow(false, 1024);
      for (let s = 1; s <= 64; s++) w.update(w.check(s) as number);
      for (let t = 64 + step; t <= 64 + 1024; t += step) w.update(w.check(t) as number);
      // every number from 65 to 64 + 1024 not sent shares a bit with one of 1..64 that was
      for (let s = 65; s <= 1024 + 64; s++) if ((s - 64) % step !== 0) expect(w.check(s)).toBe(s);
    }
  });

  it('refuses 0, numbers before the first subspace, and the bad sizes', () => {
    const w = new ReplayWindow(true, 1024);
    expect(w.check(0)).toBe('outside-window');
    expect(w.check(0xffffffff)).toBe('outside-window');
    expect(new ReplayWindow(false, 1024).check(0)).toBe('outside-window');
    expect(() => new ReplayWindow(false, 512)).toThrow(RangeError);
    expect(() => new ReplayWindow(false, 1025)).toThrow(RangeError);
    expect(new ReplayWindow(false).size).toBe(4096);
  });

  it('ignores an update for a number the window moved past between check and update', () => {
    const w = new ReplayWindow(false, 1024);
    const old = w.check(1) as number;
    w.update(w.check(5000) as number);
    w.update(old);
    expect(w.check(1)).toBe('outside-window');
    expect(w.check(4000)).toBe(4000);
    expect(w.highest).toBe(5000);
  });
});
