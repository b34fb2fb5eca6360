/**
 * Scenarios b and c: a member or the master is SIGKILLed.
 * b: a new master within W plus the election time, and no surviving member's unit changes owner.
 * c: the dead member's units are served again within one watchdog period; after rebalancing loads differ by ≤ 1.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_TIMING } from '../../src/cluster/membership/config.js';
import { watchdogTimeout } from '../../src/cluster/keepalive.js';
import { loads } from '../../src/sim/invariants.js';
import { cluster, fixtures, masterOf, settle, spread, watchSafety } from './harness.js';

const W = DEFAULT_TIMING.watchdogMs;
const N_LOSSLESS = 2; // n on a lossless network
// Detection (W + W/2n) + the join timeout with full jitter + the offer + a few network hops.
const ELECTION_BOUND_MS = watchdogTimeout(W, N_LOSSLESS) + 1.5 * DEFAULT_TIMING.joinTimeoutMs + DEFAULT_TIMING.offerTimeoutMs + 10;
const REASSIGN_BOUND_MS = watchdogTimeout(W, N_LOSSLESS) + 10;

describe('master failure', () => {
  it('elects a new master in time and moves no surviving member’s units, over 30 seeds', async () => {
    const fx = await fixtures();
    let worstElection = 0;
    let worstRestore = 0;
    for (let seed = 1; seed <= 30; seed++) {
      const sim = cluster(fx, 4, { seed });
      watchSafety(sim, () => true);
      settle(sim, 1000);
      sim.runFor(2500); // first rebalance done
      const old = masterOf(sim);
      const before = new Map(sim.live().filter((n) => n !== old).map((n) => [n.id, new Set(n.core.servedUnits())]));
      const orphans = old.core.servedUnits();
      const killedAt = sim.now;
      sim.kill(old.id);
      const lostBySurvivor: number[] = [];
      for (const n of sim.live()) {
        const original = n.demo.unitsLost.bind(n.demo);
        n.demo.unitsLost = (units) => {
          lostBySurvivor.push(...units.filter((u) => before.get(n.id)?.has(u)));
          original(units);
        };
      }
      const elected = sim.runUntilTrue(() => sim.masters().length === 1, ELECTION_BOUND_MS);
      expect(elected).toBe(true);
      worstElection = Math.max(worstElection, sim.now - killedAt);
      sim.runUntilTrue(() => orphans.every((u) => sim.tracker.serversOf(u).length === 1), 2000);
      worstRestore = Math.max(worstRestore, sim.now - killedAt);
      settle(sim, 2000);
      expect(lostBySurvivor).toEqual([]);
      for (const [id, units] of before) {
        const now = new Set(sim.nodes.get(id)?.core.servedUnits());
        for (const u of units) expect(now.has(u)).toBe(true);
      }
    }
    console.log(
      `master failure: new master within ${worstElection.toFixed(0)} ms (bound ${ELECTION_BOUND_MS.toFixed(0)} ms); ` +
        `its units served again within ${worstRestore.toFixed(0)} ms`,
    );
  });
});

describe('member failure', () => {
  it('reassigns a dead member’s units within the watchdog and evens the loads, over 30 seeds', async () => {
    const fx = await fixtures();
    let worst = 0;
    for (let seed = 1; seed <= 30; seed++) {
      const sim = cluster(fx, 4, { seed });
      watchSafety(sim, () => true);
      settle(sim, 1000);
      sim.runFor(2500);
      const master = masterOf(sim);
      const victim = sim.live().find((n) => n !== master);
      if (!victim) throw new Error('no member to kill');
      const units = victim.core.servedUnits();
      const killedAt = sim.now;
      sim.kill(victim.id);
      const ok = sim.runUntilTrue(() => units.every((u) => sim.tracker.serversOf(u).length === 1), REASSIGN_BOUND_MS);
      expect(ok).toBe(true);
      worst = Math.max(worst, sim.now - killedAt);
      settle(sim, 1000);
      sim.runFor(DEFAULT_TIMING.rebalanceMs + 100);
      expect(spread(loads(sim))).toBeLessThanOrEqual(1);
      // The survivors stayed members throughout: the new cluster key reached them
      // before it was used, so none lost its master and rejoined.
      for (const n of sim.live()) expect(n.roles.filter((r) => r.at > killedAt)).toEqual([]);
    }
    console.log(`member failure: units reassigned within ${worst.toFixed(0)} ms (bound ${REASSIGN_BOUND_MS.toFixed(0)} ms)`);
  });
});
