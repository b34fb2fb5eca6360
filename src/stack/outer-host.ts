/**
 * The member's userspace host on the outer (internet) side, sans-IO.
 *
 *   frame ─► Ethernet (this mode's MACs only) ─┬─► ARP: learn next hops; the master answers for the cluster address
 *                                              └─► IPv4 to the cluster address ─► reassemble ─► filter → unit
 *        not mine: dropped silently (forwarding mode: the master hands it to the owner)
 *        mine: ICMP echo, UDP echo (port 7) or a registered UDP service; other UDP → ICMP port unreachable
 *   replies ─► route (on-link or via the gateway) ─► neighbour cache (ARP probe if unknown) ─► fragment to MTU ─► frame
 *
 * Non-owners never answer: no ICMP errors and no ARP from anyone but the master
 * for the cluster address. Members resolve next hops with ARP probes (sender IP
 * 0.0.0.0, RFC 5227) so no neighbour ever learns the cluster address at a
 * member's own MAC.
 */
import { classifyInbound } from '../cluster/filter.js';
import type { UnitId } from '../cluster/types.js';
import type { Ipv4 } from '../lib/ipv4.js';
import { ARP_OP, decodeArp, encodeArp, type ArpPacket } from '../wire/arp.js';
import { ETHERTYPE, broadcastMac, decodeEthernet, encodeEthernet, zeroMac, type Mac } from '../wire/ethernet.js';
import { UNREACHABLE_CODE, decodeIcmp, destinationUnreachable, echoReplyTo, encodeIcmp } from '../wire/icmp.js';
import { IP_PROTOCOL, decodeIpv4, encodeIpv4, isFragment, type Ipv4Datagram } from '../wire/ipv4.js';
import { decodeUdp, encodeUdp } from '../wire/udp.js';
import { arpAnswerMac, frameFilter, type DeliveryMode } from './delivery-mode.js';
import { Reassembler, fragment } from './ipv4-fragments.js';
import { NeighbourCache } from './neighbour-cache.js';

export interface OuterHostConfig {
  mode: DeliveryMode;
  clusterIp: Ipv4;
  /** This member's own MAC on the outer side (source of everything it sends). */
  ownMac: Mac;
  /** The outer LAN: destinations inside it are on-link. */
  subnet: { base: Ipv4; prefixLen: number };
  defaultGateway: Ipv4;
  mtu: number;
}

export interface Ownership {
  serves(unit: UnitId): boolean;
  isMaster(): boolean;
}

/** A UDP service on the cluster address: returns reply payloads (to the sender's address and port). */
export type UdpService = (payload: Uint8Array, from: { ip: Ipv4; port: number }, unit: UnitId) => Uint8Array[];

export type HostEffect = { kind: 'frame'; frame: Uint8Array } | { kind: 'forward'; unit: UnitId; packet: Uint8Array };

export const UDP_ECHO_PORT = 7;

export class OuterHost {
  readonly counters = new Map<string, number>();
  private readonly neighbours = new NeighbourCache();
  private readonly reassembler = new Reassembler();
  private readonly services = new Map<number, UdpService>([[UDP_ECHO_PORT, (p) => [p]]]);
  private ipId = 1;
  private readonly accepts: (dst: Mac) => boolean;
  /** The MAC the master gives out for the cluster address (this mode's). */
  private readonly answerMac: Mac;
  private readonly subnetMask: number;

  constructor(
    private readonly cfg: OuterHostConfig,
    private readonly ownership: Ownership,
  ) {
    this.accepts = frameFilter(cfg.mode, cfg.ownMac, cfg.clusterIp);
    this.answerMac = arpAnswerMac(cfg.mode, cfg.clusterIp, cfg.ownMac);
    const len = cfg.subnet.prefixLen;
    this.subnetMask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  }

  private count(name: string): void {
    this.counters.set(name, (this.counters.get(name) ?? 0) + 1);
  }

  /** Serve UDP `port` on the cluster address (tunnel handlers register here). */
  listenUdp(port: number, service: UdpService): void {
    this.services.set(port, service);
  }

  /** A frame from the outer port. */
  input(now: number, frame: Uint8Array): HostEffect[] {
    const eth = decodeEthernet(frame);
    if (!eth.ok) return this.dropped('malformed-frame');
    const { dst, etherType, payload } = eth.value;
    if (!this.accepts(dst)) return this.dropped('not-our-mac');
    if (etherType === ETHERTYPE.ARP) return this.arp(now, payload);
    if (etherType === ETHERTYPE.IPV4) return this.ipv4(now, payload, true);
    return this.dropped('other-ethertype');
  }

  /** A packet the master forwarded to us (forwarding mode): as if it had arrived on our port. */
  inputForwarded(now: number, packet: Uint8Array): HostEffect[] {
    return this.ipv4(now, packet, false);
  }

  /** On becoming master: announce the cluster address with this mode's MAC (gratuitous ARP). */
  announce(): HostEffect[] {
    const arp: ArpPacket = { op: ARP_OP.REQUEST, senderMac: this.answerMac, senderIp: this.cfg.clusterIp, targetMac: zeroMac(), targetIp: this.cfg.clusterIp };
    this.count('gratuitous-arp');
    return [this.frame(broadcastMac(), ETHERTYPE.ARP, encodeArp(arp))];
  }

  tick(now: number): HostEffect[] {
    this.reassembler.expire(now);
    return this.neighbours.due(now).map((ip) => this.probe(ip));
  }

  nextWakeAt(): number {
    return this.neighbours.nextWakeAt();
  }

  private dropped(reason: string): HostEffect[] {
    this.count(`drop.${reason}`);
    return [];
  }

  private frame(dst: Mac, etherType: number, payload: Uint8Array): HostEffect {
    return { kind: 'frame', frame: encodeEthernet({ dst, src: this.cfg.ownMac, etherType, payload }) };
  }

  private arp(now: number, bytes: Uint8Array): HostEffect[] {
    const d = decodeArp(bytes);
    if (!d.ok) return this.dropped('malformed-arp');
    const p = d.value;
    const out: HostEffect[] = [];
    if (p.senderIp !== 0 && p.senderIp !== this.cfg.clusterIp) {
      // Packets that waited for this neighbour: its MAC is the one just learnt.
      for (const packet of this.neighbours.learn(now, p.senderIp, p.senderMac)) out.push(...this.framesTo(p.senderMac, packet));
    }
    if (p.op === ARP_OP.REQUEST && p.targetIp === this.cfg.clusterIp && p.senderIp !== this.cfg.clusterIp && this.ownership.isMaster()) {
      const reply: ArpPacket = { op: ARP_OP.REPLY, senderMac: this.answerMac, senderIp: this.cfg.clusterIp, targetMac: p.senderMac, targetIp: p.senderIp };
      this.count('arp-answered');
      out.push(this.frame(p.senderMac, ETHERTYPE.ARP, encodeArp(reply)));
    }
    return out;
  }

  private ipv4(now: number, bytes: Uint8Array, fromWire: boolean): HostEffect[] {
    const d = decodeIpv4(bytes);
    if (!d.ok) return this.dropped('malformed-ip');
    if (d.value.header.dst !== this.cfg.clusterIp) return this.dropped('not-cluster-address');
    let packet = bytes;
    let datagram = d.value;
    if (isFragment(d.value.header)) {
      // Every member reassembles: the fragments of one datagram may classify to different units.
      const r = this.reassembler.accept(now, bytes);
      if (!('complete' in r)) return 'drop' in r ? this.dropped(`fragment-${r.drop}`) : [];
      packet = r.complete;
      const whole = decodeIpv4(packet);
      if (!whole.ok) return this.dropped('malformed-ip');
      datagram = whole.value;
    }
    const unit = classifyInbound(packet);
    if (unit < 0) return this.dropped('unclassifiable');
    if (!this.ownership.serves(unit)) {
      if (fromWire && this.cfg.mode === 'forwarding' && this.ownership.isMaster()) {
        this.count('forwarded');
        return [{ kind: 'forward', unit, packet }];
      }
      return this.dropped('not-mine');
    }
    this.count('mine');
    return this.deliver(now, packet, datagram, unit);
  }

  private deliver(now: number, packet: Uint8Array, datagram: Ipv4Datagram, unit: UnitId): HostEffect[] {
    const { header, payload } = datagram;
    if (header.protocol === IP_PROTOCOL.ICMP) {
      const m = decodeIcmp(payload);
      if (!m.ok) return this.dropped('malformed-icmp');
      if (m.value.kind !== 'echo-request') return this.dropped('icmp-ignored');
      this.count('icmp-echo');
      return this.send(now, header.src, IP_PROTOCOL.ICMP, encodeIcmp(echoReplyTo(m.value)));
    }
    if (header.protocol === IP_PROTOCOL.UDP) {
      const u = decodeUdp(payload, { src: header.src, dst: header.dst });
      if (!u.ok) return this.dropped('malformed-udp');
      const service = this.services.get(u.value.dstPort);
      if (!service) return this.unreachable(now, packet, header.src, UNREACHABLE_CODE.PORT);
      this.count(`udp-${u.value.dstPort}`);
      const replies = service(u.value.payload, { ip: header.src, port: u.value.srcPort }, unit);
      const endpoints = { src: this.cfg.clusterIp, dst: header.src };
      return replies.flatMap((r) =>
        this.send(now, header.src, IP_PROTOCOL.UDP, encodeUdp({ srcPort: u.value.dstPort, dstPort: u.value.srcPort, payload: r }, endpoints)),
      );
    }
    return this.unreachable(now, packet, header.src, UNREACHABLE_CODE.PROTOCOL);
  }

  private unreachable(now: number, packet: Uint8Array, to: Ipv4, code: number): HostEffect[] {
    const m = destinationUnreachable(code, packet);
    if (!m) return this.dropped('unreachable-unquotable');
    this.count(`icmp-unreachable-${code}`);
    return this.send(now, to, IP_PROTOCOL.ICMP, encodeIcmp(m));
  }

  /** A datagram from the cluster address to `dst`. */
  private send(now: number, dst: Ipv4, protocol: number, payload: Uint8Array): HostEffect[] {
    const packet = encodeIpv4({
      header: {
        dscp: 0,
        ecn: 0,
        id: (this.ipId = (this.ipId + 1) & 0xffff),
        dontFragment: false,
        moreFragments: false,
        fragmentOffset: 0,
        ttl: 64,
        protocol,
        src: this.cfg.clusterIp,
        dst,
        options: new Uint8Array(0),
      },
      payload,
    });
    const hop = this.nextHop(dst);
    const found = this.neighbours.lookup(now, hop, packet);
    if ('dropped' in found) return this.dropped(`neighbour-${found.dropped}`);
    if ('queued' in found) return found.askNow ? [this.probe(hop)] : [];
    return this.framesTo(found.mac, packet);
  }

  private nextHop(dst: Ipv4): Ipv4 {
    return ((dst & this.subnetMask) >>> 0) === ((this.cfg.subnet.base & this.subnetMask) >>> 0) ? dst : this.cfg.defaultGateway;
  }

  /** One packet to a resolved next hop, fragmented to the MTU. */
  private framesTo(mac: Mac, packet: Uint8Array): HostEffect[] {
    const pieces = packet.length <= this.cfg.mtu ? { ok: true as const, fragments: [packet] } : fragment(packet, this.cfg.mtu);
    if (!pieces.ok) return this.dropped(`fragment-${pieces.refusal}`);
    return pieces.fragments.map((f) => this.frame(mac, ETHERTYPE.IPV4, f));
  }

  /** An ARP probe (sender IP 0.0.0.0): asks for `ip` without teaching anyone our address. */
  private probe(ip: Ipv4): HostEffect {
    this.count('arp-probe');
    const arp: ArpPacket = { op: ARP_OP.REQUEST, senderMac: this.cfg.ownMac, senderIp: 0, targetMac: zeroMac(), targetIp: ip };
    return this.frame(broadcastMac(), ETHERTYPE.ARP, encodeArp(arp));
  }
}

