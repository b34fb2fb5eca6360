/**
 * Classification plus forwarding through one member, packets per second on
 * one core, in process (no TAP, no kernel: bench/tap.ts measures the device):
 *
 *   route:    a frame from the outside to the application host, taken by its
 *             unit's owner: Ethernet and IPv4 decode, classifyForward, TTL − 1
 *             with the checksum patched, next hop, Ethernet encode.
 *   hand-over: forwarding mode, the master's path for another member's unit:
 *             decode, classifyInbound, and the FORWARDED_PACKET sealed with
 *             the cluster key (HMAC-SHA-256) ready for the interconnect.
 *
 * Each frame is restored from a pristine copy before it goes in (routing
 * rewrites the TTL in place, as it would in the receive buffer); the copy is
 * part of the figure.
 */
import { loadavg } from 'node:os';
import { newClusterKey } from '../src/cluster/auth/cluster-key.js';
import { ControlChannel } from '../src/cluster/membership/channel.js';
import { ForwardSide, MessageType } from '../src/cluster/messages.js';
import { parseIpv4 } from '../src/lib/ipv4.js';
import { SeededRandom } from '../src/lib/random.js';
import { ClusterHost } from '../src/stack/cluster-host.js';
import { memberMac, sharedUnicastMac, type DeliveryMode } from '../src/stack/delivery-mode.js';
import { ARP_OP, encodeArp } from '../src/wire/arp.js';
import { ETHERTYPE, encodeEthernet, zeroMac } from '../src/wire/ethernet.js';
import { IP_PROTOCOL, encodeIpv4 } from '../src/wire/ipv4.js';
import { encodeUdp } from '../src/wire/udp.js';
import { fixtureMemberConfig, standardFixtures } from '../test/support/pki.js';
import { measureRounds, type Measured } from './measure.js';
import { type BenchResult, formatResult } from './result.js';

const CLUSTER = parseIpv4('198.18.1.10');
const INSIDE = parseIpv4('198.18.2.1');
const ROUTER = parseIpv4('198.18.1.1');
const APP = parseIpv4('198.18.2.100');
const SELF = parseIpv4('198.18.3.11');
const ROUTER_MAC = Uint8Array.of(2, 0, 0, 0, 0, 1);
const APP_MAC = Uint8Array.of(2, 0, 0, 0, 0, 2);
const FLOWS = 1024;
const SIZES = [64, 1400] as const;

function host(mode: DeliveryMode, mine: boolean): ClusterHost {
  const h = new ClusterHost(
    {
      mode,
      outer: { address: CLUSTER, ownMac: memberMac(SELF, 'outer'), subnet: { base: parseIpv4('198.18.1.0'), prefixLen: 24 }, gateway: ROUTER, mtu: 1500 },
      inner: { address: INSIDE, ownMac: memberMac(SELF, 'inner'), subnet: { base: parseIpv4('198.18.2.0'), prefixLen: 24 }, gateway: null, mtu: 1500 },
    },
    { serves: () => mine, isMaster: () => true, inTransition: () => false, masterId: () => 0 },
  );
  h.ownerOf = () => parseIpv4('198.18.3.12');
  const teach = (side: 'outer' | 'inner', ip: number, mac: Uint8Array): void => {
    const own = memberMac(SELF, side);
    h.input(0, side, encodeEthernet({ dst: own, src: mac, etherType: ETHERTYPE.ARP, payload: encodeArp({ op: ARP_OP.REPLY, senderMac: mac, senderIp: ip, targetMac: zeroMac(), targetIp: 0 }) }));
  };
  teach('outer', ROUTER, ROUTER_MAC);
  teach('inner', APP, APP_MAC);
  return h;
}

/** Frames of FLOWS client flows (distinct source addresses and ports) to `dst`, to the mode's MAC. */
function frames(dst: number, dstMac: Uint8Array, size: number): Uint8Array[] {
  const rng = new SeededRandom(size);
  return Array.from({ length: FLOWS }, () => {
    const src = (parseIpv4('198.18.16.0') + 2 + (rng.u32() % 4000)) >>> 0;
    const udp = encodeUdp({ srcPort: 1024 + (rng.u32() % 60000), dstPort: 7, payload: new Uint8Array(size - 20 - 8 - 14) }, { src, dst });
    const ip = encodeIpv4({
      header: { dscp: 0, ecn: 0, id: rng.u32() & 0xffff, dontFragment: false, moreFragments: false, fragmentOffset: 0, ttl: 64, protocol: IP_PROTOCOL.UDP, src, dst, options: new Uint8Array(0) },
      payload: udp,
    });
    return encodeEthernet({ dst: dstMac, src: ROUTER_MAC, etherType: ETHERTYPE.IPV4, payload: ip });
  });
}


/** Each frame restored from its pristine copy, then stepped; `out` counts what came out. */
function measure(seconds: number, pristine: Uint8Array[], step: (frame: Uint8Array) => number): Measured & { out: number } {
  const work = pristine.map((f) => f.slice());
  let out = 0;
  const m = measureRounds(
    () => {
      for (let i = 0; i < work.length; i++) {
        const f = work[i]!;
        f.set(pristine[i]!);
        out += step(f);
      }
      return out;
    },
    work.length,
    seconds,
  );
  return { ...m, out };
}

export async function run(): Promise<BenchResult[]> {
  const fx = await standardFixtures();
  const cfg = fixtureMemberConfig(fx, SELF);
  const channel = new ControlChannel(cfg);
  channel.keys.set(newClusterKey(new SeededRandom(7), 1));

  const results: BenchResult[] = [];
  for (const size of SIZES) {
    const router = host('unicast', true);
    const routed = frames(APP, sharedUnicastMac(CLUSTER), size);
    const route = (f: Uint8Array): number => router.input(1, 'outer', f).length;
    measure(0.25, routed, route);
    const r = measure(1, routed, route);
    if (r.out < 1 || router.counters.get('routed.outer-to-inner') === undefined) throw new Error('forwarding bench: nothing was routed');

    const master = host('forwarding', false);
    const toMaster = frames(CLUSTER, memberMac(SELF, 'outer'), size);
    const handOver = (f: Uint8Array): number => {
      let n = 0;
      for (const e of master.input(1, 'outer', f)) {
        if (e.kind !== 'forward') continue;
        n += channel.seal({ type: MessageType.ForwardedPacket, unit: e.unit, side: ForwardSide.Outer, packet: e.packet }, 0).length > 0 ? 1 : 0;
      }
      return n;
    };
    measure(0.25, toMaster, handOver);
    const h = measure(1, toMaster, handOver);
    if (h.out < 1) throw new Error('forwarding bench: nothing was handed over');

    const conditions = { frameBytes: size, flows: FLOWS, node: process.version, loadAverage1m: Math.round(loadavg()[0]! * 100) / 100 };
    results.push(
      { name: `forwarding/route-${size}B`, figure: r.perSecond / 1e6, unit: 'M packets/s', conditions: { ...conditions, perCpuSecondM: Math.round(r.perCpuSecond / 1e4) / 100 } },
      { name: `forwarding/master-hand-over-${size}B`, figure: h.perSecond / 1e6, unit: 'M packets/s', conditions: { ...conditions, perCpuSecondM: Math.round(h.perCpuSecond / 1e4) / 100, mac: 'HMAC-SHA-256' } },
    );
  }
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await run()) console.log(formatResult(r));
}
