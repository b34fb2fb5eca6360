/**
 * Regression: after the master removed a member and rotated the cluster key,
 * the removed member's old key still authenticated state syncs, forwarded
 * packets and work orders at the members that stayed (they kept old keys for
 * a while), and a KEY_UPDATE MACed under it installed whatever key it named.
 * Now a rotation retires every older key at once, key updates are signed by
 * the master's certificate, and the removed member's old key opens nothing.
 */
import { describe, expect, it } from 'vitest';
import { macOf, type ClusterKey } from '../../src/cluster/auth/cluster-key.js';
import { sealState } from '../../src/cluster/membership/state-crypto.js';
import { encodeHeaderAndBody, peekHeader } from '../../src/cluster/control-codec.js';
import { ForwardSide, MessageType, type ControlMessage } from '../../src/cluster/messages.js';
import type { Action } from '../../src/cluster/membership/actions.js';
import { SeededRandom } from '../../src/lib/random.js';
import { SIM_CLUSTER_ID } from '../../src/sim/simulation.js';
import { cluster, fixtures, masterOf, settle } from './harness.js';

/** What a removed member can send: any header it likes, MACed under the key it kept. */
function forge(key: ClusterKey, sender: number, incarnation: number, seq: number, message: ControlMessage): Uint8Array {
  const hb = encodeHeaderAndBody({ type: message.type, clusterId: SIM_CLUSTER_ID, sender, incarnation, seq, epoch: key.epoch }, message);
  const out = new Uint8Array(hb.length + 16);
  out.set(hb);
  out.set(macOf(key.key, hb), hb.length);
  return out;
}

describe('cluster key rotation on removal', () => {
  it("nothing MACed under a removed member's key is taken by the master or the members that stayed", async () => {
    const fx = await fixtures();
    const sim = cluster(fx, 3, { seed: 41 });
    settle(sim, 1000);
    sim.runFor(2500);
    const master = masterOf(sim);
    const [stayer, victim] = sim.live().filter((n) => n !== master);
    if (!stayer || !victim) throw new Error('members');
    const oldKey = victim.core.ctx.channel.keys.current;
    if (!oldKey) throw new Error('no key');
    const lastSeq = new Map<number, number>();
    sim.taps.push((from, bytes) => {
      const h = peekHeader(bytes);
      if (h.ok) lastSeq.set(from, h.value.seq);
    });
    const actions: Action[] = [];
    sim.actionTaps.push((member, a) => {
      if (member === stayer.id || member === master.id) actions.push(a);
    });

    // The victim is cut off; the master removes it and rotates the key.
    sim.net.partition([[victim.id], [master.id, stayer.id]]);
    sim.runUntilTrue(() => !master.core.ctx.members.includes(victim.id), 1000);
    sim.runFor(300);
    const newKey = master.core.ctx.channel.keys.current;
    expect(newKey?.epoch).not.toBe(oldKey.epoch);
    expect(stayer.core.ctx.channel.keys.current?.epoch).toBe(newKey?.epoch);
    expect(stayer.role).toBe('member');
    actions.length = 0;

    // What the removed member sends with the key it kept (any sender, any seq it likes).
    const seq = (id: number): number => (lastSeq.get(id) ?? 0) + 100;
    const unit = stayer.core.servedUnits()[0] ?? 0;
    const payload = sealState(oldKey.key, new SeededRandom(1), 1, unit, 1, Uint8Array.of(1, 2, 3));
    const freeUnit = [...Array(1024).keys()].find((u) => !stayer.core.serves(u)) ?? 0;
    sim.inject(stayer.id, forge(oldKey, victim.id, victim.incarnation, 10_000, { type: MessageType.StateSync, app: 1, unit, syncSeq: 1, payload }));
    sim.inject(stayer.id, forge(oldKey, master.id, master.incarnation, seq(master.id), { type: MessageType.ForwardedPacket, unit, side: ForwardSide.Outer, packet: Uint8Array.of(0x45) }));
    sim.inject(stayer.id, forge(oldKey, master.id, master.incarnation, seq(master.id) + 1, { type: MessageType.WorkAssign, owner: stayer.id, entries: [{ unit: freeUnit, epoch: 999_999 }], markers: [0] }));
    const attackerKey = Uint8Array.from({ length: 32 }, (_, i) => i);
    sim.inject(stayer.id, forge(oldKey, master.id, master.incarnation, seq(master.id) + 2, { type: MessageType.KeyUpdate, target: stayer.id, keyEpoch: 77, wrappedKey: attackerKey }));
    sim.inject(master.id, forge(oldKey, stayer.id, stayer.incarnation, seq(stayer.id), { type: MessageType.WorkAck, kind: 1, entries: [{ unit: freeUnit, epoch: 1 }], markers: [0] }));
    sim.runFor(50);

    expect(actions.filter((a) => a.kind === 'state-sync' || a.kind === 'forwarded-packet' || a.kind === 'units-gained')).toEqual([]);
    expect(stayer.core.serves(freeUnit)).toBe(false);
    expect(stayer.core.ctx.channel.keys.current?.epoch).toBe(newKey?.epoch);
    expect(stayer.core.status().counters['drop.retired-key']).toBeGreaterThanOrEqual(3);
    expect(master.core.status().counters['drop.retired-key']).toBeGreaterThanOrEqual(1);
    // The cluster goes on under the new key.
    sim.net.heal();
    settle(sim, 3000);
    expect(stayer.core.ctx.channel.keys.current?.epoch).toBe(master.core.ctx.channel.keys.current?.epoch);
  });

  it('a key update is signed by the master: one from another member, or MACed, installs nothing', async () => {
    const fx = await fixtures();
    const sim = cluster(fx, 3, { seed: 42 });
    settle(sim, 1000);
    const master = masterOf(sim);
    const [a, b] = sim.live().filter((n) => n !== master);
    if (!a || !b) throw new Error('members');
    const keyUpdates: { from: number; bytes: number }[] = [];
    sim.taps.push((from, bytes, m) => {
      if (m.type === MessageType.KeyUpdate) keyUpdates.push({ from, bytes: bytes.length });
    });
    const before = a.core.ctx.channel.keys.current?.epoch;
    // A member (holding the current key) sends a key update of its own: signed by a member, not the master.
    const ownKey = a.core.ctx.channel.keys.current;
    if (!ownKey) throw new Error('no key');
    sim.inject(a.id, forge(ownKey, b.id, b.incarnation, 1_000_000, { type: MessageType.KeyUpdate, target: a.id, keyEpoch: 5, wrappedKey: new Uint8Array(80) }));
    sim.runFor(10);
    expect(a.core.ctx.channel.keys.current?.epoch).toBe(before);
    // A real rotation: b is killed and removed; a gets the master's signed update (with the certificate chain).
    sim.kill(b.id);
    settle(sim, 2000);
    expect(keyUpdates.length).toBeGreaterThan(0);
    expect(keyUpdates.every((k) => k.from === master.id && k.bytes > 300)).toBe(true);
    expect(a.core.ctx.channel.keys.current?.epoch).toBe(master.core.ctx.channel.keys.current?.epoch);
    expect(a.core.ctx.channel.keys.current?.epoch).not.toBe(before);
  });
});
