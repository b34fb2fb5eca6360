/**
 * Scale: 64 members, the most the simulator takes (DEMO_LIMITS), on the real
 * cores. Per seed: form a cluster, let the first rebalance run, then kill
 * several members in the same instant (the master too on odd seeds) and
 * require that every unit is served again by exactly one survivor, that no
 * unit is ever served twice on the way (strict safety after every event), and
 * that the survivors rebalance to an even load. Every control frame any
 * member sends is measured: with 64 members none may come near a frame.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_TIMING } from '../../src/cluster/membership/config.js';
import { watchdogTimeout } from '../../src/cluster/keepalive.js';
import { MAX_FRAME_LENGTH } from '../../src/cluster/control-codec/layout.js';
import { messageTypeName } from '../../src/cluster/control-codec.js';
import { MessageType } from '../../src/cluster/messages.js';
import { UNIT_COUNT, type MemberId } from '../../src/cluster/types.js';
import { SeededRandom } from '../../src/lib/random.js';
import { makeDevCluster, type DevCluster } from '../../src/pki/dev-pki.js';
import { DEMO_LIMITS } from '../../src/sim/demo-options.js';
import { converged, loads } from '../../src/sim/invariants.js';
import { Simulation } from '../../src/sim/simulation.js';
import { spread, watchSafety } from './harness.js';

const MEMBERS = DEMO_LIMITS.members.max;
const KILLED = 8;
/** Seed 1 kills the master with seven others, seed 2 eight members under a surviving master. */
const SEEDS = [1, 2];
const W = DEFAULT_TIMING.watchdogMs;
/**
 * From the kill until every unit is served once again. Without the master it takes detection
 * (W + W/2n = 250 ms) plus a few hops; with it, the election (~550 ms) and the new master's wait
 * for members that do not rejoin (adoptGraceMs, 600 ms). The figure is printed; this only bounds it.
 */
const RESTORE_BOUND_MS = watchdogTimeout(W, 2) + 1.5 * DEFAULT_TIMING.joinTimeoutMs + DEFAULT_TIMING.offerTimeoutMs + DEFAULT_TIMING.adoptGraceMs + 200;
const VALIDITY = { notBefore: new Date(Date.UTC(2026, 0, 1)), notAfter: new Date(Date.UTC(2030, 0, 1)) };

let dev: Promise<DevCluster> | undefined;

function clusterOf(seed: number, pki: DevCluster, largest: Map<string, number>): Simulation {
  const sim = new Simulation({ seed, trust: pki.trust });
  sim.taps.push((_from, bytes, message) => {
    const name = messageTypeName(message.type);
    largest.set(name, Math.max(largest.get(name) ?? 0, bytes.length));
  });
  for (const m of pki.members) sim.addMember({ id: m.memberId, credentials: { chain: m.chain, privateKey: m.privateKey } });
  return sim;
}

/** `count` distinct live members picked by a seeded draw of their own; the master first when `withMaster`. */
function victims(sim: Simulation, rng: SeededRandom, count: number, withMaster: boolean): MemberId[] {
  const master = sim.masters()[0]?.id;
  const others = sim.live().map((n) => n.id).filter((id) => id !== master);
  const picked: MemberId[] = withMaster && master !== undefined ? [master] : [];
  while (picked.length < count) {
    const [id] = others.splice(Math.floor(rng.float() * others.length), 1);
    if (id !== undefined) picked.push(id);
  }
  return picked;
}

function everyUnitOnce(sim: Simulation): boolean {
  for (let u = 0; u < UNIT_COUNT; u++) if (sim.tracker.serversOf(u).length !== 1) return false;
  return true;
}

describe(`a cluster of ${MEMBERS} members (simulated)`, () => {
  it(`forms, loses ${KILLED} members at once (the master too on odd seeds), and serves every unit exactly once again, over ${SEEDS.length} seeds`, async () => {
    dev ??= makeDevCluster({ count: MEMBERS, ...VALIDITY });
    const pki = await dev;
    const largest = new Map<string, number>();
    const lines: string[] = [];
    for (const seed of SEEDS) {
      const sim = clusterOf(seed, pki, largest);
      watchSafety(sim, () => true);
      expect(sim.runUntilTrue(() => converged(sim).ok, 5000), `seed ${seed}: ${converged(sim).why}`).toBe(true);
      const formedMs = sim.now;
      sim.runFor(2500); // the first rebalance
      expect(converged(sim).ok).toBe(true);
      expect(spread(loads(sim))).toBeLessThanOrEqual(1);

      const withMaster = seed % 2 === 1;
      const dead = victims(sim, new SeededRandom(seed), KILLED, withMaster);
      const killedAt = sim.now;
      for (const id of dead) sim.kill(id);
      const restored = sim.runUntilTrue(() => everyUnitOnce(sim), RESTORE_BOUND_MS);
      expect(restored, `seed ${seed}: not every unit served once within ${RESTORE_BOUND_MS} ms`).toBe(true);
      const restoreMs = sim.now - killedAt;
      expect(sim.runUntilTrue(() => converged(sim).ok, 3000), `seed ${seed}: ${converged(sim).why}`).toBe(true);
      sim.runFor(DEFAULT_TIMING.rebalanceMs + 100); // the survivors' rebalance
      expect(converged(sim).ok, `seed ${seed}: ${converged(sim).why}`).toBe(true);
      expect(sim.live()).toHaveLength(MEMBERS - KILLED);
      for (let u = 0; u < UNIT_COUNT; u++) expect(dead).not.toContain(sim.tracker.serversOf(u)[0]);
      expect(spread(loads(sim))).toBeLessThanOrEqual(1);
      lines.push(`seed ${seed}: formed in ${formedMs.toFixed(0)} ms; ${withMaster ? 'master + ' : ''}${withMaster ? KILLED - 1 : KILLED} members killed, every unit once again after ${restoreMs.toFixed(0)} ms`);
    }
    const frames = [...largest].sort((a, b) => b[1] - a[1]);
    console.log(`${MEMBERS} members: ${lines.join('; ')}; largest frames ${frames.map(([t, n]) => `${t} ${n} B`).join(', ')}`);
    for (const [type, bytes] of frames) expect(bytes, type).toBeLessThan(MAX_FRAME_LENGTH / 4);
  });
});

describe('members that die together (simulated, 16 members)', () => {
  it('hands none of their units to another of them, and every unit is served again within detection plus a few hops, over 10 seeds', async () => {
    dev ??= makeDevCluster({ count: MEMBERS, ...VALIDITY });
    const pki = await dev;
    const sixteen = { ...pki, members: pki.members.slice(0, 16) };
    let worst = 0;
    for (let seed = 1; seed <= 10; seed++) {
      const sim = clusterOf(seed, sixteen, new Map());
      watchSafety(sim, () => true);
      expect(sim.runUntilTrue(() => converged(sim).ok, 5000)).toBe(true);
      sim.runFor(2500);
      const dead = victims(sim, new SeededRandom(seed), 4, false);
      const toDead: string[] = [];
      sim.taps.push((from, _bytes, m) => {
        if (m.type === MessageType.WorkAssign && dead.includes(m.owner)) toDead.push(`${m.entries.length} units to ${m.owner} by ${from} at ${sim.now.toFixed(1)}`);
      });
      const killedAt = sim.now;
      for (const id of dead) sim.kill(id);
      expect(sim.runUntilTrue(() => everyUnitOnce(sim), 2000), `seed ${seed}`).toBe(true);
      worst = Math.max(worst, sim.now - killedAt);
      expect(toDead, `seed ${seed}`).toEqual([]);
    }
    console.log(`16 members, 4 killed at once: every unit served once again within ${worst.toFixed(0)} ms (worst of 10 seeds)`);
    // Detection, then at most two keepalive intervals: a work order that overtook the key update it needs
    // (the simulated network reorders datagrams sent in the same instant) waits for the master's resend.
    expect(worst).toBeLessThan(watchdogTimeout(W, 2) + (2 * W) / 2 + 50);
  });
});
