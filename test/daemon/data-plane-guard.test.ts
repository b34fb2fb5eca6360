/**
 * The data plane's entry points (TAP readiness, timers, actions from the
 * interconnect) never let an exception out to the event loop: in the daemon
 * one escaping the TAP callback stopped the master (the 65,000-byte ping in
 * forwarding mode). Whatever throws costs that one input, counted and
 * logged, and the rest of the batch is still served.
 *
 *   memory TAP readiness ─► DataPlane.drain ─► ClusterHost ─► forwarder (throws here) ─► caught
 *                                                          └► the next frame (ours) ─► served
 */
import { describe, expect, it } from 'vitest';
import { classifyInbound } from '../../src/cluster/filter.js';
import { DataPlane } from '../../src/daemon/data-plane.js';
import { ManualClock } from '../../src/lib/clock.js';
import { parseIpv4 } from '../../src/lib/ipv4.js';
import type { LogLevel } from '../../src/mgmt/log.js';
import { MemoryTapInterface } from '../../src/ports/tap-memory.js';
import { memberMac } from '../../src/stack/delivery-mode.js';
import { ETHERTYPE, encodeEthernet } from '../../src/wire/ethernet.js';
import { icmpEcho, ipv4, PROTO } from '../support/packets.js';
import { cluster, fixtures, masterOf, settle } from '../sim/harness.js';

const CLUSTER = parseIpv4('198.18.1.10');
const ROUTER_MAC = Uint8Array.of(0x02, 0, 0, 0, 0, 1);

describe('data plane entry points', () => {
  it('a forwarder that throws costs its packet only: the TAP callback returns, the next frame is served, both counted', async () => {
    const sim = cluster(await fixtures(), 2, { seed: 5 });
    settle(sim, 2000);
    const master = masterOf(sim);
    const other = sim.live().find((n) => n !== master);
    if (!other) throw new Error('no second member');
    if (!sim.runUntilTrue(() => other.core.servedUnits().length > 400, 10_000)) throw new Error('no units for the second member');
    sim.runFor(1000); // the master's view settles once the assignments are acknowledged

    const ready: (() => void)[] = [];
    const iface = new MemoryTapInterface({ name: 'tapo', schedule: (task) => ready.push(task) });
    const logged: { level: LogLevel; event: string }[] = [];
    const dp = new DataPlane(
      { outer: iface.open() },
      master.core,
      {
        mode: 'forwarding',
        outer: { address: CLUSTER, ownMac: memberMac(master.id, 'outer'), subnet: { base: parseIpv4('198.18.1.0'), prefixLen: 24 }, gateway: parseIpv4('198.18.1.1'), mtu: 1500 },
      },
      new ManualClock(0),
      { after: () => () => undefined },
      { log: (level, event) => void logged.push({ level, event }) },
    );
    dp.forwarder = () => {
      throw new Error('interconnect encoder failed');
    };
    dp.start();

    // One ping from a client whose unit the other member serves (forwarded: throws), then one the master serves.
    const pingFrom = (src: number): Uint8Array => ipv4({ src, dst: CLUSTER, protocol: PROTO.ICMP, payload: icmpEcho(1, 1) });
    const find = (owner: (u: number) => boolean): number => {
      for (let src = parseIpv4('198.18.16.2'); ; src++) if (owner(classifyInbound(pingFrom(src)))) return src;
    };
    const theirs = find((u) => other.core.serves(u));
    const ours = find((u) => master.core.serves(u));
    for (const src of [theirs, ours]) iface.inject(encodeEthernet({ dst: memberMac(master.id, 'outer'), src: ROUTER_MAC, etherType: ETHERTYPE.IPV4, payload: pingFrom(src) }));

    expect(ready.length).toBeGreaterThan(0);
    for (const task of ready.splice(0)) expect(task).not.toThrow();
    const counters = dp.counters();
    expect(counters['exception.forward']).toBe(1);
    expect(counters['forwarded']).toBe(1);
    expect(counters['mine']).toBe(1);
    expect(logged).toContainEqual({ level: 'error', event: 'data-plane.exception' });
    dp.stop();
  });
});
