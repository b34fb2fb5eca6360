/**
 * Lossless moves, end to end: when the rebalance moves units to a joiner, the
 * old owner (the master or a member) serves on for the release grace after
 * the WORK_DEASSIGN, stops, and the marker its data plane gave at that moment
 * reaches the new owner's units-gained; the new owner starts only after the
 * old one stopped. A de-assign resent because the ack was lost is re-acked
 * with the same marker.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_TIMING, type MembershipTiming } from '../../src/cluster/membership/config.js';
import { AckKind, MessageType } from '../../src/cluster/messages.js';
import type { MemberId, UnitId } from '../../src/cluster/types.js';
import { loads } from '../../src/sim/invariants.js';
import { Simulation } from '../../src/sim/simulation.js';
import type { StandardFixtures } from '../support/pki.js';
import { fixtures, masterOf, memberSpec, settle, spread, watchSafety } from './harness.js';

const marker = (unit: UnitId): number => unit * 7 + 1;

/** A clean-network cluster whose members' data planes answer `handoff(member)`. */
function markedCluster(
  fx: StandardFixtures,
  count: number,
  seed: number,
  handoff: (member: number) => (unit: UnitId) => number,
  timing: Partial<MembershipTiming> = {},
): Simulation {
  const sim = new Simulation({ seed, trust: fx.trust, timing });
  for (let i = 1; i <= count; i++) sim.addMember(memberSpec(fx, i, { handoffMarker: handoff(i) }));
  watchSafety(sim, () => true);
  return sim;
}

interface Stamp {
  at: number;
  member: MemberId;
}

/** When each unit was first de-assigned (and from whom), lost, and gained (with its marker), from now on. */
function recordMoves(sim: Simulation) {
  const deassigned = new Map<UnitId, Stamp>();
  const lost = new Map<UnitId, Stamp>();
  const gained = new Map<UnitId, Stamp & { marker: number }>();
  sim.taps.push((_from, _bytes, m) => {
    if (m.type !== MessageType.WorkDeassign) return;
    for (const e of m.entries) if (!deassigned.has(e.unit)) deassigned.set(e.unit, { at: sim.now, member: m.owner });
  });
  sim.actionTaps.push((member, a) => {
    if (a.kind === 'units-lost') for (const u of a.units) lost.set(u, { at: sim.now, member });
    if (a.kind === 'units-gained') for (const u of a.units) gained.set(u, { at: sim.now, member, marker: a.markers.get(u) ?? 0 });
  });
  return { deassigned, lost, gained };
}

/** Add member `start + 1` to a settled, even cluster and run until the rebalance has evened the loads again. */
function joinOne(sim: Simulation, fx: StandardFixtures, start: number, handoff: (unit: UnitId) => number): MemberId {
  const joiner = memberSpec(fx, start + 1, { handoffMarker: handoff });
  sim.addMember(joiner);
  settle(sim, 1000);
  const even = sim.runUntilTrue(() => sim.live().length === start + 1 && spread(loads(sim)) <= 1, 2 * DEFAULT_TIMING.rebalanceMs + 500);
  expect(even).toBe(true);
  settle(sim, 1000);
  return joiner.id;
}

describe('a rebalancing move hands the unit over', () => {
  it.each([DEFAULT_TIMING.releaseGraceMs, 50])(
    'grace %i ms: the old owner serves through the grace, the new one starts after it with the old owner’s marker',
    async (grace) => {
      const fx = await fixtures();
      for (let seed = 1; seed <= 8; seed++) {
        const sim = markedCluster(fx, 2, seed, () => marker, { releaseGraceMs: grace });
        settle(sim, 1000);
        sim.runFor(DEFAULT_TIMING.rebalanceMs + 500);
        const master = masterOf(sim);
        const moves = recordMoves(sim);
        const joiner = joinOne(sim, fx, 2, marker);

        const handed = [...moves.gained].filter(([, g]) => g.member === joiner);
        expect(handed.length).toBe(sim.nodes.get(joiner)?.core.servedUnits().length);
        const oldOwners = new Set<MemberId>();
        for (const [unit, g] of handed) {
          const d = moves.deassigned.get(unit);
          const l = moves.lost.get(unit);
          if (!d || !l) throw new Error(`unit ${unit} reached the joiner without a de-assign and a loss`);
          expect(l.member).toBe(d.member);
          oldOwners.add(d.member);
          // Served on through the grace (plus at most one network hop to hear the de-assign) ...
          expect(l.at - d.at).toBeGreaterThanOrEqual(grace);
          expect(l.at - d.at).toBeLessThanOrEqual(grace + 1);
          // ... and the new owner starts only once the old one stopped, with its marker.
          expect(g.at).toBeGreaterThanOrEqual(l.at);
          expect(g.marker).toBe(marker(unit));
        }
        // Both hand-over paths: the master's own units and a member's.
        expect(oldOwners.has(master.id)).toBe(true);
        expect(oldOwners.size).toBe(2);
        expect(sim.tracker.longestDoubleMs).toBe(0);
      }
    },
  );

  it('a fresh assignment carries no marker', async () => {
    const fx = await fixtures();
    const sim = markedCluster(fx, 1, 1, () => marker);
    const moves = recordMoves(sim);
    settle(sim, 1000);
    expect(moves.gained.size).toBe(1024);
    for (const g of moves.gained.values()) expect(g.marker).toBe(0);
  });

  it('a de-assign resent because the ack was lost is re-acked with the same marker, asked once', async () => {
    const fx = await fixtures();
    for (let seed = 1; seed <= 5; seed++) {
      const asked = new Map<MemberId, Map<UnitId, number>>();
      // Each data plane answers differently every time it is asked: a re-ack that asked again would show.
      const handoff = (i: number) => {
        const counts = new Map<UnitId, number>();
        asked.set(memberSpec(fx, i).id, counts);
        return (unit: UnitId): number => {
          const n = counts.get(unit) ?? 0;
          counts.set(unit, n + 1);
          return marker(unit) + 10_000 * n;
        };
      };
      const sim = markedCluster(fx, 3, seed, handoff);
      settle(sim, 1000);
      sim.runFor(DEFAULT_TIMING.rebalanceMs + 500);
      const master = masterOf(sim);
      const resentBefore = master.core.status().counters['master.resent'] ?? 0;

      // Lose the first ack of the first member (not the master) that gives units up.
      let victim: MemberId | null = null;
      const acks: { unit: UnitId; epoch: number; marker: number }[] = [];
      sim.taps.push((from, _bytes, m) => {
        if (m.type === MessageType.WorkDeassign && victim === null && m.owner !== master.id) {
          const v = m.owner;
          victim = v;
          sim.net.block(v, master.id);
          sim.at(sim.now + DEFAULT_TIMING.releaseGraceMs + 20, () => sim.net.unblock(v, master.id));
        }
        if (m.type === MessageType.WorkAck && m.kind === AckKind.Deassign && from === victim) {
          m.entries.forEach((e, i) => acks.push({ unit: e.unit, epoch: e.epoch, marker: m.markers[i] ?? -1 }));
        }
      });
      const moves = recordMoves(sim);
      joinOne(sim, fx, 3, handoff(4));

      if (victim === null) throw new Error('no member gave units up');
      const byUnit = new Map<UnitId, number[]>();
      for (const a of acks) byUnit.set(a.unit, [...(byUnit.get(a.unit) ?? []), a.marker]);
      expect([...byUnit.values()].some((m) => m.length >= 2)).toBe(true);
      for (const [unit, markers] of byUnit) {
        expect(new Set(markers)).toEqual(new Set([marker(unit)]));
        expect(asked.get(victim)?.get(unit)).toBe(1);
        expect(moves.gained.get(unit)?.marker).toBe(marker(unit));
      }
      expect((master.core.status().counters['master.resent'] ?? 0) - resentBefore).toBeGreaterThan(0);
    }
  });
});
