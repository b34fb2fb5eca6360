/**
 * A member's userspace host for the cluster's addresses, sans-IO: the outer
 * side (the cluster address the clients see) and, when configured, the inner
 * side (the inside gateway the protected network routes through).
 *
 *   frame(side) ─► side MAC filter ─┬─► ARP (LinkSide)
 *                                   └─► IPv4 ─┬─ to a cluster address: reassemble ─► classifyInbound ─► unit
 *                                             └─ routed through: from outer classifyForward (address pair),
 *                                                from inner classifyToClient (destination only) ─► unit
 *   unit not mine ─► silence (forwarding mode: the master hands it to the owner, split to fit a frame)
 *                 └► unit moving between live members ─► held (HandoverHold) for the new owner
 *   unit mine ─► local: ICMP echo, UDP services (echo on 7), else ICMP unreachable
 *             └► routed: TTL−1 (time exceeded at 1) ─► the other side (DF too big ─► frag-needed)
 *
 * Non-owners never answer anything: every ICMP error comes from the owner of
 * the offending packet's unit.
 */
import { MAX_FORWARDED_PACKET } from '../cluster/control-codec.js';
import { classifyForward, classifyInbound, classifyToClient } from '../cluster/filter.js';
import type { UnitId } from '../cluster/types.js';
import type { Ipv4 } from '../lib/ipv4.js';
import { ETHERTYPE, decodeEthernet } from '../wire/ethernet.js';
import {
  ICMP_TYPE,
  TIME_EXCEEDED_CODE,
  UNREACHABLE_CODE,
  decodeIcmp,
  destinationUnreachable,
  echoReplyTo,
  encodeIcmp,
  timeExceeded,
  type IcmpMessage,
} from '../wire/icmp.js';
import { IP_PROTOCOL, decodeIpv4, decrementTtl, encodeIpv4, isFragment, type Ipv4Datagram, type Ipv4Header } from '../wire/ipv4.js';
import { decodeUdp, encodeUdp } from '../wire/udp.js';
import { memberMac, type DeliveryMode } from './delivery-mode.js';
import { splitForForwarding } from './forward-split.js';
import { HandoverHold } from './handover-hold.js';
import { Reassembler } from './ipv4-fragments.js';
import { LinkSide, inPrefix, type FrameEffect, type Prefix, type SideConfig, type SideName } from './link-side.js';
import type { TunnelHandler, TunnelOutput } from './tunnel-handler.js';

export type { SideName, Prefix } from './link-side.js';

export type SideSettings = Omit<SideConfig, 'mode'>;

export interface ClusterHostConfig {
  mode: DeliveryMode;
  outer: SideSettings;
  /** The inside gateway; `routes` are networks beyond its LAN, reached through its gateway. */
  inner?: SideSettings & { routes?: Prefix[] };
}

export interface Ownership {
  serves(unit: UnitId): boolean;
  isMaster(): boolean;
  /**
   * The unit is between owners and its packets must be held: in the unicast
   * and multicast modes while it is being de-assigned (any member may be
   * next), in forwarding mode (master) until the new owner has acknowledged.
   */
  inTransition(unit: UnitId): boolean;
  /** The current master's member id, 0 when there is none (forwarding mode points neighbours at it). */
  masterId(): number;
}

/** A unit this member has just been given; `marker` when it was handed over from a live owner. */
export interface GainedUnit {
  unit: UnitId;
  marker?: number;
}

/** A UDP service on a cluster address: returns reply payloads (to the sender's address and port). */
export type UdpService = (payload: Uint8Array, from: { ip: Ipv4; port: number }, unit: UnitId) => Uint8Array[];

/** Forwarding mode: the master hands a packet of another member's unit over the interconnect. */
export type ForwardEffect = { kind: 'forward'; side: SideName; unit: UnitId; packet: Uint8Array };

export type HostEffect = FrameEffect | ForwardEffect;

export const UDP_ECHO_PORT = 7;

const NONE: HostEffect[] = [];
/** How often held units are looked at again (the master flushes them once the new owner acknowledged). */
const HOLD_POLL_MS = 5;
/**
 * Gratuitous ARP is repeated after these delays: Linux ignores an update to a
 * neighbour entry changed less than `locktime` (1 s) before, which is just what
 * happens after a partition heals, when both masters answered the router's ARP.
 */
const REANNOUNCE_AFTER_MS = [1100, 2500] as const;
/** At most one correction per side this often when a neighbour still sends the master's traffic to us. */
const REDIRECT_EVERY_MS = 500;

export class ClusterHost {
  readonly counters = new Map<string, number>();
  readonly outer: LinkSide;
  readonly inner: LinkSide | null;
  private readonly innerRoutes: Prefix[];
  private readonly reassembler = new Reassembler();
  private readonly services = new Map<number, UdpService>([[UDP_ECHO_PORT, (p) => [p]]]);
  private readonly handlers: TunnelHandler[] = [];
  private readonly udpHandlers = new Map<number, TunnelHandler>();
  private readonly protocolHandlers = new Map<number, TunnelHandler>();
  private ipId = 1;
  private readonly countFn = (what: string): void => this.count(what);
  readonly hold = new HandoverHold<SideName>((what, n) => this.count(what, n));
  private lastNow = 0;
  private reannounceAt: number[] = [];
  private readonly nextRedirectAt = { outer: 0, inner: 0 };

  constructor(
    readonly cfg: ClusterHostConfig,
    private readonly ownership: Ownership,
  ) {
    this.outer = new LinkSide('outer', { ...cfg.outer, mode: cfg.mode }, this.countFn);
    this.inner = cfg.inner ? new LinkSide('inner', { ...cfg.inner, mode: cfg.mode }, this.countFn) : null;
    this.innerRoutes = cfg.inner?.routes ?? [];
  }

  /** Forwarding mode: the owner the master hands a unit's packets to (0 = none). */
  ownerOf: (unit: UnitId) => number = () => 0;

  count(name: string, n = 1): void {
    this.counters.set(name, (this.counters.get(name) ?? 0) + n);
  }

  side(name: SideName): LinkSide | null {
    return name === 'outer' ? this.outer : this.inner;
  }

  /** Serve UDP `port` on the cluster addresses (tunnel handlers register here). */
  listenUdp(port: number, service: UdpService): void {
    this.services.set(port, service);
  }

  /** Plug a tunnel handler in: its UDP ports and IP protocols on the cluster address, and its clients' return traffic. */
  attach(handler: TunnelHandler): void {
    for (const port of handler.udpPorts) {
      if (this.udpHandlers.has(port) || this.services.has(port)) throw new RangeError(`UDP port ${port} is already served`);
      this.udpHandlers.set(port, handler);
    }
    for (const protocol of handler.ipProtocols) {
      if (this.protocolHandlers.has(protocol)) throw new RangeError(`IP protocol ${protocol} is already served`);
      this.protocolHandlers.set(protocol, handler);
    }
    this.handlers.push(handler);
  }

  /** A frame from one side's port. */
  input(now: number, sideName: SideName, frame: Uint8Array): HostEffect[] {
    const side = this.side(sideName);
    if (!side) return this.dropped('no-such-side');
    const eth = decodeEthernet(frame);
    if (!eth.ok) return this.dropped('malformed-frame');
    const { dst, etherType, payload } = eth.value;
    if (!side.accepts(dst)) return this.dropped('not-our-mac');
    if (etherType === ETHERTYPE.ARP) return side.arp(now, payload, this.ownership.isMaster());
    if (etherType === ETHERTYPE.IPV4) return this.ipv4(now, side, payload, true);
    return this.dropped('other-ethertype');
  }

  /** A packet the master forwarded to us (forwarding mode): as if it had arrived on that side. */
  inputForwarded(now: number, sideName: SideName, packet: Uint8Array): HostEffect[] {
    const side = this.side(sideName);
    if (!side) return this.dropped('no-such-side');
    return this.ipv4(now, side, packet, false);
  }

  /** On becoming master: announce the cluster addresses with this mode's MAC (gratuitous ARP), now and twice more. */
  announce(now: number): HostEffect[] {
    this.reannounceAt = REANNOUNCE_AFTER_MS.map((d) => now + d);
    return this.announceFrames();
  }

  private announceFrames(): HostEffect[] {
    return this.inner ? [this.outer.announce(), this.inner.announce()] : [this.outer.announce()];
  }

  /**
   * Units this member was just given: serve what was held for them (after the
   * old owner's marker). A unit gained without a hand-over (its owner failed)
   * drops what was held: the dead owner may have answered some of it.
   */
  unitsGained(now: number, gained: readonly GainedUnit[]): HostEffect[] {
    const out: HostEffect[] = [];
    for (const g of gained) {
      if (g.marker === undefined) {
        this.hold.discard(g.unit);
        continue;
      }
      // Forwarding mode: only the master ever held this unit's packets, and none of those reached the old
      // owner, so all of them are ours; members get theirs from the master once it hands them over.
      // Otherwise: even with nothing held, the old owner's last packet may still be in our receive queue.
      const taken = this.cfg.mode === 'forwarding' ? this.hold.takeAll(g.unit) : this.hold.takeOver(g.unit, g.marker, now);
      for (const h of taken) {
        const side = this.side(h.side);
        if (side) out.push(...this.ipv4(now, side, h.packet, false));
      }
    }
    return out;
  }

  tick(now: number): HostEffect[] {
    this.lastNow = now;
    this.reassembler.expire(now);
    this.hold.expire(now);
    const out = this.settleHeld(now);
    if (this.reannounceAt.length > 0 && now >= this.reannounceAt[0]!) {
      this.reannounceAt.shift();
      if (this.ownership.isMaster()) out.push(...this.announceFrames());
      else this.reannounceAt = [];
    }
    for (const h of this.handlers) out.push(...this.tunnelOutputs(now, h.tick(now)));
    out.push(...this.outer.tick(now));
    if (this.inner) out.push(...this.inner.tick(now));
    return out;
  }

  nextWakeAt(): number {
    const held = this.hold.heldUnits > 0 ? Math.min(this.hold.nextWakeAt(), this.lastNow + HOLD_POLL_MS) : Infinity;
    const tunnels = this.handlers.reduce((at, h) => Math.min(at, h.nextWakeAt()), Infinity);
    return Math.min(this.outer.nextWakeAt(), this.inner?.nextWakeAt() ?? Infinity, held, this.reannounceAt[0] ?? Infinity, tunnels);
  }

  /** Held units whose move has finished: the master hands them on; elsewhere they went to someone else. */
  private settleHeld(now: number): HostEffect[] {
    const out: HostEffect[] = [];
    for (const unit of this.hold.units()) {
      if (this.ownership.inTransition(unit)) continue;
      if (this.ownership.serves(unit)) {
        // Ours without a units-gained marker (the master took it itself): everything held is ours to serve.
        if (this.cfg.mode !== 'forwarding') continue;
        for (const h of this.hold.takeAll(unit)) {
          const side = this.side(h.side);
          if (side) out.push(...this.ipv4(now, side, h.packet, false));
        }
      } else if (this.cfg.mode === 'forwarding' && this.ownership.isMaster() && this.ownerOf(unit) !== 0) {
        for (const h of this.hold.takeAll(unit)) out.push(...this.forward(h.side, unit, h.packet));
        this.count('forwarded-after-hold');
      } else {
        this.hold.discard(unit);
      }
    }
    return out;
  }

  private dropped(reason: string): HostEffect[] {
    this.count(`drop.${reason}`);
    return NONE;
  }

  private isLocal(ip: Ipv4): boolean {
    return ip === this.outer.cfg.address || (this.inner !== null && ip === this.inner.cfg.address);
  }

  /** The side a packet to `dst` leaves by: the inside for its LAN and routes, the outside for the rest. */
  private route(dst: Ipv4): LinkSide {
    if (this.inner && (this.inner.isOnLink(dst) || this.innerRoutes.some((p) => inPrefix(dst, p)))) return this.inner;
    return this.outer;
  }

  private ipv4(now: number, side: LinkSide, bytes: Uint8Array, fromWire: boolean): HostEffect[] {
    this.lastNow = now;
    const d = decodeIpv4(bytes);
    if (!d.ok) return this.dropped('malformed-ip');
    const dst = d.value.header.dst;
    if (this.isLocal(dst)) return this.local(now, side, bytes, d.value, fromWire);
    if (!this.inner) return this.dropped('not-cluster-address');
    return this.routed(now, side, bytes, d.value.header, fromWire);
  }

  private local(now: number, side: LinkSide, bytes: Uint8Array, datagram: Ipv4Datagram, fromWire: boolean): HostEffect[] {
    let packet = bytes;
    if (isFragment(datagram.header)) {
      // Every member reassembles: the fragments of one datagram may classify to different units.
      const r = this.reassembler.accept(now, bytes);
      if (!('complete' in r)) return 'drop' in r ? this.dropped(`fragment-${r.drop}`) : NONE;
      packet = r.complete;
      const whole = decodeIpv4(packet);
      if (!whole.ok) return this.dropped('malformed-ip');
      datagram = whole.value;
    }
    const unit = classifyInbound(packet);
    if (unit < 0) return this.dropped('unclassifiable');
    if (!this.ownership.serves(unit)) return this.unowned(now, side, unit, packet, fromWire);
    if (!this.hold.admit(now, unit, packet)) return NONE;
    this.count('mine');
    this.hold.served(unit, packet);
    return this.deliver(now, packet, datagram, unit);
  }

  private routed(now: number, side: LinkSide, packet: Uint8Array, header: Ipv4Header, fromWire: boolean): HostEffect[] {
    const unit = side.name === 'outer' ? classifyForward(packet) : classifyToClient(packet);
    if (unit < 0) return this.dropped('unclassifiable');
    if (!this.ownership.serves(unit)) return this.unowned(now, side, unit, packet, fromWire);
    if (!this.hold.admit(now, unit, packet)) return NONE;
    this.hold.served(unit, packet); // as it arrived, before the TTL changes: the digest others compare
    if (side === this.inner) {
      for (const h of this.handlers) {
        const sent = h.toClient(now, unit, header.dst, packet);
        if (sent !== null) return this.tunnelOutputs(now, sent);
      }
    }
    const out = this.route(header.dst);
    if (out === side) return this.dropped('hairpin');
    if (!decrementTtl(packet)) {
      this.count('ttl-exceeded');
      return this.icmpError(now, side.cfg.address, packet, timeExceeded(TIME_EXCEEDED_CODE.TTL, packet));
    }
    this.count(`routed.${side.name}-to-${out.name}`);
    const sent = out.send(now, header.dst, packet);
    if ('frames' in sent) return sent.frames;
    if ('refused' in sent) {
      this.count('frag-needed');
      return this.icmpError(now, side.cfg.address, packet, destinationUnreachable(UNREACHABLE_CODE.FRAGMENTATION_NEEDED, packet, sent.mtu));
    }
    return this.dropped(sent.dropped);
  }

  private unowned(now: number, side: LinkSide, unit: UnitId, packet: Uint8Array, fromWire: boolean): HostEffect[] {
    if (!fromWire) return this.dropped('not-mine');
    const forwarding = this.cfg.mode === 'forwarding';
    if (forwarding && !this.ownership.isMaster()) return this.misdirected(now, side);
    if (this.ownership.inTransition(unit)) {
      this.hold.hold(now, side.name, unit, packet);
      return NONE;
    }
    if (!forwarding) this.hold.seen(unit, packet);
    if (forwarding && this.ownerOf(unit) !== 0) {
      this.count('forwarded');
      return this.forward(side.name, unit, packet);
    }
    return this.dropped(forwarding ? 'unassigned' : 'not-mine');
  }

  /** Forwarding mode: the effects that hand `packet` to its unit's owner, split to fit a frame (forward-split.ts). */
  private forward(side: SideName, unit: UnitId, packet: Uint8Array): HostEffect[] {
    const split = splitForForwarding(packet, MAX_FORWARDED_PACKET, (dst) => this.isLocal(dst));
    if (!split.ok) return this.dropped(split.drop);
    if (split.pieces.length > 1) this.count('forward-split');
    return split.pieces.map((p) => ({ kind: 'forward', side, unit, packet: p }));
  }

  /**
   * Forwarding mode, not master, and the cluster's traffic still comes to our
   * MAC: a neighbour kept an old master's entry (it may have ignored the new
   * master's announcement inside its ARP lock time). Point it at the master.
   */
  private misdirected(now: number, side: LinkSide): HostEffect[] {
    this.count('drop.not-mine');
    this.count('misdirected');
    const master = this.ownership.masterId();
    if (master === 0 || now < this.nextRedirectAt[side.name]) return NONE;
    this.nextRedirectAt[side.name] = now + REDIRECT_EVERY_MS;
    this.count(`${side.name}.redirect-to-master`);
    return [side.announce(memberMac(master, side.name))];
  }

  private deliver(now: number, packet: Uint8Array, datagram: Ipv4Datagram, unit: UnitId): HostEffect[] {
    const { header, payload } = datagram;
    const from = header.dst;
    if (header.protocol === IP_PROTOCOL.ICMP) {
      const m = decodeIcmp(payload);
      if (!m.ok) return this.dropped('malformed-icmp');
      if (m.value.kind !== 'echo-request') return this.dropped('icmp-ignored');
      this.count('icmp-echo');
      return this.send(now, from, header.src, IP_PROTOCOL.ICMP, encodeIcmp(echoReplyTo(m.value)));
    }
    if (header.protocol === IP_PROTOCOL.UDP) {
      const u = decodeUdp(payload, { src: header.src, dst: header.dst });
      if (!u.ok) return this.dropped('malformed-udp');
      const handler = this.udpHandlers.get(u.value.dstPort);
      if (handler) {
        if (from !== this.outer.cfg.address) return this.dropped('tunnel-on-inside');
        return this.tunnelOutputs(now, handler.udp(now, unit, { ip: header.src, port: u.value.srcPort }, u.value.dstPort, u.value.payload));
      }
      const service = this.services.get(u.value.dstPort);
      if (!service) return this.icmpError(now, from, packet, destinationUnreachable(UNREACHABLE_CODE.PORT, packet));
      this.count(`udp-${u.value.dstPort}`);
      const replies = service(u.value.payload, { ip: header.src, port: u.value.srcPort }, unit);
      const endpoints = { src: from, dst: header.src };
      return replies.flatMap((r) =>
        this.send(now, from, header.src, IP_PROTOCOL.UDP, encodeUdp({ srcPort: u.value.dstPort, dstPort: u.value.srcPort, payload: r }, endpoints)),
      );
    }
    const handler = this.protocolHandlers.get(header.protocol);
    if (handler && from === this.outer.cfg.address) return this.tunnelOutputs(now, handler.ip(now, unit, header.src, header.protocol, payload));
    return this.icmpError(now, from, packet, destinationUnreachable(UNREACHABLE_CODE.PROTOCOL, packet));
  }

  /** A tunnel handler's outputs as frames: its datagrams from the cluster address, its clients' packets routed on. */
  tunnelOutputs(now: number, outputs: readonly TunnelOutput[]): HostEffect[] {
    const from = this.outer.cfg.address;
    return outputs.flatMap((o) => {
      if (o.kind === 'inner') return this.decapsulated(now, o.packet);
      if (o.kind === 'ip') return this.send(now, from, o.to, o.protocol, o.payload);
      const udp = encodeUdp({ srcPort: o.localPort, dstPort: o.to.port, payload: o.payload }, { src: from, dst: o.to.ip }, { checksum: o.checksum ?? true });
      return this.send(now, from, o.to.ip, IP_PROTOCOL.UDP, udp);
    });
  }

  /** A client's packet out of its tunnel: routed like a forwarded packet (TTL−1), never to the cluster's own addresses. */
  private decapsulated(now: number, packet: Uint8Array): HostEffect[] {
    const d = decodeIpv4(packet);
    if (!d.ok) return this.dropped('tunnel-malformed-inner');
    const dst = d.value.header.dst;
    if (this.isLocal(dst)) return this.dropped('tunnel-to-cluster-address');
    if (!decrementTtl(packet)) return this.dropped('tunnel-ttl-exceeded');
    const out = this.route(dst);
    this.count(`tunnel.to-${out.name}`);
    const sent = out.send(now, dst, packet);
    if ('frames' in sent) return sent.frames;
    return this.dropped('refused' in sent ? 'tunnel-dont-fragment' : sent.dropped);
  }

  /** An ICMP error about `packet`, unless RFC 1812 §4.3.2.7 forbids one (errors about errors, non-first fragments). */
  private icmpError(now: number, from: Ipv4, packet: Uint8Array, message: IcmpMessage | undefined): HostEffect[] {
    if (!message) return this.dropped('icmp-unquotable');
    const d = decodeIpv4(packet);
    if (!d.ok) return this.dropped('icmp-unquotable');
    const h = d.value.header;
    if (h.fragmentOffset !== 0) return this.dropped('icmp-about-fragment');
    if (h.protocol === IP_PROTOCOL.ICMP) {
      const type = d.value.payload[0];
      if (type !== ICMP_TYPE.ECHO_REQUEST && type !== ICMP_TYPE.ECHO_REPLY) return this.dropped('icmp-about-icmp-error');
    }
    this.count(`icmp-${message.kind}`);
    return this.send(now, from, h.src, IP_PROTOCOL.ICMP, encodeIcmp(message));
  }

  /** A datagram from cluster address `from` to `dst`, out of the side that routes to `dst`. */
  private send(now: number, from: Ipv4, dst: Ipv4, protocol: number, payload: Uint8Array): HostEffect[] {
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
        src: from,
        dst,
        options: new Uint8Array(0),
      },
      payload,
    });
    const sent = this.route(dst).send(now, dst, packet);
    if ('frames' in sent) return sent.frames;
    return this.dropped('refused' in sent ? 'local-dont-fragment' : sent.dropped);
  }
}
