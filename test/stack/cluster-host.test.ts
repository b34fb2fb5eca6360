/**
 * The cluster host, driven frame by frame: who answers ARP, who answers a
 * packet (its unit's owner only, never anyone else), how replies find the
 * router, what the master does in forwarding mode, and how traffic is routed
 * between the outer and the inner side (TTL, frag-needed, owner only).
 */
import { describe, expect, it } from 'vitest';
import { classifyInbound } from '../../src/cluster/filter.js';
import { parseIpv4 } from '../../src/lib/ipv4.js';
import { memberMac, sharedUnicastMac, type DeliveryMode } from '../../src/stack/delivery-mode.js';
import { ClusterHost, type HostEffect } from '../../src/stack/cluster-host.js';
import { ARP_OP, decodeArp, encodeArp } from '../../src/wire/arp.js';
import { ETHERTYPE, broadcastMac, decodeEthernet, encodeEthernet, zeroMac } from '../../src/wire/ethernet.js';
import { decodeIcmp, encodeIcmp } from '../../src/wire/icmp.js';
import { IP_PROTOCOL, decodeIpv4, encodeIpv4 } from '../../src/wire/ipv4.js';
import { decodeUdp, encodeUdp } from '../../src/wire/udp.js';

const CLUSTER = parseIpv4('198.18.1.10');
const ROUTER = parseIpv4('198.18.1.1');
const CLIENT = parseIpv4('198.18.16.2');
const ROUTER_MAC = Uint8Array.of(0x02, 0, 0, 0, 0, 1);
const OWN = memberMac(parseIpv4('198.18.3.11'), 'outer');

function host(mode: DeliveryMode, opts: { mine: boolean; master: boolean }): ClusterHost {
  return new ClusterHost(
    { mode, outer: { address: CLUSTER, ownMac: OWN, subnet: { base: parseIpv4('198.18.1.0'), prefixLen: 24 }, gateway: ROUTER, mtu: 1500 } },
    { serves: () => opts.mine, isMaster: () => opts.master, inTransition: () => false, masterId: () => 0 },
  );
}

function ip(protocol: number, payload: Uint8Array, src = CLIENT): Uint8Array {
  return encodeIpv4({
    header: { dscp: 0, ecn: 0, id: 7, dontFragment: false, moreFragments: false, fragmentOffset: 0, ttl: 60, protocol, src, dst: CLUSTER, options: new Uint8Array(0) },
    payload,
  });
}

function udpFrame(dstPort: number, data: number[], dst = sharedUnicastMac(CLUSTER)): Uint8Array {
  const udp = encodeUdp({ srcPort: 40000, dstPort, payload: Uint8Array.from(data) }, { src: CLIENT, dst: CLUSTER });
  return encodeEthernet({ dst, src: ROUTER_MAC, etherType: ETHERTYPE.IPV4, payload: ip(IP_PROTOCOL.UDP, udp) });
}

function arpFrame(op: 1 | 2, senderMac: Uint8Array, senderIp: number, targetIp: number, dst = broadcastMac()): Uint8Array {
  return encodeEthernet({ dst, src: senderMac, etherType: ETHERTYPE.ARP, payload: encodeArp({ op, senderMac, senderIp, targetMac: zeroMac(), targetIp }) });
}

function frames(effects: HostEffect[]): Uint8Array[] {
  return effects.flatMap((e) => (e.kind === 'frame' ? [e.frame] : []));
}

/** Teach the host the router's MAC, as its reply to our probe would. */
function knowRouter(h: ClusterHost): void {
  h.input(0, 'outer', arpFrame(ARP_OP.REPLY, ROUTER_MAC, ROUTER, 0, OWN));
}

describe('outer host', () => {
  it('only the master answers ARP for the cluster address, with the mode’s MAC', () => {
    const request = arpFrame(ARP_OP.REQUEST, ROUTER_MAC, ROUTER, CLUSTER);
    expect(frames(host('unicast', { mine: true, master: false }).input(0, 'outer', request))).toEqual([]);
    const [reply] = frames(host('unicast', { mine: false, master: true }).input(0, 'outer', request));
    const eth = decodeEthernet(reply ?? new Uint8Array());
    if (!eth.ok) throw new Error('no reply');
    expect(eth.value.src).toEqual(OWN); // our own source MAC: the switch never learns the cluster MAC
    const arp = decodeArp(eth.value.payload);
    expect(arp.ok && arp.value.senderMac).toEqual(sharedUnicastMac(CLUSTER));
    expect(arp.ok && arp.value.op).toBe(ARP_OP.REPLY);
  });

  it('the owner echoes UDP port 7 once it knows the router, probing for it first', () => {
    const h = host('unicast', { mine: true, master: false });
    const first = frames(h.input(0, 'outer', udpFrame(7, [1, 2, 3])));
    expect(first).toHaveLength(1); // the ARP probe, the echo waits
    const probe = decodeEthernet(first[0] ?? new Uint8Array());
    const arp = probe.ok ? decodeArp(probe.value.payload) : null;
    expect(arp?.ok && arp.value.senderIp).toBe(0);
    const [echo] = frames(h.input(1, 'outer', arpFrame(ARP_OP.REPLY, ROUTER_MAC, ROUTER, 0, OWN)));
    const eth = decodeEthernet(echo ?? new Uint8Array());
    if (!eth.ok) throw new Error('no echo');
    expect(eth.value.dst).toEqual(ROUTER_MAC);
    const d = decodeIpv4(eth.value.payload);
    if (!d.ok) throw new Error('bad ip');
    expect(d.value.header.src).toBe(CLUSTER);
    expect(d.value.header.dst).toBe(CLIENT);
    const u = decodeUdp(d.value.payload, { src: CLUSTER, dst: CLIENT });
    expect(u.ok && [...u.value.payload]).toEqual([1, 2, 3]);
    expect(u.ok && u.value.dstPort).toBe(40000);
  });

  it('a member that does not own the unit stays silent, even for a closed port', () => {
    const h = host('unicast', { mine: false, master: false });
    knowRouter(h);
    expect(h.input(1, 'outer', udpFrame(7, [1]))).toEqual([]);
    expect(h.input(1, 'outer', udpFrame(9999, [1]))).toEqual([]);
    expect(h.counters.get('drop.not-mine')).toBe(2);
  });

  it('the owner answers a closed port with ICMP port unreachable, and ping with echo reply', () => {
    const h = host('multicast', { mine: true, master: false });
    knowRouter(h);
    const [err] = frames(h.input(1, 'outer', udpFrame(9999, [1], new Uint8Array(6).fill(0xff))));
    const eth = decodeEthernet(err ?? new Uint8Array());
    const d = eth.ok ? decodeIpv4(eth.value.payload) : null;
    const icmp = d?.ok ? decodeIcmp(d.value.payload) : null;
    expect(icmp?.ok && icmp.value.kind).toBe('destination-unreachable');
    const ping = encodeIcmp({ kind: 'echo-request', id: 5, seq: 9, data: Uint8Array.of(42) });
    const [pong] = frames(h.input(2, 'outer', encodeEthernet({ dst: OWN, src: ROUTER_MAC, etherType: ETHERTYPE.IPV4, payload: ip(IP_PROTOCOL.ICMP, ping) })));
    const pe = decodeEthernet(pong ?? new Uint8Array());
    const pd = pe.ok ? decodeIpv4(pe.value.payload) : null;
    const reply = pd?.ok ? decodeIcmp(pd.value.payload) : null;
    expect(reply?.ok && reply.value).toMatchObject({ kind: 'echo-reply', id: 5, seq: 9 });
  });

  it('in forwarding mode the master hands other members’ packets on, classified', () => {
    const h = host('forwarding', { mine: false, master: true });
    const frame = udpFrame(7, [1], OWN);
    expect(h.input(0, 'outer', frame)).toEqual([]); // nobody owns it yet
    expect(h.counters.get('drop.unassigned')).toBe(1);
    h.ownerOf = () => parseIpv4('198.18.3.12');
    const [effect] = h.input(0, 'outer', frame);
    const eth = decodeEthernet(frame);
    expect(effect?.kind).toBe('forward');
    if (effect?.kind === 'forward' && eth.ok) expect(effect.unit).toBe(classifyInbound(eth.value.payload));
    // Frames for the shared MACs are not for anyone in forwarding mode.
    expect(h.input(0, 'outer', udpFrame(7, [1]))).toEqual([]);
  });

  it('forwarding mode: a member still sent the master’s traffic points the sender at the master, at most every 500 ms', () => {
    const master = parseIpv4('198.18.3.12');
    const h = new ClusterHost(
      { mode: 'forwarding', outer: { address: CLUSTER, ownMac: OWN, subnet: { base: parseIpv4('198.18.1.0'), prefixLen: 24 }, gateway: null, mtu: 1500 } },
      { serves: () => false, isMaster: () => false, inTransition: () => false, masterId: () => master },
    );
    const announced = (effects: HostEffect[]): Uint8Array[] =>
      frames(effects).flatMap((f) => {
        const eth = decodeEthernet(f);
        const arp = eth.ok && eth.value.etherType === ETHERTYPE.ARP ? decodeArp(eth.value.payload) : null;
        return arp?.ok === true && arp.value.senderIp === CLUSTER && arp.value.targetIp === CLUSTER ? [arp.value.senderMac] : [];
      });
    expect(announced(h.input(0, 'outer', udpFrame(7, [1], OWN)))).toEqual([memberMac(master, 'outer')]);
    expect(announced(h.input(100, 'outer', udpFrame(7, [2], OWN)))).toEqual([]);
    expect(announced(h.input(500, 'outer', udpFrame(7, [3], OWN)))).toEqual([memberMac(master, 'outer')]);
    expect(h.counters.get('misdirected')).toBe(3);
  });

  it('the master announces the cluster address by gratuitous ARP', () => {
    const [g] = frames(host('multicast', { mine: false, master: true }).announce(0));
    const eth = decodeEthernet(g ?? new Uint8Array());
    const arp = eth.ok ? decodeArp(eth.value.payload) : null;
    expect(arp?.ok && arp.value.senderIp).toBe(CLUSTER);
    expect(arp?.ok && arp.value.targetIp).toBe(CLUSTER);
    expect(arp?.ok && (arp.value.senderMac[0] ?? 0) & 1).toBe(1);
  });

  it('repeats the announcement past Linux’s 1 s ARP lock time, while it is still master', () => {
    let master = true;
    const h = new ClusterHost(
      { mode: 'forwarding', outer: { address: CLUSTER, ownMac: OWN, subnet: { base: parseIpv4('198.18.1.0'), prefixLen: 24 }, gateway: null, mtu: 1500 } },
      { serves: () => false, isMaster: () => master, inTransition: () => false, masterId: () => 0 },
    );
    const gratuitous = (effects: HostEffect[]): number =>
      frames(effects).filter((f) => {
        const eth = decodeEthernet(f);
        const arp = eth.ok && eth.value.etherType === ETHERTYPE.ARP ? decodeArp(eth.value.payload) : null;
        return arp?.ok === true && arp.value.senderIp === CLUSTER;
      }).length;
    expect(gratuitous(h.announce(1000))).toBe(1);
    const again = h.nextWakeAt();
    expect(again).toBeGreaterThan(2000); // after the lock time
    expect(gratuitous(h.tick(again))).toBe(1);
    master = false;
    expect(gratuitous(h.tick(h.nextWakeAt()))).toBe(0); // no longer master: no more
    expect(h.nextWakeAt()).toBe(Infinity);
  });
});

describe('tunnel outputs', () => {
  function udpOut(effects: HostEffect[]): { checksumField: number; valid: boolean } {
    const [frame] = frames(effects);
    const e = decodeEthernet(frame!);
    if (!e.ok) throw new Error('not a frame');
    const d = decodeIpv4(e.value.payload);
    if (!d.ok) throw new Error('not IPv4');
    const u = decodeUdp(d.value.payload, { src: d.value.header.src, dst: d.value.header.dst });
    return { checksumField: (d.value.payload[6]! << 8) | d.value.payload[7]!, valid: u.ok };
  }

  it('a UDP output carries a valid checksum unless the handler says its payload protects itself (ESP in UDP: 0)', () => {
    const h = host('unicast', { mine: true, master: true });
    knowRouter(h);
    const base = { kind: 'udp', localPort: 4500, to: { ip: CLIENT, port: 40500 }, payload: Uint8Array.from([1, 2, 3, 4, 5]) } as const;
    const checked = udpOut(h.tunnelOutputs(0, [base]));
    expect(checked.checksumField).not.toBe(0);
    expect(checked.valid).toBe(true);
    const none = udpOut(h.tunnelOutputs(0, [{ ...base, checksum: false }]));
    expect(none).toEqual({ checksumField: 0, valid: true });
  });
});
