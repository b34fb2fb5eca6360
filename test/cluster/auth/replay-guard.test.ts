import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { REPLAY_WINDOW, ReplayGuard, isFreshTimestamp } from '../../../src/cluster/auth/replay-guard.js';

/** The receive path as the protocol uses it: check, (authenticate), record. */
function accept(g: ReplayGuard, sender: number, inc: number, seq: number): boolean {
  if (g.check(sender, inc, seq) !== 'fresh') return false;
  g.record(sender, inc, seq);
  return true;
}

describe('ReplayGuard', () => {
  it('accepts a first message, refuses it again', () => {
    const g = new ReplayGuard();
    expect(g.check(1, 100, 0)).toBe('fresh');
    expect(g.check(1, 100, 0)).toBe('fresh'); // check alone records nothing
    g.record(1, 100, 0);
    expect(g.check(1, 100, 0)).toBe('replayed');
    expect(g.check(2, 100, 0)).toBe('fresh'); // senders are separate
  });

  it('accepts reordering within the window, refuses what fell out of it', () => {
    const g = new ReplayGuard();
    expect(accept(g, 1, 1, 10)).toBe(true);
    expect(accept(g, 1, 1, 5)).toBe(true);
    expect(accept(g, 1, 1, 10 + REPLAY_WINDOW - 1)).toBe(true);
    expect(accept(g, 1, 1, 9)).toBe(false); // now REPLAY_WINDOW behind the top
    expect(accept(g, 1, 1, 11)).toBe(true);
    expect(g.check(1, 1, 10)).toBe('replayed');
  });

  it("takes a 64-member master's burst in any order: a work order and a key update per member, then a keepalive", () => {
    // What one master sends in one instant when members fail in a cluster of 64: ~2 × 63 + 1 sequence numbers.
    const burst = Array.from({ length: 2 * 63 + 1 }, (_, k) => 1000 + k);
    const g = new ReplayGuard();
    const refused = [...burst].reverse().filter((seq) => !accept(g, 1, 1, seq));
    expect(refused).toEqual([]);
    expect(burst.filter((seq) => accept(g, 1, 1, seq))).toEqual([]); // and each once only
  });

  it('a newer incarnation resets the window; an older one is stale', () => {
    const g = new ReplayGuard();
    accept(g, 1, 1000, 500);
    expect(g.check(1, 2000, 0)).toBe('fresh');
    g.record(1, 2000, 0);
    expect(g.check(1, 1000, 501)).toBe('stale-incarnation');
    expect(g.check(1, 2000, 0)).toBe('replayed');
    expect(g.check(1, 2000, 1)).toBe('fresh');
    g.record(1, 1000, 600); // an older incarnation is not recorded either
    expect(g.check(1, 1000, 600)).toBe('stale-incarnation');
  });

  it('a jump beyond the window clears it', () => {
    const g = new ReplayGuard();
    accept(g, 1, 1, 0);
    accept(g, 1, 1, 1000);
    expect(g.check(1, 1, 999)).toBe('fresh');
    expect(g.check(1, 1, 1000)).toBe('replayed');
    expect(g.check(1, 1, 1000 - REPLAY_WINDOW)).toBe('replayed');
  });

  it('forget() drops a sender', () => {
    const g = new ReplayGuard();
    accept(g, 1, 1, 1);
    g.forget(1);
    expect(g.check(1, 1, 1)).toBe('fresh');
  });

  it('refuses sequence numbers that are not non-negative integers', () => {
    const g = new ReplayGuard();
    expect(g.check(1, 1, -1)).toBe('replayed');
    expect(g.check(1, 1, 1.5)).toBe('replayed');
    expect(g.check(1, 1, Number.NaN)).toBe('replayed');
    g.record(1, 1, 1.5);
    expect(g.check(1, 1, 2)).toBe('fresh');
  });

  it('property: a message accepted once is never accepted again', () => {
    const msg = fc.record({ sender: fc.integer({ min: 1, max: 3 }), inc: fc.integer({ min: 1, max: 3 }), seq: fc.nat(200) });
    fc.assert(
      fc.property(fc.array(msg, { maxLength: 300 }), (msgs) => {
        const g = new ReplayGuard();
        const accepted = new Set<string>();
        for (const m of msgs) {
          const id = `${m.sender}/${m.inc}/${m.seq}`;
          const ok = accept(g, m.sender, m.inc, m.seq);
          if (ok) expect(accepted.has(id)).toBe(false);
          if (ok) accepted.add(id);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('property: agrees with a set-based model of the rules', () => {
    const msg = fc.record({ inc: fc.integer({ min: 1, max: 3 }), seq: fc.nat(300) });
    fc.assert(
      fc.property(fc.array(msg, { maxLength: 300 }), (msgs) => {
        const g = new ReplayGuard();
        let model: { inc: number; top: number; seen: Set<number> } | undefined;
        for (const m of msgs) {
          let expected: string;
          if (model === undefined || m.inc > model.inc) expected = 'fresh';
          else if (m.inc < model.inc) expected = 'stale-incarnation';
          else if (m.seq > model.top) expected = 'fresh';
          else expected = model.top - m.seq >= REPLAY_WINDOW || model.seen.has(m.seq) ? 'replayed' : 'fresh';
          expect(g.check(9, m.inc, m.seq)).toBe(expected);
          if (expected !== 'fresh') continue;
          g.record(9, m.inc, m.seq);
          if (model === undefined || m.inc > model.inc) model = { inc: m.inc, top: m.seq, seen: new Set([m.seq]) };
          else {
            model.top = Math.max(model.top, m.seq);
            model.seen.add(m.seq);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it('property: any reordering of messages spanning less than the window is accepted in full', () => {
    fc.assert(
      fc.property(fc.nat(1_000_000), fc.integer({ min: 1, max: REPLAY_WINDOW }), fc.infiniteStream(fc.nat()), (base, n, rnd) => {
        const seqs = Array.from({ length: n }, (_, i) => base + i);
        // Fisher-Yates with fast-check's stream, so failures shrink and replay.
        const draws = rnd[Symbol.iterator]();
        for (let i = seqs.length - 1; i > 0; i--) {
          const j = (draws.next().value ?? 0) % (i + 1);
          const tmp = seqs[i] ?? 0;
          seqs[i] = seqs[j] ?? 0;
          seqs[j] = tmp;
        }
        const g = new ReplayGuard();
        for (const s of seqs) expect(accept(g, 7, 1, s)).toBe(true);
        for (const s of seqs) expect(g.check(7, 1, s)).toBe('replayed');
      }),
      { numRuns: 300 },
    );
  });
});

describe('isFreshTimestamp', () => {
  const now = Date.UTC(2026, 10, 28);
  it('accepts within the skew either way, refuses outside it and non-finite values', () => {
    expect(isFreshTimestamp(now, now)).toBe(true);
    expect(isFreshTimestamp(now - 30_000, now)).toBe(true);
    expect(isFreshTimestamp(now + 30_000, now)).toBe(true);
    expect(isFreshTimestamp(now - 30_001, now)).toBe(false);
    expect(isFreshTimestamp(now + 30_001, now)).toBe(false);
    expect(isFreshTimestamp(now - 5_000, now, 1_000)).toBe(false);
    expect(isFreshTimestamp(Number.NaN, now)).toBe(false);
    expect(isFreshTimestamp(Number.POSITIVE_INFINITY, now)).toBe(false);
  });
});

describe('newest-only checks for signed messages', () => {
  it('refuses a never-seen seq inside the window once a newer one was recorded', () => {
    const g = new ReplayGuard();
    g.record(1, 100, 50);
    expect(g.check(1, 100, 40)).toBe('fresh');
    expect(g.check(1, 100, 40, true)).toBe('replayed');
    expect(g.check(1, 100, 51, true)).toBe('fresh');
    expect(g.check(1, 101, 1, true)).toBe('fresh');
  });
});
