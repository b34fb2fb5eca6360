/**
 * Regression: the incarnation is the boot wall-clock time, so a member that
 * rebooted with its clock set back carried a lower incarnation than the one
 * every receiver remembered, and all its messages were "stale-incarnation"
 * for good: it could never join again. Receivers now forget a member's replay
 * windows once it leaves the member list (the master removes it when its
 * watchdog expires), so the rebooted member joins under its new, lower one.
 *
 * Chosen over a persisted counter: a member need not keep state across boots
 * (a box may boot from a read-only flash image), and the windows it relied on
 * are bounded by the membership anyway; what could be replayed after the
 * forgetting is refused by the rotated key or a signed message's timestamp.
 */
import { describe, expect, it } from 'vitest';
import { cluster, fixtures, masterOf, settle, watchSafety } from './harness.js';

describe('a member rebooted with its clock set back', () => {
  it('joins again under its lower incarnation once the master has removed the old one', async () => {
    const fx = await fixtures();
    const sim = cluster(fx, 3, { seed: 71 });
    watchSafety(sim, () => false);
    settle(sim, 1000);
    sim.runFor(1000);
    const master = masterOf(sim);
    const victim = sim.live().find((n) => n !== master);
    if (!victim) throw new Error('member');
    const before = victim.incarnation;
    sim.restart(victim.id, { incarnation: before - 3_600_000 }); // the clock an hour behind
    settle(sim, 3000);
    const again = sim.nodes.get(victim.id);
    expect(again?.incarnation).toBe(before - 3_600_000);
    expect(again?.role).toBe('member');
    expect(masterOf(sim).core.ctx.members).toContain(victim.id);
  });

  it('the same, when the rebooted member was the master', async () => {
    const fx = await fixtures();
    const sim = cluster(fx, 3, { seed: 72 });
    watchSafety(sim, () => false);
    settle(sim, 1000);
    sim.runFor(1000);
    const old = masterOf(sim);
    sim.restart(old.id, { incarnation: old.incarnation - 3_600_000 });
    settle(sim, 4000);
    expect(sim.live()).toHaveLength(3);
    expect(sim.nodes.get(old.id)?.role === 'member' || sim.nodes.get(old.id)?.role === 'master').toBe(true);
    expect(masterOf(sim).core.ctx.members).toHaveLength(3);
  });
});
