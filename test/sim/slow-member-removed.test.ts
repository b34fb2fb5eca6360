/**
 * Regression: a member that is slow, not dead (its keepalives stop reaching
 * the master while the master's frames still reach it), is removed by the
 * master's watchdog and its units go to the others at once. After the key
 * rotation that follows a removal it could read none of the orders that say
 * so (they are MACed under the new key), so it kept serving the same units as
 * their new owners until its own watchdog fired: the lab saw 859 echoes
 * answered twice while a fourth member joined under load. The master now
 * sends the removed member a signed EXIT_CLUSTER (Removed), and it stops.
 */
import { describe, expect, it } from 'vitest';
import { cluster, fixtures, masterOf, settle } from './harness.js';

describe('a slow member removed by the master watchdog', () => {
  for (const seed of [3, 17, 29]) {
    it(`stops serving as soon as its units go to others (seed ${seed})`, async () => {
      const fx = await fixtures();
      const sim = cluster(fx, 3, { seed });
      settle(sim, 2000);
      sim.runFor(2500);
      const master = masterOf(sim);
      const victim = sim.live().find((n) => n !== master);
      if (!victim) throw new Error('no member');
      expect(victim.core.servedUnits().length).toBeGreaterThan(0);

      // One way only: the victim still hears the master, the master no longer hears it.
      sim.net.block(victim.id, master.id);
      expect(sim.runUntilTrue(() => !master.core.ctx.members.includes(victim.id), 2000)).toBe(true);
      const removedAt = sim.now;

      // From a few deliveries after the removal until it could offer itself as a master of one (a one-way
      // cut is a partition: from then on it is the partition rules' case), no unit is served twice.
      let worst = 0;
      sim.afterEach.push((s) => {
        if (s.now < removedAt + 20 || s.now > removedAt + 200) return;
        const others = s.live().filter((n) => n !== victim);
        const twice = victim.core.servedUnits().filter((u) => others.some((o) => o.core.serves(u)));
        worst = Math.max(worst, twice.length);
      });
      sim.runFor(200);
      expect(victim.core.servedUnits()).toEqual([]);
      expect(worst, 'units served by the removed member and their new owner at once').toBe(0);

      // Once heard again it rejoins and the cluster converges.
      sim.net.unblock(victim.id, master.id);
      settle(sim, 5000);
    });
  }
});
