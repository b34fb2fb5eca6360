/**
 * The config version in the membership rule: the master's version is the
 * cluster's; a member whose version differs is told why, serves nothing while
 * excluded, and rejoins once its version matches. Every scenario runs over
 * many seeds with the safety invariants checked after every event.
 */
import { describe, expect, it } from 'vitest';
import type { MemberId } from '../../src/cluster/types.js';
import { MessageType } from '../../src/cluster/messages.js';
import type { SimNode } from '../../src/sim/sim-node.js';
import type { Simulation } from '../../src/sim/simulation.js';
import { cluster, fixtures, masterOf, memberSpec, settle, watchSafety } from './harness.js';

const SEEDS = 12;

function node(sim: Simulation, id: MemberId): SimNode {
  const n = sim.nodes.get(id);
  if (!n) throw new Error(`no member ${id}`);
  return n;
}

/**
 * Fails the run the moment `id` serves a unit while excluded, and counts the
 * times it entered 'excluded' and 'joining' (flapping shows up as more than one).
 */
function watchExcluded(sim: Simulation, id: MemberId): { entered: () => number; joins: () => number } {
  let entered = 0;
  let joins = 0;
  sim.actionTaps.push((member, a) => {
    if (member !== id) return;
    if (a.kind === 'role' && a.role === 'excluded') entered++;
    if (a.kind === 'role' && a.role === 'joining') joins++;
    if (a.kind === 'units-gained' && node(sim, id).role === 'excluded') throw new Error(`excluded member ${id} gained units ${a.units.join(',')}`);
  });
  sim.afterEach.push((s) => {
    const n = s.nodes.get(id);
    if (n?.alive && n.role === 'excluded' && n.core.ctx.served.size > 0) throw new Error(`excluded member ${id} serves ${n.core.ctx.served.size} units`);
  });
  return { entered: () => entered, joins: () => joins };
}

describe('a joiner whose config version differs from the master’s', () => {
  it('is excluded with both versions, never owns a unit, does not flap, and rejoins with units once updated', async () => {
    const fx = await fixtures();
    for (let seed = 1; seed <= SEEDS; seed++) {
      const sim = cluster(fx, 3, { seed, configVersion: 2 });
      watchSafety(sim, () => true);
      settle(sim, 1000);
      const master = masterOf(sim);
      const spec = memberSpec(fx, 4, { configVersion: 1 });
      const seen = watchExcluded(sim, spec.id);
      sim.addMember(spec);
      sim.runFor(1000);
      const old = node(sim, spec.id);
      expect(old.role).toBe('excluded');
      expect(old.exclusions).toHaveLength(1);
      expect(old.exclusions[0]).toMatchObject({
        master: master.id,
        configVersion: 1,
        masterConfigVersion: 2,
        reason: "config version 1 differs from the master's 2",
      });
      expect(old.core.status().excluded).toBe("config version 1 differs from the master's 2");

      // Thirty seconds of master announcements: it stays out without asking again.
      sim.runFor(30_000);
      expect(old.role).toBe('excluded');
      expect(seen.entered()).toBe(1);
      expect(seen.joins()).toBe(1); // the start only
      expect(master.core.status().counters['master.config-version-nak']).toBe(1);
      expect(old.demo.units.size).toBe(0);
      expect(master.core.ctx.members).not.toContain(spec.id);
      settle(sim, 100); // the other three converged without it

      // Updated (a restart with the master's version): it joins, and the rebalance gives it units.
      sim.restart(spec.id, { configVersion: 2 });
      settle(sim, 2000);
      sim.runFor(sim.timing.rebalanceMs * 2);
      settle(sim, 2000);
      const updated = node(sim, spec.id);
      expect(updated.role).toBe('member');
      expect(updated.core.servedUnits().length).toBeGreaterThan(200);
      expect(updated.exclusions).toEqual([]);
    }
  });

  it('a newer joiner is excluded too: the master’s version is authoritative, whichever is newer', async () => {
    const fx = await fixtures();
    for (let seed = 1; seed <= SEEDS; seed++) {
      const sim = cluster(fx, 2, { seed, configVersion: 4 });
      watchSafety(sim, () => true);
      settle(sim, 1000);
      const spec = memberSpec(fx, 3, { configVersion: 7 });
      watchExcluded(sim, spec.id);
      sim.addMember(spec);
      sim.runFor(1500);
      expect(node(sim, spec.id).exclusions.map((e) => e.reason)).toEqual(["config version 7 differs from the master's 4"]);
      settle(sim, 100);
    }
  });

  it('updated in place (no restart), it asks again at once and is admitted', async () => {
    const fx = await fixtures();
    for (let seed = 1; seed <= SEEDS; seed++) {
      const sim = cluster(fx, 3, { seed, configVersion: 5 });
      watchSafety(sim, () => true);
      settle(sim, 1000);
      const spec = memberSpec(fx, 4, { configVersion: 3 });
      sim.addMember(spec);
      sim.runFor(800);
      expect(node(sim, spec.id).role).toBe('excluded');
      const at = sim.now;
      sim.setConfigVersion(spec.id, 5);
      expect(sim.runUntilTrue(() => node(sim, spec.id).role === 'member', 1000)).toBe(true);
      expect(sim.now - at).toBeLessThan(100); // no waiting for a timer: the change itself sends the request
      sim.runFor(sim.timing.rebalanceMs * 2);
      settle(sim, 2000);
      expect(node(sim, spec.id).core.servedUnits().length).toBeGreaterThan(200);
    }
  });
});

describe('a member already in the cluster whose version comes to differ', () => {
  it('is ordered out by the master (CONFIG_VERSION_EXIT), releases its units to the others, and comes back once its version matches', async () => {
    const fx = await fixtures();
    for (let seed = 1; seed <= SEEDS; seed++) {
      const sim = cluster(fx, 4, { seed, configVersion: 1 });
      watchSafety(sim, () => true);
      const orders: { from: MemberId; target: MemberId; configVersion: number; memberConfigVersion: number }[] = [];
      sim.taps.push((from, _bytes, m) => {
        if (m.type === MessageType.ConfigVersionExit) orders.push({ from, target: m.target, configVersion: m.configVersion, memberConfigVersion: m.memberConfigVersion });
      });
      settle(sim, 1000);
      sim.runFor(2500);
      const master = masterOf(sim);
      const reloaded = sim.live().find((n) => n !== master);
      if (!reloaded) throw new Error('no member');
      const seen = watchExcluded(sim, reloaded.id);
      const held = reloaded.core.servedUnits();
      expect(held.length).toBeGreaterThan(0);

      sim.setConfigVersion(reloaded.id, 2);
      expect(sim.runUntilTrue(() => reloaded.role === 'excluded', 1000)).toBe(true);
      expect(orders[0]).toEqual({ from: master.id, target: reloaded.id, configVersion: 1, memberConfigVersion: 2 });
      expect(reloaded.exclusions[0]?.reason).toBe("config version 2 differs from the master's 1");
      // Its units are served by the others again, each by exactly one member, within a watchdog window.
      expect(sim.runUntilTrue(() => held.every((u) => sim.tracker.serversOf(u).length === 1), sim.timing.watchdogMs)).toBe(true);
      settle(sim, 1000);
      sim.runFor(10_000);
      expect(seen.entered()).toBe(1);
      expect(reloaded.core.servedUnits()).toEqual([]);

      sim.setConfigVersion(reloaded.id, 1);
      expect(sim.runUntilTrue(() => reloaded.role === 'member', 1000)).toBe(true);
      sim.runFor(sim.timing.rebalanceMs * 2);
      settle(sim, 2000);
      expect(reloaded.core.servedUnits().length).toBeGreaterThan(150);
    }
  });

  it('a master whose version changes orders every other member out and keeps serving every unit itself', async () => {
    const fx = await fixtures();
    for (let seed = 1; seed <= SEEDS; seed++) {
      const sim = cluster(fx, 3, { seed, configVersion: 1 });
      watchSafety(sim, () => true);
      settle(sim, 1000);
      const master = masterOf(sim);
      const others = sim.live().filter((n) => n !== master);
      sim.setConfigVersion(master.id, 2);
      expect(sim.runUntilTrue(() => others.every((n) => n.role === 'excluded'), 1000)).toBe(true);
      settle(sim, 1000);
      expect(master.core.servedUnits()).toHaveLength(1024);
      // Updated one by one, each comes back.
      for (const n of others) sim.setConfigVersion(n.id, 2);
      sim.runFor(sim.timing.rebalanceMs * 2);
      settle(sim, 2000);
      for (const n of others) expect(n.role).toBe('member');
    }
  });

  it('after a master restart with a newer version, the cluster settles on one version and the rest are excluded until updated', async () => {
    const fx = await fixtures();
    for (let seed = 1; seed <= SEEDS; seed++) {
      const sim = cluster(fx, 3, { seed, configVersion: 1 });
      watchSafety(sim, () => false); // the restart drops the old master's units at once; the others may still hold theirs
      settle(sim, 1000);
      sim.runFor(2500);
      const master = masterOf(sim);
      sim.restart(master.id, { configVersion: 2 });
      sim.runFor(3000);
      // Whoever won the election, its version rules: the others differ and are out, serving nothing.
      settle(sim, 2000);
      const winner = masterOf(sim);
      const version = winner.core.ctx.configVersion;
      for (const n of sim.live()) {
        if (n.role === 'excluded') {
          expect(n.core.ctx.configVersion).not.toBe(version);
          expect(n.exclusions.at(-1)?.masterConfigVersion).toBe(version);
        } else {
          expect(n.core.ctx.configVersion).toBe(version);
        }
      }
      // Bring every excluded member to the winner's version: everyone is back.
      for (const n of sim.live().filter((x) => x.role === 'excluded')) sim.restart(n.id, { configVersion: version });
      sim.runFor(sim.timing.rebalanceMs * 2);
      settle(sim, 2000);
      expect(sim.live().every((n) => n.role === 'master' || n.role === 'member')).toBe(true);
    }
  });
});

describe('an excluded member and the master’s fate', () => {
  it('stays out when the master dies and another with the same version takes over (it never offers)', async () => {
    const fx = await fixtures();
    for (let seed = 1; seed <= SEEDS; seed++) {
      const sim = cluster(fx, 3, { seed, configVersion: 2 });
      watchSafety(sim, () => true);
      settle(sim, 1000);
      const spec = memberSpec(fx, 4, { configVersion: 1 });
      const seen = watchExcluded(sim, spec.id);
      sim.addMember(spec);
      sim.runFor(1000);
      const old = masterOf(sim);
      sim.kill(old.id);
      watchSafety(sim, () => false);
      sim.runFor(5000);
      const excluded = node(sim, spec.id);
      expect(excluded.role).toBe('excluded');
      expect(excluded.roles.filter((r) => r.role === 'offering' || r.role === 'master')).toEqual([]);
      expect(seen.entered()).toBe(1);
      expect(masterOf(sim).id).not.toBe(spec.id);
      settle(sim, 1000);
    }
  });

  it('forms a cluster of its own once no master has been heard for five announce periods', async () => {
    const fx = await fixtures();
    for (let seed = 1; seed <= SEEDS; seed++) {
      const sim = cluster(fx, 2, { seed, configVersion: 2 });
      settle(sim, 1000);
      const spec = memberSpec(fx, 3, { configVersion: 1 });
      sim.addMember(spec);
      sim.runFor(1000);
      for (const n of sim.live().filter((x) => x.id !== spec.id)) sim.kill(n.id);
      const killedAt = sim.now;
      expect(sim.runUntilTrue(() => node(sim, spec.id).role === 'master', 10_000)).toBe(true);
      expect(sim.now - killedAt).toBeGreaterThanOrEqual(5 * sim.timing.announceMs - sim.timing.announceMs);
      settle(sim, 1000);
      expect(node(sim, spec.id).core.servedUnits()).toHaveLength(1024);
    }
  });
});
