/**
 * `shoal cluster leave | join` in the simulated cluster (MemberCore.leave and
 * rejoin): the member that leaves stops serving at once and falls silent; the
 * others take its units over within a watchdog period (a leaving master is
 * replaced by an election); after rejoin it is a member again and gets units
 * back by the next rebalance. No unit is ever served twice.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_TIMING } from '../../src/cluster/membership/config.js';
import { watchdogTimeout } from '../../src/cluster/keepalive.js';
import { UNIT_COUNT } from '../../src/cluster/types.js';
import type { Action } from '../../src/cluster/membership/actions.js';
import type { SimNode } from '../../src/sim/sim-node.js';
import type { Simulation } from '../../src/sim/simulation.js';
import { cluster, fixtures, masterOf, settle, watchSafety } from './harness.js';

const W = DEFAULT_TIMING.watchdogMs;
// A member's departure is seen by the master's watchdog; a master's by the members', then an election.
const TAKEOVER_MS = watchdogTimeout(W, 2) + 1.5 * DEFAULT_TIMING.joinTimeoutMs + DEFAULT_TIMING.offerTimeoutMs + 50;

/** What the daemon's admin handler does: the core's actions applied as the simulation applies its own. */
function act(sim: Simulation, node: SimNode, f: (now: number) => Action[]): void {
  sim.at(sim.now, () => (sim as unknown as { apply(n: SimNode, a: Action[]): void }).apply(node, f(sim.now)));
  sim.runFor(0);
}

function everyUnitServedOnceBy(sim: Simulation, ids: readonly number[]): boolean {
  for (let u = 0; u < UNIT_COUNT; u++) {
    const s = sim.tracker.serversOf(u);
    if (s.length !== 1 || !ids.includes(s[0]!)) return false;
  }
  return true;
}

describe('cluster leave and join', () => {
  for (const who of ['a member', 'the master'] as const) {
    it(`${who} leaves: its units are taken over, it serves nothing; after join it is a member with units again`, async () => {
      const fx = await fixtures();
      for (let seed = 1; seed <= 10; seed++) {
        const sim = cluster(fx, 3, { seed });
        watchSafety(sim, () => true);
        settle(sim, 1000);
        sim.runFor(2500);
        const master = masterOf(sim);
        const leaving = who === 'the master' ? master : sim.live().find((n) => n !== master)!;
        const others = sim.live().filter((n) => n !== leaving).map((n) => n.id);
        expect(leaving.core.servedUnits().length).toBeGreaterThan(0);

        act(sim, leaving, (now) => leaving.core.leave(now));
        expect(leaving.role).toBe('left');
        expect(leaving.core.servedUnits()).toEqual([]);
        expect(leaving.core.ctx.members).toEqual([]);
        expect(leaving.core.leave(sim.now)).toEqual([]); // twice is nothing

        const left = sim.now;
        expect(sim.runUntilTrue(() => everyUnitServedOnceBy(sim, others) && sim.masters().length === 1, TAKEOVER_MS), `seed ${seed}`).toBe(true);
        expect(sim.now - left).toBeLessThanOrEqual(TAKEOVER_MS);
        expect(leaving.role).toBe('left');
        expect(sim.masters()[0]!.core.ctx.members.includes(leaving.id)).toBe(false);

        act(sim, leaving, (now) => leaving.core.rejoin(now));
        expect(leaving.role).toBe('joining');
        expect(leaving.core.rejoin(sim.now)).toEqual([]); // only a left member rejoins
        settle(sim, 3000);
        expect(leaving.role).toBe('member');
        sim.runFor(2500);
        expect(leaving.core.servedUnits().length).toBeGreaterThan(0);
        expect(everyUnitServedOnceBy(sim, [...others, leaving.id])).toBe(true);
      }
    });
  }
});
