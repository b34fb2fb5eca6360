/**
 * Regression: a JOIN_REQUEST carrying maxEpoch 0xFFFFFFFF (signed with a valid
 * member certificate) made the master's next epoch 2^32, so encoding its next
 * WORK_ASSIGN threw: the master stopped, and so did every later master, since
 * joiners had noted the epoch too. Epochs beyond MAX_EPOCH are now refused.
 */
import { describe, expect, it } from 'vitest';
import { MessageType, NakReason, type JoinRequest } from '../../src/cluster/messages.js';
import { MAX_EPOCH } from '../../src/cluster/types.js';
import { converged } from '../../src/sim/invariants.js';
import { cluster, fixtures, impostor, masterOf, settle } from './harness.js';

function absurdJoin(maxEpoch: number, servedEpoch?: number): JoinRequest {
  return {
    type: MessageType.JoinRequest,
    configVersion: 1,
    nonce: new Uint8Array(16).fill(7),
    served: servedEpoch === undefined ? [] : [{ unit: 5, epoch: servedEpoch }],
    maxEpoch,
  };
}

describe('absurd epochs in a join', () => {
  it('the master refuses a join with maxEpoch 0xFFFFFFFF (NAK bad-request) and keeps assigning; so do later masters', async () => {
    const fx = await fixtures();
    const sim = cluster(fx, 3, { seed: 31 });
    const naks: { target: number; reason: number; detail: string }[] = [];
    sim.taps.push((_from, _bytes, m) => {
      if (m.type === MessageType.JoinNak && m.reason !== NakReason.InProgress) naks.push({ target: m.target, reason: m.reason, detail: m.detail });
    });
    // While everyone is still joining: every joiner hears it (a later master would have started above it).
    const attacker = impostor(fx, 4, sim);
    for (const m of fx.members.slice(0, 3)) sim.inject(m.memberId, attacker.seal(absurdJoin(0xffff_ffff)), 1);
    settle(sim, 3000);
    const first = masterOf(sim);
    // And again, at the master, with an absurd served epoch too.
    sim.inject(first.id, attacker.seal(absurdJoin(0xffff_ffff, 0xffff_ffff)));
    sim.inject(first.id, attacker.seal(absurdJoin(3, MAX_EPOCH + 1)));
    sim.runFor(500);
    expect(naks.filter((n) => n.reason === NakReason.BadRequest).map((n) => n.detail)).toEqual([
      `maxEpoch 4294967295 is beyond the limit ${MAX_EPOCH}`,
      `unit 5 epoch ${MAX_EPOCH + 1} is beyond the limit ${MAX_EPOCH}`,
    ]);
    for (const n of sim.live()) expect(n.core.ctx.maxEpochSeen).toBeLessThan(1000);
    // The next masters assign as usual.
    for (let round = 0; round < 2; round++) {
      sim.kill(masterOf(sim).id);
      settle(sim, 3000);
      expect(converged(sim).ok).toBe(true);
    }
    expect(masterOf(sim).core.status().counters['master.epochs-exhausted']).toBeUndefined();
  });
});
