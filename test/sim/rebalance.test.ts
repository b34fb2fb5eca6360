/**
 * Scenario g: members join a running cluster; the 2 s rebalance evens the
 * loads within one unit in a bounded number of rounds and moves no more units
 * than necessary (and never a unit twice, nor through two owners at once).
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_TIMING } from '../../src/cluster/membership/config.js';
import { UNIT_COUNT } from '../../src/cluster/types.js';
import { loads } from '../../src/sim/invariants.js';
import { cluster, fixtures, masterOf, memberSpec, settle, spread, watchSafety } from './harness.js';

/** Fewest moves that take `current` loads to an even split when `joiners` empty members are added. */
function minimalMoves(current: readonly number[], joiners: number): number {
  const all = [...current, ...Array<number>(joiners).fill(0)].sort((a, b) => b - a);
  const base = Math.floor(UNIT_COUNT / all.length);
  const extra = UNIT_COUNT % all.length;
  // The most loaded members keep the extra units: that is what minimises moves.
  return all.reduce((sum, load, i) => sum + Math.max(0, load - (base + (i < extra ? 1 : 0))), 0);
}

describe('rebalancing after joins', () => {
  it.each([
    [2, 1],
    [3, 1],
    [3, 2],
    [4, 4],
  ])('from %i members, %i join: even within one unit after one round, minimal moves', async (start, joining) => {
    const fx = await fixtures();
    for (let seed = 1; seed <= 10; seed++) {
      const sim = cluster(fx, start, { seed });
      watchSafety(sim, () => true);
      settle(sim, 1000);
      sim.runFor(DEFAULT_TIMING.rebalanceMs + 500);
      expect(spread(loads(sim))).toBeLessThanOrEqual(1);
      const master = masterOf(sim);
      const movedBefore = master.core.status().counters['master.units-moved'] ?? 0;
      const expected = minimalMoves(loads(sim), joining);
      for (let i = start + 1; i <= start + joining; i++) sim.addMember(memberSpec(fx, i));
      settle(sim, 1000);
      const joinedAt = sim.now;
      const even = sim.runUntilTrue(() => sim.live().length === start + joining && spread(loads(sim)) <= 1, 2 * DEFAULT_TIMING.rebalanceMs + 500);
      expect(even).toBe(true);
      const rounds = Math.ceil((sim.now - joinedAt) / DEFAULT_TIMING.rebalanceMs);
      expect(rounds).toBeLessThanOrEqual(1);
      settle(sim, 1000);
      const moved = (master.core.status().counters['master.units-moved'] ?? 0) - movedBefore;
      expect(moved).toBe(expected);
      sim.runFor(2 * DEFAULT_TIMING.rebalanceMs);
      expect((master.core.status().counters['master.units-moved'] ?? 0) - movedBefore).toBe(expected);
    }
  });
});
