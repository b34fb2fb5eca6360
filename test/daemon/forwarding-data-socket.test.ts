/**
 * Forwarding mode's packets travel apart from the control plane (issue 11,
 * "control-plane priority"): in one socket queue with keepalives, a flood of
 * FORWARDED_PACKETs delayed keepalives past the 200 ms watchdog or
 * overflowed the queue, and members were removed. Now the runner sends them
 * on a data transport of their own, and they count in a sequence space of
 * their own, so the two sockets reordering against each other cannot push
 * a keepalive out of the replay window.
 *
 *   core 'send' ForwardedPacket ─► runner ─► data transport
 *   core 'send' anything else   ─► runner ─► control transport
 *   master: keepalive (seq k), then 100 forwarded packets ─► owner receives the forwarded first
 *     ─► the keepalive is still fresh (it was 'replayed' when both shared one counter)
 */
import { describe, expect, it } from 'vitest';
import { AppHost } from '../../src/apps/app-host.js';
import type { Action } from '../../src/cluster/membership/actions.js';
import type { MemberCore } from '../../src/cluster/membership/core.js';
import { ForwardSide, MessageType, type ControlMessage } from '../../src/cluster/messages.js';
import type { MemberId } from '../../src/cluster/types.js';
import { ManualClock } from '../../src/lib/clock.js';
import { MemberRunner } from '../../src/daemon/member-runner.js';
import type { ControlTransport } from '../../src/ports/control-transport.js';
import { cluster, fixtures, masterOf, settle } from '../sim/harness.js';

function transport(): ControlTransport & { sent: Uint8Array[]; deliver: (bytes: Uint8Array) => void } {
  let handler: ((bytes: Uint8Array, from: MemberId) => void) | null = null;
  const sent: Uint8Array[] = [];
  return {
    self: 1,
    errors: new Map(),
    sent,
    send: (bytes) => void sent.push(bytes),
    onDatagram: (h) => void (handler = h),
    deliver: (bytes) => handler?.(bytes, 2),
    close: async () => undefined,
  };
}

const send = (message: ControlMessage, tag: number): Action => ({ kind: 'send', to: 2, bytes: Uint8Array.of(tag), message });

describe('forwarding mode: forwarded packets apart from the control plane', () => {
  it('the runner sends forwarded packets on the data transport and everything else on the control transport, and reads both', () => {
    const received: number[] = [];
    const core = {
      start: (): Action[] => [],
      nextWakeAt: () => Infinity,
      handleDatagram: (_now: number, bytes: Uint8Array): Action[] => {
        received.push(bytes[0] ?? 0);
        return [];
      },
    } as unknown as MemberCore;
    const control = transport();
    const data = transport();
    const runner = new MemberRunner(core, { transport: control, data, clock: new ManualClock(0), timers: { after: () => () => undefined }, apps: new AppHost([]), log: { log: () => undefined } });
    runner.start();
    runner.applyActions([
      send({ type: MessageType.ForwardedPacket, unit: 1, side: ForwardSide.Outer, packet: new Uint8Array(20) }, 1),
      send({ type: MessageType.TableRequest }, 2),
      send({ type: MessageType.ForwardedPacket, unit: 2, side: ForwardSide.Inner, packet: new Uint8Array(20) }, 3),
    ]);
    expect(data.sent.map((b) => b[0])).toEqual([1, 3]);
    expect(control.sent.map((b) => b[0])).toEqual([2]);
    data.deliver(Uint8Array.of(7));
    control.deliver(Uint8Array.of(8));
    expect(received).toEqual([7, 8]);
  });

  it('a keepalive that arrives after 100 forwarded packets sent later is still accepted', async () => {
    const sim = cluster(await fixtures(), 2, { seed: 17 });
    settle(sim, 2000);
    const master = masterOf(sim);
    const owner = sim.live().find((n) => n !== master);
    if (!owner) throw new Error('no second member');
    if (!sim.runUntilTrue(() => owner.core.servedUnits().length > 400, 10_000)) throw new Error('no units for the second member');
    sim.runFor(500);
    // From here the test drives both cores by hand: the master's next keepalive is held back.
    let now = sim.now;
    let keepalive: Uint8Array | undefined;
    while (!keepalive && now < sim.now + 1000) {
      now += 5;
      const actions = master.core.tick(now);
      keepalive = actions.find((a): a is Extract<Action, { kind: 'send' }> => a.kind === 'send' && a.message.type === MessageType.MasterKeepalive)?.bytes;
    }
    if (!keepalive) throw new Error('no master keepalive');
    const unit = owner.core.servedUnits()[0] ?? 0;
    let forwarded = 0;
    for (let i = 0; i < 100; i++) {
      for (const a of master.core.forward(now, owner.id, unit, ForwardSide.Outer, new Uint8Array(64).fill(i))) {
        if (a.kind !== 'send') continue;
        forwarded += owner.core.handleDatagram(now, a.bytes).filter((x) => x.kind === 'forwarded-packet').length;
      }
    }
    expect(forwarded).toBe(100);
    const replayedBefore = owner.core.status().counters['drop.replayed'] ?? 0;
    const acceptedBefore = owner.core.status().counters['accepted'] ?? 0;
    owner.core.handleDatagram(now, keepalive);
    expect(owner.core.status().counters['drop.replayed'] ?? 0).toBe(replayedBefore);
    expect(owner.core.status().counters['accepted']).toBe(acceptedBefore + 1);
  });
});
