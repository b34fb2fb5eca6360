/**
 * Regression: every forged JOIN_REQUEST whose certificate failed made the
 * master sign and send a JOIN_NAK to the address it named, with no limit.
 * NAKs are now rate-limited per target and in total (nak-limit.ts), and what
 * is suppressed is counted; an honest joiner is still answered.
 */
import { describe, expect, it } from 'vitest';
import { ControlChannel } from '../../src/cluster/membership/channel.js';
import { MessageType, NakReason } from '../../src/cluster/messages.js';
import { DEFAULT_NAK_LIMITS } from '../../src/cluster/membership/nak-limit.js';
import { parseIpv4 } from '../../src/lib/ipv4.js';
import { SIM_CLUSTER_ID } from '../../src/sim/simulation.js';
import { cluster, fixtures, masterOf, settle } from './harness.js';

describe('JOIN_NAK flood', () => {
  it('1,000 forged joins from 200 addresses get at most the limits’ NAKs; the rest are counted; a real joiner is still answered', async () => {
    const fx = await fixtures();
    const sim = cluster(fx, 2, { seed: 61 });
    settle(sim, 1000);
    const master = masterOf(sim);
    const naks: number[] = [];
    sim.taps.push((from, _bytes, m) => {
      if (from === master.id && m.type === MessageType.JoinNak) naks.push(m.target);
    });
    const forgers = Array.from({ length: 200 }, (_, i) => {
      // A foreign CA's certificate claiming each address: the master's chain check refuses it (a NAK is due).
      const channel = new ControlChannel({
        self: parseIpv4('198.18.5.0') + i,
        clusterId: SIM_CLUSTER_ID,
        configVersion: 1,
        incarnation: 1,
        credentials: { chain: fx.foreignMember.chain, privateKey: fx.foreignMember.privateKey },
        trust: fx.trust,
        timing: sim.timing,
        maxSkewMs: 30_000,
      });
      return channel;
    });
    const wall = Math.floor(sim.clock.wallNow());
    for (let round = 0; round < 5; round++) {
      for (const c of forgers) {
        sim.inject(master.id, c.seal({ type: MessageType.JoinRequest, configVersion: 1, nonce: new Uint8Array(16), served: [], maxEpoch: 0 }, wall));
      }
    }
    sim.runFor(10);
    expect(naks.length).toBeLessThanOrEqual(DEFAULT_NAK_LIMITS.totalBurst + 1);
    expect(master.core.status().counters['master.nak-suppressed']).toBe(1000 - naks.length);
    const perTarget = new Map<number, number>();
    for (const t of naks) perTarget.set(t, (perTarget.get(t) ?? 0) + 1);
    expect(Math.max(...perTarget.values())).toBeLessThanOrEqual(DEFAULT_NAK_LIMITS.perTargetBurst);
    // A second later, a member with an expired certificate asks and is told why.
    sim.runFor(1000);
    sim.addMember({ id: fx.expired.memberId, credentials: { chain: fx.expired.chain, privateKey: fx.expired.privateKey } });
    sim.runFor(1000);
    expect(sim.nodes.get(fx.expired.memberId)?.refusal?.reason).toBe(NakReason.BadCertificate);
  });
});
