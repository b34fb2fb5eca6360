/**
 * The cluster host as the inside network's gateway: traffic routed between
 * the outer and the inner side is taken by the owner of its unit only (from
 * the outside by address pair, towards clients by destination only), its TTL
 * drops by one, and the owner alone sends time-exceeded and frag-needed.
 */
import { describe, expect, it } from 'vitest';
import { classifyForward, classifyToClient } from '../../src/cluster/filter.js';
import { parseIpv4 } from '../../src/lib/ipv4.js';
import { ClusterHost, type HostEffect } from '../../src/stack/cluster-host.js';
import { memberMac, sharedUnicastMac } from '../../src/stack/delivery-mode.js';
import { ARP_OP, encodeArp } from '../../src/wire/arp.js';
import { ETHERTYPE, decodeEthernet, encodeEthernet, zeroMac } from '../../src/wire/ethernet.js';
import { UNREACHABLE_CODE, decodeIcmp, encodeIcmp } from '../../src/wire/icmp.js';
import { IP_PROTOCOL, decodeIpv4, encodeIpv4 } from '../../src/wire/ipv4.js';
import { encodeUdp } from '../../src/wire/udp.js';

const CLUSTER = parseIpv4('198.18.1.10');
const INSIDE_GW = parseIpv4('198.18.2.1');
const ROUTER = parseIpv4('198.18.1.1');
const CLIENT = parseIpv4('198.18.16.2');
const APP = parseIpv4('198.18.2.100');
const FAR = parseIpv4('198.19.5.5'); // behind the inside router
const INSIDE_ROUTER = parseIpv4('198.18.2.254');
const ROUTER_MAC = Uint8Array.of(0x02, 0, 0, 0, 0, 1);
const APP_MAC = Uint8Array.of(0x02, 0, 0, 0, 0, 2);
const INSIDE_ROUTER_MAC = Uint8Array.of(0x02, 0, 0, 0, 0, 3);
const SELF = parseIpv4('198.18.3.11');
const OUTER_MAC = memberMac(SELF, 'outer');
const INNER_MAC = memberMac(SELF, 'inner');

function host(serves: (unit: number) => boolean, innerMtu = 1500): ClusterHost {
  return new ClusterHost(
    {
      mode: 'unicast',
      outer: { address: CLUSTER, ownMac: OUTER_MAC, subnet: { base: parseIpv4('198.18.1.0'), prefixLen: 24 }, gateway: ROUTER, mtu: 1500 },
      inner: {
        address: INSIDE_GW,
        ownMac: INNER_MAC,
        subnet: { base: parseIpv4('198.18.2.0'), prefixLen: 24 },
        gateway: INSIDE_ROUTER,
        routes: [{ base: parseIpv4('198.19.0.0'), prefixLen: 16 }],
        mtu: innerMtu,
      },
    },
    { serves, isMaster: () => false, inTransition: () => false, masterId: () => 0 },
  );
}

function packet(src: number, dst: number, o: { ttl?: number; df?: boolean; size?: number; protocol?: number; payload?: Uint8Array } = {}): Uint8Array {
  const protocol = o.protocol ?? IP_PROTOCOL.UDP;
  const payload = o.payload ?? encodeUdp({ srcPort: 40000, dstPort: 5001, payload: new Uint8Array(o.size ?? 16).fill(7) }, { src, dst });
  return encodeIpv4({
    header: { dscp: 0, ecn: 0, id: 99, dontFragment: o.df ?? false, moreFragments: false, fragmentOffset: 0, ttl: o.ttl ?? 64, protocol, src, dst, options: new Uint8Array(0) },
    payload,
  });
}

function frame(dst: Uint8Array, src: Uint8Array, ip: Uint8Array): Uint8Array {
  return encodeEthernet({ dst, src, etherType: ETHERTYPE.IPV4, payload: ip });
}

const fromOutside = (ip: Uint8Array): Uint8Array => frame(sharedUnicastMac(CLUSTER), ROUTER_MAC, ip);
const fromInside = (ip: Uint8Array): Uint8Array => frame(sharedUnicastMac(INSIDE_GW), APP_MAC, ip);

function teach(h: ClusterHost, side: 'outer' | 'inner', ip: number, mac: Uint8Array, own: Uint8Array, now = 0): void {
  h.input(now, side, encodeEthernet({ dst: own, src: mac, etherType: ETHERTYPE.ARP, payload: encodeArp({ op: ARP_OP.REPLY, senderMac: mac, senderIp: ip, targetMac: zeroMac(), targetIp: 0 }) }));
}

function knowAll(h: ClusterHost): ClusterHost {
  teach(h, 'outer', ROUTER, ROUTER_MAC, OUTER_MAC);
  teach(h, 'inner', APP, APP_MAC, INNER_MAC);
  teach(h, 'inner', INSIDE_ROUTER, INSIDE_ROUTER_MAC, INNER_MAC);
  return h;
}

function sent(effects: HostEffect[]): { side: string; dstMac: Uint8Array; srcMac: Uint8Array; ip: ReturnType<typeof decodeIpv4> }[] {
  return effects.flatMap((e) => {
    if (e.kind !== 'frame') return [];
    const eth = decodeEthernet(e.frame);
    if (!eth.ok) throw new Error('bad frame');
    return [{ side: e.side, dstMac: eth.value.dst, srcMac: eth.value.src, ip: decodeIpv4(eth.value.payload) }];
  });
}

describe('cluster host routing between the outer and the inner side', () => {
  it('routes client → app host through the owner of the address pair, TTL − 1, from its inner MAC', () => {
    const ip = packet(CLIENT, APP, { ttl: 30 });
    const unit = classifyForward(ip);
    const h = knowAll(host((u) => u === unit));
    const [out, ...rest] = sent(h.input(1, 'outer', fromOutside(ip)));
    expect(rest).toEqual([]);
    expect(out?.side).toBe('inner');
    expect(out?.dstMac).toEqual(APP_MAC);
    expect(out?.srcMac).toEqual(INNER_MAC);
    expect(out?.ip.ok && out.ip.value.header).toMatchObject({ src: CLIENT, dst: APP, ttl: 29 });
    expect(h.counters.get('routed.outer-to-inner')).toBe(1);
  });

  it('routes app host → client by the destination only, and networks behind the inside router through it', () => {
    const back = packet(APP, CLIENT);
    const h = knowAll(host((u) => u === classifyToClient(back)));
    const [out] = sent(h.input(1, 'inner', fromInside(back)));
    expect(out?.side).toBe('outer');
    expect(out?.dstMac).toEqual(ROUTER_MAC);
    const far = packet(CLIENT, FAR);
    const h2 = knowAll(host((u) => u === classifyForward(far)));
    expect(sent(h2.input(1, 'outer', fromOutside(far)))[0]?.dstMac).toEqual(INSIDE_ROUTER_MAC);
  });

  it('a member that does not own the unit routes nothing and answers nothing, not even for TTL 1', () => {
    const h = knowAll(host(() => false));
    expect(h.input(1, 'outer', fromOutside(packet(CLIENT, APP)))).toEqual([]);
    expect(h.input(1, 'outer', fromOutside(packet(CLIENT, APP, { ttl: 1 })))).toEqual([]);
    expect(h.input(1, 'inner', fromInside(packet(APP, CLIENT)))).toEqual([]);
    expect(h.counters.get('drop.not-mine')).toBe(3);
  });

  it('the owner answers TTL 1 with time exceeded from the side it arrived on', () => {
    const h = knowAll(host(() => true));
    const [err] = sent(h.input(1, 'outer', fromOutside(packet(CLIENT, APP, { ttl: 1 }))));
    expect(err?.side).toBe('outer');
    expect(err?.ip.ok && err.ip.value.header).toMatchObject({ src: CLUSTER, dst: CLIENT, protocol: IP_PROTOCOL.ICMP });
    const icmp = err?.ip.ok ? decodeIcmp(err.ip.value.payload) : null;
    expect(icmp?.ok && icmp.value).toMatchObject({ kind: 'time-exceeded', code: 0 });
  });

  it('a DF packet larger than the other side’s MTU gets frag-needed with that MTU; without DF it is fragmented', () => {
    const h = knowAll(host(() => true, 1000));
    const [err, ...none] = sent(h.input(1, 'outer', fromOutside(packet(CLIENT, APP, { df: true, size: 1200 }))));
    expect(none).toEqual([]);
    const icmp = err?.ip.ok ? decodeIcmp(err.ip.value.payload) : null;
    expect(icmp?.ok && icmp.value).toMatchObject({ kind: 'destination-unreachable', code: UNREACHABLE_CODE.FRAGMENTATION_NEEDED, nextHopMtu: 1000 });
    expect(err?.side).toBe('outer');
    const pieces = sent(h.input(2, 'outer', fromOutside(packet(CLIENT, APP, { size: 1200 }))));
    expect(pieces.map((p) => p.side)).toEqual(['inner', 'inner']);
    expect(pieces.every((p) => p.ip.ok && p.ip.value.header.ttl === 63)).toBe(true);
  });

  it('no ICMP error about an ICMP error', () => {
    const h = knowAll(host(() => true));
    const inner = packet(APP, CLIENT);
    const error = encodeIcmp({ kind: 'destination-unreachable', code: 3, nextHopMtu: 0, original: inner.subarray(0, 28) });
    expect(h.input(1, 'outer', fromOutside(packet(CLIENT, APP, { ttl: 1, protocol: IP_PROTOCOL.ICMP, payload: error })))).toEqual([]);
    expect(h.counters.get('drop.icmp-about-icmp-error')).toBe(1);
  });

  it('the owner answers ping on the inside gateway; traffic back out of the side it came in is not routed', () => {
    const h = knowAll(host(() => true));
    const ping = encodeIcmp({ kind: 'echo-request', id: 1, seq: 2, data: Uint8Array.of(9) });
    const [pong] = sent(h.input(1, 'inner', fromInside(packet(APP, INSIDE_GW, { protocol: IP_PROTOCOL.ICMP, payload: ping }))));
    expect(pong?.side).toBe('inner');
    expect(pong?.ip.ok && pong.ip.value.header).toMatchObject({ src: INSIDE_GW, dst: APP });
    expect(h.input(1, 'outer', fromOutside(packet(CLIENT, parseIpv4('198.18.20.1'))))).toEqual([]);
    expect(h.counters.get('drop.hairpin')).toBe(1);
  });
});

describe('gateways stay resolved', () => {
  it('each side asks for its gateway on the first tick and again before the entry could lapse', () => {
    const h = host(() => true);
    const probes = (effects: HostEffect[]): string[] =>
      effects.flatMap((e) => {
        if (e.kind !== 'frame') return [];
        const eth = decodeEthernet(e.frame);
        return eth.ok && eth.value.etherType === ETHERTYPE.ARP ? [e.side] : [];
      });
    expect(probes(h.tick(0)).sort()).toEqual(['inner', 'outer']);
    expect(probes(h.tick(1))).toEqual([]);
    knowAll(h);
    const refresh = h.nextWakeAt();
    expect(refresh).toBeGreaterThan(1);
    expect(refresh).toBeLessThan(30_000); // before the 30 s neighbour timeout
    expect(probes(h.tick(refresh)).sort()).toEqual(['inner', 'outer']);
    // The router answers the refresh, so its entry is fresh past the first timeout: a packet 31 s in goes straight out.
    teach(h, 'outer', ROUTER, ROUTER_MAC, OUTER_MAC, refresh);
    const [out, ...none] = sent(h.input(31_000, 'inner', fromInside(packet(APP, CLIENT))));
    expect(none).toEqual([]);
    expect(out?.dstMac).toEqual(ROUTER_MAC);
  });
});
