/**
 * Random schedules for the property test: a cluster of 2..6 members on a
 * lossy, duplicating, reordering network, with kills, restarts, partitions and
 * heals at random times. Afterwards the network is healed and made clean, and
 * the cluster must converge: one master, one owner per unit, loads even.
 */
import fc from 'fast-check';
import { DEFAULT_TIMING } from '../../src/cluster/membership/config.js';
import { converged, loads } from '../../src/sim/invariants.js';
import { PERFECT_NETWORK, type NetworkModel } from '../../src/sim/network.js';
import type { StandardFixtures } from '../support/pki.js';
import { describe, it } from 'vitest';
import { cluster, fixtures, spread, watchSafety } from './harness.js';

export type Op =
  | { at: number; kind: 'kill'; pick: number }
  | { at: number; kind: 'restart'; pick: number }
  | { at: number; kind: 'partition'; mask: number }
  | { at: number; kind: 'heal' };

export interface Schedule {
  seed: number;
  members: number;
  network: NetworkModel;
  ops: Op[];
}

const CHAOS_MS = 8000;
const SETTLE_MS = 8000;

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ at: fc.integer({ min: 0, max: CHAOS_MS }), kind: fc.constant('kill' as const), pick: fc.nat() }),
  fc.record({ at: fc.integer({ min: 0, max: CHAOS_MS }), kind: fc.constant('restart' as const), pick: fc.nat() }),
  fc.record({ at: fc.integer({ min: 0, max: CHAOS_MS }), kind: fc.constant('partition' as const), mask: fc.nat() }),
  fc.record({ at: fc.integer({ min: 0, max: CHAOS_MS }), kind: fc.constant('heal' as const) }),
);

export const scheduleArb: fc.Arbitrary<Schedule> = fc.record({
  seed: fc.nat(),
  members: fc.integer({ min: 2, max: 6 }),
  network: fc.record({
    loss: fc.double({ min: 0, max: 0.15, noNaN: true }),
    delayMs: fc.double({ min: 0.1, max: 2, noNaN: true }),
    jitterMs: fc.double({ min: 0, max: 2, noNaN: true }),
    duplicate: fc.double({ min: 0, max: 0.05, noNaN: true }),
    reorder: fc.double({ min: 0, max: 0.1, noNaN: true }),
    reorderMs: fc.double({ min: 0, max: 20, noNaN: true }),
  }),
  ops: fc.array(opArb, { minLength: 0, maxLength: 6 }),
});

/** Kills and restarts only, on a clean network: no unit may ever be served twice. */
export const cleanScheduleArb: fc.Arbitrary<Schedule> = fc.record({
  seed: fc.nat(),
  members: fc.integer({ min: 2, max: 6 }),
  network: fc.constant(PERFECT_NETWORK),
  ops: fc.array(
    fc.oneof(
      fc.record({ at: fc.integer({ min: 0, max: CHAOS_MS }), kind: fc.constant('kill' as const), pick: fc.nat() }),
      fc.record({ at: fc.integer({ min: 0, max: CHAOS_MS }), kind: fc.constant('restart' as const), pick: fc.nat() }),
    ),
    { maxLength: 6 },
  ),
});

export interface Outcome {
  ok: boolean;
  why: string;
  settleMs: number;
}

/** Runs one schedule; throws (from the safety checks) if an invariant breaks during the run. */
export function runSchedule(fx: StandardFixtures, s: Schedule, strictSingleOwner = false): Outcome {
  const sim = cluster(fx, s.members, { seed: s.seed, network: s.network, ...(process.env.SHOAL_TRACE ? { trace: (l: string) => console.log(l) } : {}) });
  watchSafety(sim, () => strictSingleOwner);
  const ids = fx.members.slice(0, s.members).map((m) => m.memberId);
  for (const op of [...s.ops].sort((a, b) => a.at - b.at)) {
    sim.at(op.at, () => {
      const live = sim.live();
      switch (op.kind) {
        case 'kill': {
          if (live.length <= 1) return; // keep someone alive to converge on
          const victim = live[op.pick % live.length];
          if (victim) sim.kill(victim.id);
          return;
        }
        case 'restart': {
          const id = ids[op.pick % ids.length];
          if (id !== undefined) sim.restart(id);
          return;
        }
        case 'partition': {
          const a = ids.filter((_, i) => (op.mask >> i) & 1);
          const b = ids.filter((_, i) => !((op.mask >> i) & 1));
          if (a.length > 0 && b.length > 0) sim.net.partition([a, b]);
          return;
        }
        case 'heal':
          sim.net.heal();
          return;
      }
    });
  }
  sim.runUntil(CHAOS_MS);
  sim.net.heal();
  sim.net.model = { ...PERFECT_NETWORK };
  const start = sim.now;
  const ok = sim.runUntilTrue(() => converged(sim).ok, SETTLE_MS);
  if (!ok) {
    if (process.env.SHOAL_TRACE) debugDump(sim);
    return { ok, why: converged(sim).why, settleMs: sim.now - start };
  }
  const settleMs = sim.now - start;
  // After convergence: stays converged, and the next rebalance evens the loads.
  sim.runFor(DEFAULT_TIMING.rebalanceMs + 500);
  const still = converged(sim);
  if (!still.ok) return { ok: false, why: `diverged after converging: ${still.why}`, settleMs };
  if (sim.tracker.doubleServed() > 0) return { ok: false, why: 'a unit is served twice after convergence', settleMs };
  if (spread(loads(sim)) > 1) return { ok: false, why: `loads ${loads(sim).join(',')} not even`, settleMs };
  return { ok: true, why: '', settleMs };
}

/** Schedules per test file; four files run in parallel, so CI covers 4 × this many. */
export const SCHEDULES_PER_FILE = Number(process.env.SHOAL_SCHEDULES ?? 500);

/**
 * Declares one part of the random-schedule property: whatever happens during
 * the chaos phase, once the network is whole and clean again the cluster
 * converges (one master, every unit served exactly once, loads even), and no
 * safety invariant breaks along the way. Each part has its own fixed seed, so
 * CI replays the same schedules and the parts run in parallel; fast-check
 * prints the shrunk failing schedule to replay.
 */
export function scheduleProperty(part: number): void {
  describe(`random schedules of kills, restarts, partitions and loss (part ${part})`, () => {
    it(`converge afterwards (${SCHEDULES_PER_FILE} schedules)`, async () => {
      const fx = await fixtures();
      let worst = 0;
      fc.assert(
        fc.property(scheduleArb, (s) => {
          const out = runSchedule(fx, s);
          worst = Math.max(worst, out.settleMs);
          if (!out.ok) throw new Error(out.why);
        }),
        { numRuns: SCHEDULES_PER_FILE, seed: 2026112800 + part },
      );
      console.log(`part ${part}: ${SCHEDULES_PER_FILE} schedules converged; slowest settled ${worst.toFixed(0)} ms after the heal`);
    });
  });
}

function debugDump(sim: ReturnType<typeof cluster>): void {
  for (const n of sim.live()) {
    const st = n.core.status();
    console.log(n.id, st.role, st.master, st.members.join(','), 'served', st.servedUnits, JSON.stringify(st.counters));
    console.log('  view 205', JSON.stringify(n.core.ctx.view.get(205)), 'unassigned', n.core.ctx.view.unassigned().length);
  }
}
