/**
 * One cluster-facing Ethernet side of a member (outer or inner), sans-IO: the
 * MACs it takes off the wire, the cluster address it carries, ARP for that
 * address, its next hops, and how an IPv4 packet leaves through it.
 *
 *   frame ─► accepts(dst MAC)? ─► ARP: learn next hops; the master answers for the address
 *   packet out ─► on-link or via the gateway ─► neighbour cache (ARP probe when unknown)
 *              ─► fragment to the MTU (DF: refused, the caller sends frag-needed) ─► frames
 *
 * Members resolve next hops with ARP probes (sender IP 0.0.0.0, RFC 5227) so
 * no neighbour ever learns the cluster address at a member's own MAC.
 */
import type { Ipv4 } from '../lib/ipv4.js';
import { ARP_OP, decodeArp, encodeArp, type ArpPacket } from '../wire/arp.js';
import { ETHERTYPE, broadcastMac, encodeEthernet, zeroMac, type Mac } from '../wire/ethernet.js';
import { arpAnswerMac, frameFilter, type DeliveryMode } from './delivery-mode.js';
import { fragment } from './ipv4-fragments.js';
import { DEFAULT_NEIGHBOUR_OPTIONS, NeighbourCache } from './neighbour-cache.js';

export type SideName = 'outer' | 'inner';

export interface Prefix {
  base: Ipv4;
  prefixLen: number;
}

export interface SideConfig {
  mode: DeliveryMode;
  /** The cluster's address on this side (the outer cluster address, or the inside gateway). */
  address: Ipv4;
  /** This member's own MAC on this side (source of everything it sends). */
  ownMac: Mac;
  /** The side's LAN: destinations inside it are on-link. */
  subnet: Prefix;
  /** Next hop for destinations beyond the LAN; null when the side has none (an inside LAN with no router). */
  gateway: Ipv4 | null;
  mtu: number;
}

export type FrameEffect = { kind: 'frame'; side: SideName; frame: Uint8Array };

/** Why a packet could not leave: the caller counts it, and answers DF refusals with frag-needed. */
export type SendResult = { frames: FrameEffect[] } | { refused: 'dont-fragment'; mtu: number } | { dropped: string };

export function prefixMask(prefixLen: number): number {
  return prefixLen === 0 ? 0 : (0xffffffff << (32 - prefixLen)) >>> 0;
}

export function inPrefix(ip: Ipv4, p: Prefix): boolean {
  const mask = prefixMask(p.prefixLen);
  return ((ip & mask) >>> 0) === ((p.base & mask) >>> 0);
}

/**
 * How often a side asks for its gateway again while its entry is still fresh
 * (a third of the neighbour timeout): the gateway carries nearly every reply,
 * so its entry must never lapse and hold packets while it is asked again.
 */
export const GATEWAY_REFRESH_MS = DEFAULT_NEIGHBOUR_OPTIONS.reachableMs / 3;

export class LinkSide {
  readonly accepts: (dst: Mac) => boolean;
  /** The MAC the master gives out for this side's cluster address (this mode's). */
  private readonly answerMac: Mac;
  private readonly neighbours = new NeighbourCache();
  /** The first tick asks for the gateway at once: a member that just started or took over units answers without waiting for ARP. */
  private nextGatewayProbe = 0;

  constructor(
    readonly name: SideName,
    readonly cfg: SideConfig,
    private readonly count: (what: string) => void,
  ) {
    this.accepts = frameFilter(cfg.mode, cfg.ownMac, cfg.address);
    this.answerMac = arpAnswerMac(cfg.mode, cfg.address, cfg.ownMac);
  }

  isOnLink(ip: Ipv4): boolean {
    return inPrefix(ip, this.cfg.subnet);
  }

  /** An ARP packet from this side: learn the sender, release what waited for it, answer if master. */
  arp(now: number, bytes: Uint8Array, isMaster: boolean): FrameEffect[] {
    const d = decodeArp(bytes);
    if (!d.ok) {
      this.count('drop.malformed-arp');
      return [];
    }
    const p = d.value;
    const out: FrameEffect[] = [];
    if (p.senderIp !== 0 && p.senderIp !== this.cfg.address) {
      for (const packet of this.neighbours.learn(now, p.senderIp, p.senderMac)) {
        const r = this.framesTo(p.senderMac, packet);
        if ('frames' in r) out.push(...r.frames);
      }
    }
    if (p.op === ARP_OP.REQUEST && p.targetIp === this.cfg.address && p.senderIp !== this.cfg.address && isMaster) {
      const reply: ArpPacket = { op: ARP_OP.REPLY, senderMac: this.answerMac, senderIp: this.cfg.address, targetMac: p.senderMac, targetIp: p.senderIp };
      this.count(`${this.name}.arp-answered`);
      out.push(this.frame(p.senderMac, ETHERTYPE.ARP, encodeArp(reply)));
    }
    return out;
  }

  /** Gratuitous ARP for this side's cluster address with this mode's MAC (on becoming master), or with `mac` (pointing at the master). */
  announce(mac: Mac = this.answerMac): FrameEffect {
    const arp: ArpPacket = { op: ARP_OP.REQUEST, senderMac: mac, senderIp: this.cfg.address, targetMac: zeroMac(), targetIp: this.cfg.address };
    this.count(`${this.name}.gratuitous-arp`);
    return this.frame(broadcastMac(), ETHERTYPE.ARP, encodeArp(arp));
  }

  /** An IPv4 packet out of this side towards `dst` (on-link, else via the gateway). */
  send(now: number, dst: Ipv4, packet: Uint8Array): SendResult {
    const hop = this.isOnLink(dst) ? dst : this.cfg.gateway;
    if (hop === null) return { dropped: 'no-route' };
    if (packet.length > this.cfg.mtu) {
      // Refuse DF before queueing, so the sender hears frag-needed at once.
      const pieces = fragment(packet, this.cfg.mtu);
      if (!pieces.ok) return pieces.refusal === 'dont-fragment' ? { refused: 'dont-fragment', mtu: pieces.mtu } : { dropped: `fragment-${pieces.refusal}` };
    }
    const known = this.neighbours.resolve(now, hop);
    if (known) {
      const sent = this.framesTo(known.mac, packet);
      if (known.askNow && 'frames' in sent) sent.frames.push(this.probe(hop)); // stale: still used, asked again
      return sent;
    }
    // A queued packet outlives this turn, and routed packets are views of the receive batch: copy.
    const found = this.neighbours.lookup(now, hop, packet.slice());
    if ('dropped' in found) return { dropped: `neighbour-${found.dropped}` };
    if ('queued' in found) return { frames: found.askNow ? [this.probe(hop)] : [] };
    return this.framesTo(found.mac, packet);
  }

  tick(now: number): FrameEffect[] {
    const out = this.neighbours.due(now).map((ip) => this.probe(ip));
    if (this.cfg.gateway !== null && now >= this.nextGatewayProbe) {
      this.nextGatewayProbe = now + GATEWAY_REFRESH_MS;
      out.push(this.probe(this.cfg.gateway));
    }
    return out;
  }

  nextWakeAt(): number {
    return Math.min(this.neighbours.nextWakeAt(), this.cfg.gateway === null ? Infinity : this.nextGatewayProbe);
  }

  private frame(dst: Mac, etherType: number, payload: Uint8Array): FrameEffect {
    return { kind: 'frame', side: this.name, frame: encodeEthernet({ dst, src: this.cfg.ownMac, etherType, payload }) };
  }

  /** One packet to a resolved next hop, fragmented to the MTU. */
  private framesTo(mac: Mac, packet: Uint8Array): SendResult {
    if (packet.length <= this.cfg.mtu) return { frames: [this.frame(mac, ETHERTYPE.IPV4, packet)] };
    const pieces = fragment(packet, this.cfg.mtu);
    if (!pieces.ok) return pieces.refusal === 'dont-fragment' ? { refused: 'dont-fragment', mtu: pieces.mtu } : { dropped: `fragment-${pieces.refusal}` };
    this.count(`${this.name}.fragmented`);
    return { frames: pieces.fragments.map((f) => this.frame(mac, ETHERTYPE.IPV4, f)) };
  }

  /** An ARP probe (sender IP 0.0.0.0): asks for `ip` without teaching anyone our address. */
  private probe(ip: Ipv4): FrameEffect {
    this.count(`${this.name}.arp-probe`);
    const arp: ArpPacket = { op: ARP_OP.REQUEST, senderMac: this.cfg.ownMac, senderIp: 0, targetMac: zeroMac(), targetIp: ip };
    return this.frame(broadcastMac(), ETHERTYPE.ARP, encodeArp(arp));
  }
}
