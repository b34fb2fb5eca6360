/**
 * A unit moving between live members loses no packet and serves none twice:
 * in unicast mode the old owner serves on through the grace, the new owner
 * replays what it held after the old owner's marker, and a bystander drops
 * its copies; in forwarding mode the master holds the unit's packets and hands
 * all of them to the new owner once it has acknowledged.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classifyInbound } from '../../src/cluster/filter.js';
import { parseIpv4 } from '../../src/lib/ipv4.js';
import { ClusterHost, type HostEffect, type Ownership } from '../../src/stack/cluster-host.js';
import { memberMac, sharedUnicastMac, type DeliveryMode } from '../../src/stack/delivery-mode.js';
import { ARP_OP, encodeArp } from '../../src/wire/arp.js';
import { ETHERTYPE, decodeEthernet, encodeEthernet, zeroMac } from '../../src/wire/ethernet.js';
import { IP_PROTOCOL, decodeIpv4, encodeIpv4 } from '../../src/wire/ipv4.js';
import { decodeUdp, encodeUdp } from '../../src/wire/udp.js';

const CLUSTER = parseIpv4('198.18.1.10');
const ROUTER = parseIpv4('198.18.1.1');
const CLIENT = parseIpv4('198.18.16.2');
const ROUTER_MAC = Uint8Array.of(0x02, 0, 0, 0, 0, 1);
const A = parseIpv4('198.18.3.11');
const B = parseIpv4('198.18.3.12');
const C = parseIpv4('198.18.3.13');

/** What each member believes about the moving unit. */
class View implements Ownership {
  serving = false;
  moving = false;
  master = false;
  serves(): boolean {
    return this.serving;
  }
  isMaster(): boolean {
    return this.master;
  }
  inTransition(): boolean {
    return this.moving;
  }
  masterId(): number {
    return 0;
  }
}

function member(self: number, view: View, mode: DeliveryMode = 'unicast'): ClusterHost {
  const own = memberMac(self, 'outer');
  const h = new ClusterHost({ mode, outer: { address: CLUSTER, ownMac: own, subnet: { base: parseIpv4('198.18.1.0'), prefixLen: 24 }, gateway: ROUTER, mtu: 1500 } }, view);
  h.input(0, 'outer', encodeEthernet({ dst: own, src: ROUTER_MAC, etherType: ETHERTYPE.ARP, payload: encodeArp({ op: ARP_OP.REPLY, senderMac: ROUTER_MAC, senderIp: ROUTER, targetMac: zeroMac(), targetIp: 0 }) }));
  return h;
}

/** Echo request `i` of one flow (one unit), as the router delivers it. */
function request(i: number, dstMac = sharedUnicastMac(CLUSTER)): Uint8Array {
  const udp = encodeUdp({ srcPort: 40000, dstPort: 7, payload: Uint8Array.of(i >> 8, i & 0xff) }, { src: CLIENT, dst: CLUSTER });
  const ip = encodeIpv4({
    header: { dscp: 0, ecn: 0, id: i, dontFragment: false, moreFragments: false, fragmentOffset: 0, ttl: 63, protocol: IP_PROTOCOL.UDP, src: CLIENT, dst: CLUSTER, options: new Uint8Array(0) },
    payload: udp,
  });
  return encodeEthernet({ dst: dstMac, src: ROUTER_MAC, etherType: ETHERTYPE.IPV4, payload: ip });
}

/** The sequence numbers of the echo replies among `effects`. */
function echoed(effects: HostEffect[]): number[] {
  return effects.flatMap((e) => {
    if (e.kind !== 'frame') return [];
    const eth = decodeEthernet(e.frame);
    const ip = eth.ok ? decodeIpv4(eth.value.payload) : null;
    if (!ip?.ok || ip.value.header.protocol !== IP_PROTOCOL.UDP) return [];
    const u = decodeUdp(ip.value.payload, { src: ip.value.header.src, dst: ip.value.header.dst });
    return u.ok ? [(u.value.payload[0]! << 8) | u.value.payload[1]!] : [];
  });
}

describe('hand-over of a moving unit between live members', () => {
  it('unicast: every request is answered exactly once, wherever the de-assign, release and assign fall', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 120 }), fc.nat(), fc.nat(), fc.nat(), (n, x, y, z) => {
        // De-assign seen at d; the old owner stops at r (after its grace); the new owner gains at g.
        const d = x % (n + 1);
        const r = d + (y % (n - d + 1));
        const g = r + (z % (n - r + 1));
        const va = Object.assign(new View(), { serving: true });
        const vb = new View();
        const vc = new View();
        const [a, b, c] = [member(A, va), member(B, vb), member(C, vc)];
        const answers: number[] = [];
        const unit = classifyInbound(decodeEthernet(request(0)).ok ? (decodeEthernet(request(0)) as { value: { payload: Uint8Array } }).value.payload : new Uint8Array());
        for (let i = 0; i <= n; i++) {
          if (i === d) for (const v of [va, vb, vc]) v.moving = true;
          if (i === r) va.serving = false;
          if (i === g) {
            for (const v of [va, vb, vc]) v.moving = false;
            vb.serving = true;
            answers.push(...echoed(b.unitsGained(i, [{ unit, marker: a.hold.markerOf(unit) }])));
            c.tick(i);
          }
          if (i === n) break;
          const f = request(i);
          for (const h of [a, b, c]) answers.push(...echoed(h.input(i, 'outer', f)));
        }
        expect(answers.sort((p, q) => p - q)).toEqual(Array.from({ length: n }, (_, i) => i));
        expect(c.hold.heldUnits).toBe(0);
        expect(b.hold.heldUnits).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it('unicast: still exactly once when the new owner reads the same frames later than the old owner (a queue behind)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 80 }), fc.integer({ min: 0, max: 30 }), fc.nat(), fc.nat(), fc.nat(), fc.nat(), (n, lag, x, y, z, w) => {
        // Steps of one clock; the old owner reads frame i at step i, the new owner at step i + lag.
        const end = n + lag;
        const dOld = x % (end + 1); // the old owner hears the de-assign
        const release = dOld + (y % (end - dOld + 1)); // and lets go after its grace
        const dNew = z % (end + 1); // the new owner hears the de-assign (before or after the old owner let go)
        const gain = Math.max(release, dNew) + (w % (end - Math.max(release, dNew) + 1));
        const vo = Object.assign(new View(), { serving: true });
        const vn = new View();
        const [o, t] = [member(A, vo), member(B, vn)];
        const eth = decodeEthernet(request(0));
        const unit = eth.ok ? classifyInbound(eth.value.payload) : -1;
        const answers: number[] = [];
        let marker = 0;
        for (let step = 0; step <= end; step++) {
          if (step === dOld) vo.moving = true;
          if (step === release) {
            vo.serving = false;
            marker = o.hold.markerOf(unit);
          }
          if (step === dNew) vn.moving = true;
          if (step === gain) {
            vn.moving = false;
            vn.serving = true;
            answers.push(...echoed(t.unitsGained(step, [{ unit, marker }])));
          }
          if (step < n) answers.push(...echoed(o.input(step, 'outer', request(step))));
          const late = step - lag;
          if (late >= 0 && late < n) answers.push(...echoed(t.input(step, 'outer', request(late))));
        }
        // Never twice. None lost as long as the new owner started holding (in its own stream) no later than
        // where the old owner stopped, which is what the old owner's grace is for.
        expect(new Set(answers).size).toBe(answers.length);
        if (dNew - lag <= release) expect(answers.sort((p, q) => p - q)).toEqual(Array.from({ length: n }, (_, i) => i));
      }),
      { numRuns: 1000 },
    );
  });

  it('forwarding: a master that takes a unit over itself serves everything it held, whatever the marker', () => {
    const vm = Object.assign(new View(), { master: true, moving: true });
    const m = member(A, vm, 'forwarding');
    const own = memberMac(A, 'outer');
    m.ownerOf = () => B;
    for (let i = 0; i < 5; i++) expect(m.input(i, 'outer', request(i, own))).toEqual([]);
    vm.moving = false;
    vm.serving = true;
    const eth = decodeEthernet(request(0));
    const unit = eth.ok ? classifyInbound(eth.value.payload) : -1;
    expect(echoed(m.unitsGained(5, [{ unit, marker: 0x1234 }]))).toEqual([0, 1, 2, 3, 4]);
    expect(echoed(m.input(6, 'outer', request(5, own)))).toEqual([5]);
  });

  it('a unit gained without a hand-over (its owner failed) drops what was held: no second answers', () => {
    const vb = Object.assign(new View(), { moving: true });
    const b = member(B, vb);
    for (let i = 0; i < 5; i++) b.input(i, 'outer', request(i));
    vb.moving = false;
    vb.serving = true;
    const eth = decodeEthernet(request(0));
    const unit = eth.ok ? classifyInbound(eth.value.payload) : -1;
    expect(b.unitsGained(5, [{ unit }])).toEqual([]);
    expect(b.counters.get('hold.discarded')).toBe(5);
  });

  it('forwarding: the master holds a unit being assigned and hands all of it on once the owner acknowledged', () => {
    const vm = Object.assign(new View(), { master: true, moving: true });
    const m = member(A, vm, 'forwarding');
    const own = memberMac(A, 'outer');
    for (let i = 0; i < 10; i++) expect(m.input(i, 'outer', request(i, own))).toEqual([]);
    expect(m.nextWakeAt()).toBeLessThanOrEqual(15);
    expect(m.tick(10).filter((e) => e.kind === 'forward')).toEqual([]); // still being assigned
    vm.moving = false;
    m.ownerOf = () => B;
    const handed = m.tick(11).filter((e) => e.kind === 'forward');
    expect(handed.map((e) => e.kind)).toEqual(new Array(10).fill('forward'));
    const ids = handed.map((e) => (e.kind === 'forward' ? decodeIpv4(e.packet) : null)).map((d) => (d?.ok ? d.value.header.id : -1));
    expect(ids).toEqual(Array.from({ length: 10 }, (_, i) => i));
    // Afterwards packets go straight on.
    expect(m.input(12, 'outer', request(10, own)).map((e) => e.kind)).toEqual(['forward']);
  });
});
