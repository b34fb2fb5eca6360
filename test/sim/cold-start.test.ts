/** Scenario a: members started together elect exactly one master and agree on the member list. */
import { describe, expect, it } from 'vitest';
import { cluster, fixtures, settle, watchSafety } from './harness.js';

// Worst case: the join timeout with full jitter (1.5 × 200 ms), the 100 ms offer,
// then the others' joins and the first assignments: one more join timeout is plenty.
const COLD_START_BOUND_MS = 800;

describe('cold start', () => {
  it.each([1, 2, 3, 4, 5, 6, 7, 8])('%i members elect one master within the bound, over 25 seeds', async (count) => {
    const fx = await fixtures();
    let worst = 0;
    for (let seed = 1; seed <= 25; seed++) {
      const sim = cluster(fx, count, { seed: seed * 100 + count });
      watchSafety(sim, () => true);
      const took = settle(sim, COLD_START_BOUND_MS);
      worst = Math.max(worst, took);
      const masters = sim.masters();
      expect(masters).toHaveLength(1);
      const ids = sim.live().map((n) => n.id).sort((a, b) => a - b);
      for (const n of sim.live()) expect(n.core.ctx.members).toEqual(ids);
    }
    console.log(`cold start of ${count}: converged in at most ${worst.toFixed(0)} ms (bound ${COLD_START_BOUND_MS} ms)`);
  });
});
