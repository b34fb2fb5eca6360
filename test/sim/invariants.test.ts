/** The invariant checks themselves must catch what they claim to catch. */
import { describe, expect, it } from 'vitest';
import { InvariantViolation, checkSafety, converged } from '../../src/sim/invariants.js';
import { cluster, fixtures, masterOf, settle } from './harness.js';

describe('invariant checks', () => {
  it('flag a unit served twice, and a member whose applications were not told', async () => {
    const fx = await fixtures();
    const sim = cluster(fx, 2, { seed: 1 });
    settle(sim, 1000);
    expect(() => checkSafety(sim, true, true)).not.toThrow();
    const a = masterOf(sim); // serves every unit until the first rebalance
    const b = sim.live().find((n) => n !== a);
    if (!b) throw new Error('two members expected');
    const unit = a.core.servedUnits()[0] ?? 0;
    sim.tracker.gained(sim.now, b.id, [unit]);
    expect(() => checkSafety(sim, true, true)).toThrow(InvariantViolation);
    sim.tracker.lost(sim.now, b.id, [unit]);
    a.demo.units.delete(unit);
    expect(() => checkSafety(sim, false, true)).toThrow(/told its apps/);
  });

  it('converged() names what is missing', async () => {
    const fx = await fixtures();
    const sim = cluster(fx, 3, { seed: 2 });
    settle(sim, 1000);
    expect(converged(sim).ok).toBe(true);
    sim.kill(masterOf(sim).id);
    expect(converged(sim)).toEqual({ ok: false, why: '0 masters' });
  });
});
