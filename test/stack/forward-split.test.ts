/**
 * Forwarding mode with packets larger than one interconnect frame: a
 * 65,000-byte ping comes to the master as 44 fragments, the master
 * reassembles it to classify it, and must hand it to its owner over the
 * interconnect. One ForwardedPacket frame carries at most 64,949 bytes, so
 * the master splits it; nothing on the way may throw.
 *
 *   44 fragments ─► master ClusterHost (reassembles, not its unit) ─► forward effects (split)
 *     ─► master MemberCore.forward ─► sealed frames ─► owner MemberCore.handleDatagram
 *     ─► forwarded-packet actions ─► owner ClusterHost.inputForwarded ─► echo reply fragments
 *
 * Regression: before the split, the effect carried the whole 65,028-byte
 * datagram and sealing it threw out of the TAP callback, stopping the master.
 */
import { describe, expect, it } from 'vitest';
import { classifyForward, classifyInbound } from '../../src/cluster/filter.js';
import { MAX_FORWARDED_PACKET, MAX_FRAME_LENGTH } from '../../src/cluster/control-codec.js';
import { ForwardSide } from '../../src/cluster/messages.js';
import { parseIpv4 } from '../../src/lib/ipv4.js';
import type { Simulation } from '../../src/sim/simulation.js';
import type { SimNode } from '../../src/sim/sim-node.js';
import { ClusterHost, type ForwardEffect, type HostEffect } from '../../src/stack/cluster-host.js';
import { memberMac } from '../../src/stack/delivery-mode.js';
import { splitForForwarding } from '../../src/stack/forward-split.js';
import { ARP_OP, encodeArp } from '../../src/wire/arp.js';
import { ETHERTYPE, decodeEthernet, encodeEthernet, zeroMac } from '../../src/wire/ethernet.js';
import { decodeIpv4 } from '../../src/wire/ipv4.js';
import { icmpEcho, ipv4, PROTO, udp } from '../support/packets.js';
import { cluster, fixtures, masterOf, settle } from '../sim/harness.js';

const CLUSTER = parseIpv4('198.18.1.10');
const ROUTER = parseIpv4('198.18.1.1');
const CLIENT = parseIpv4('198.18.16.2');
const APP = parseIpv4('198.18.2.100');
const ROUTER_MAC = Uint8Array.of(0x02, 0, 0, 0, 0, 1);
const PING_DATA = 65_000;
const MTU = 1500;

function hostOf(self: number, mtu: number, own: (unit: number) => boolean, master: boolean, owner: number): ClusterHost {
  const h = new ClusterHost(
    {
      mode: 'forwarding',
      outer: { address: CLUSTER, ownMac: memberMac(self, 'outer'), subnet: { base: parseIpv4('198.18.1.0'), prefixLen: 24 }, gateway: ROUTER, mtu },
      inner: { address: parseIpv4('198.18.2.1'), ownMac: memberMac(self, 'inner'), subnet: { base: parseIpv4('198.18.2.0'), prefixLen: 24 }, gateway: null, mtu },
    },
    { serves: own, isMaster: () => master, inTransition: () => false, masterId: () => 0 },
  );
  h.ownerOf = (unit) => (own(unit) ? 0 : owner);
  return h;
}

function frameTo(mac: Uint8Array, packet: Uint8Array): Uint8Array {
  return encodeEthernet({ dst: mac, src: ROUTER_MAC, etherType: ETHERTYPE.IPV4, payload: packet });
}

/** A ping of `data` bytes as the client's stack sends it: fragments of at most MTU bytes (built by hand, not by src/). */
function fragmentedPing(src: number, data: Uint8Array): { whole: Uint8Array; fragments: Uint8Array[] } {
  const icmp = icmpEcho(7, 1, data);
  const whole = ipv4({ src, dst: CLUSTER, protocol: PROTO.ICMP, payload: icmp, id: 0x4242 });
  const step = Math.floor((MTU - 20) / 8) * 8;
  const fragments: Uint8Array[] = [];
  for (let at = 0; at < icmp.length; at += step) {
    const end = Math.min(at + step, icmp.length);
    fragments.push(ipv4({ src, dst: CLUSTER, protocol: PROTO.ICMP, payload: icmp.subarray(at, end), id: 0x4242, fragmentOffset: at / 8, moreFragments: end < icmp.length }));
  }
  return { whole, fragments };
}

/** The datagram the fragments in `packets` make (offsets as written; the test's own reassembly). */
function reassemble(packets: Uint8Array[]): { protocol: number; dst: number; payload: Uint8Array } {
  const parts = packets.map((p) => {
    const d = decodeIpv4(p);
    if (!d.ok) throw new Error('not IPv4');
    return d.value;
  });
  const total = Math.max(...parts.map((p) => p.header.fragmentOffset * 8 + p.payload.length));
  const payload = new Uint8Array(total);
  for (const p of parts) payload.set(p.payload, p.header.fragmentOffset * 8);
  const first = parts[0];
  if (!first) throw new Error('no packets');
  return { protocol: first.header.protocol, dst: first.header.dst, payload };
}

function forwards(effects: HostEffect[]): ForwardEffect[] {
  return effects.flatMap((e) => (e.kind === 'forward' ? [e] : []));
}

function ipOfFrames(effects: HostEffect[]): Uint8Array[] {
  return effects.flatMap((e) => {
    if (e.kind !== 'frame') return [];
    const eth = decodeEthernet(e.frame);
    return eth.ok && eth.value.etherType === ETHERTYPE.IPV4 ? [eth.value.payload] : [];
  });
}

async function twoMembers(): Promise<{ sim: Simulation; master: SimNode; owner: SimNode }> {
  const sim = cluster(await fixtures(), 2, { seed: 11 });
  settle(sim, 2000);
  const master = masterOf(sim);
  const owner = sim.live().find((n) => n !== master);
  if (!owner) throw new Error('no second member');
  // The first rebalance gives the second member its share.
  if (!sim.runUntilTrue(() => owner.core.servedUnits().length > 400, 10_000)) throw new Error('no units for the second member');
  return { sim, master, owner };
}

describe('forwarding mode: packets larger than one interconnect frame', () => {
  it('the master splits a reassembled 65,000-byte ping into frames that seal, and the owner answers it whole', async () => {
    const { sim, master, owner } = await twoMembers();
    const data = Uint8Array.from({ length: PING_DATA }, (_, i) => (i * 7) & 0xff);
    // A client address whose pings the other member serves (ICMP goes by address pair): the master must forward them.
    let src = CLIENT;
    while (!owner.core.serves(classifyInbound(fragmentedPing(src, new Uint8Array(0)).whole))) src++;
    const ping = fragmentedPing(src, data);
    const unit = classifyInbound(ping.whole);
    expect(ping.fragments.length).toBe(44);

    const masterHost = hostOf(master.id, MTU, (u) => master.core.serves(u), true, owner.id);
    const effects = ping.fragments.flatMap((f) => masterHost.input(0, 'outer', frameTo(memberMac(master.id, 'outer'), f)));
    const pieces = forwards(effects);
    expect(pieces.length).toBe(2);
    for (const p of pieces) expect(p.packet.length).toBeLessThanOrEqual(MAX_FORWARDED_PACKET);
    expect(masterHost.counters.get('forward-split')).toBe(1);

    const ownerHost = hostOf(owner.id, MTU, (u) => u === unit, false, 0);
    ownerHost.input(0, 'outer', encodeEthernet({ dst: memberMac(owner.id, 'outer'), src: ROUTER_MAC, etherType: ETHERTYPE.ARP, payload: encodeArp({ op: ARP_OP.REPLY, senderMac: ROUTER_MAC, senderIp: ROUTER, targetMac: zeroMac(), targetIp: 0 }) }));
    const replies: HostEffect[] = [];
    for (const p of pieces) {
      const sent = master.core.forward(sim.now, owner.id, p.unit, ForwardSide.Outer, p.packet);
      const sends = sent.flatMap((a) => (a.kind === 'send' ? [a] : []));
      expect(sends.length).toBe(1);
      for (const s of sends) {
        expect(s.bytes.length).toBeLessThanOrEqual(MAX_FRAME_LENGTH);
        for (const a of owner.core.handleDatagram(sim.now, s.bytes)) {
          if (a.kind === 'forwarded-packet') replies.push(...ownerHost.inputForwarded(0, 'outer', a.packet));
        }
      }
    }
    const reply = reassemble(ipOfFrames(replies));
    expect(reply.protocol).toBe(PROTO.ICMP);
    expect(reply.payload[0]).toBe(0); // echo reply
    expect(reply.payload.length).toBe(8 + PING_DATA);
    expect(Buffer.from(reply.payload.subarray(8)).equals(Buffer.from(data))).toBe(true);
    expect(ownerHost.counters.get('icmp-echo')).toBe(1);
  });

  it('the core refuses a packet too large for a frame with a counter instead of throwing', async () => {
    const { sim, master, owner } = await twoMembers();
    const unit = owner.core.servedUnits()[0] ?? 0;
    const tooBig = new Uint8Array(MAX_FORWARDED_PACKET + 1);
    expect(master.core.forward(sim.now, owner.id, unit, ForwardSide.Outer, tooBig)).toEqual([]);
    expect(master.core.status().counters['drop.forward-too-big']).toBe(1);
    const fits = master.core.forward(sim.now, owner.id, unit, ForwardSide.Outer, new Uint8Array(MAX_FORWARDED_PACKET));
    expect(fits.filter((a) => a.kind === 'send').length).toBe(1);
  });

  it('a routed packet larger than a frame (a large-MTU link) is split when DF is clear and refused with a counter when set', () => {
    const other = parseIpv4('198.18.3.12');
    const big = (dontFragment: boolean): Uint8Array =>
      ipv4({ src: CLIENT, dst: APP, protocol: PROTO.UDP, payload: udp(5000, 6000, new Uint8Array(65_535 - 28)), dontFragment });
    const self = parseIpv4('198.18.3.11');
    const master = hostOf(self, 65_535, () => false, true, other);
    const split = forwards(master.input(0, 'outer', frameTo(memberMac(self, 'outer'), big(false))));
    expect(split.map((p) => p.packet.length <= MAX_FORWARDED_PACKET)).toEqual([true, true]);
    expect(split.every((p) => p.unit === classifyForward(big(false)))).toBe(true);
    expect(reassemble(split.map((p) => p.packet)).payload.length).toBe(65_535 - 20);
    expect(forwards(master.input(0, 'outer', frameTo(memberMac(self, 'outer'), big(true))))).toEqual([]);
    expect(master.counters.get('drop.forward-too-big')).toBe(1);
  });

  it('a datagram to a cluster address is split even with DF set: the path ends at the owner', () => {
    const packet = ipv4({ src: CLIENT, dst: CLUSTER, protocol: PROTO.ICMP, payload: icmpEcho(9, 1, new Uint8Array(65_535 - 28)), dontFragment: true });
    const split = splitForForwarding(packet, MAX_FORWARDED_PACKET, (dst) => dst === CLUSTER);
    expect(split.ok && split.pieces.length).toBe(2);
    if (!split.ok) return;
    for (const p of split.pieces) {
      const d = decodeIpv4(p);
      expect(d.ok && d.value.header.dontFragment).toBe(false);
    }
    expect(reassemble(split.pieces).payload.length).toBe(65_535 - 20);
    expect(splitForForwarding(new Uint8Array(MAX_FORWARDED_PACKET + 1), MAX_FORWARDED_PACKET, () => true)).toEqual({ ok: false, drop: 'forward-malformed' });
  });
});
