/**
 * The IPsec tunnel handler: plugs the IKEv2 responder and the ESP SAs into
 * the cluster host (UDP 500 and 4500, IP protocol 50, return traffic to the
 * clients' virtual addresses). Sans-IO like the host: packets and time in,
 * outputs out; SA events go to an injected sink (logs, key export).
 *
 *   UDP 500 ─────────────► responder
 *   UDP 4500 ─ marker 0 ──► responder
 *            ├ 0xFF ──────► NAT keepalive (counted)
 *            └ ESP ─┐
 *   IP 50 ──────────┴─────► inbound SA by SPI ─ replay/ICV ─ inner source in TSi? ─► inside
 *   inside ─ dst = a virtual address ─► its newest CHILD SA ─► ESP (in UDP 4500 when NATed) ─► client
 */
import type { UnitId } from '../../cluster/types.js';
import type { Ipv4 } from '../../lib/ipv4.js';
import type { Endpoint, TunnelHandler, TunnelOutput } from '../../stack/tunnel-handler.js';
import { readU32 } from '../../wire/esp.js';
import { decodeIpv4 } from '../../wire/ipv4.js';
import { decodeUdpEncap, encodeNonEsp, NAT_T_PORT } from '../../wire/udp-encap.js';
import type { IkeEventFields, ResponderDeps, ResponderOutput } from './ike/context.js';
import { spiKey, type ChildSa, type IkeSa } from './ike/ike-sa.js';
import { IkeResponder } from './ike/responder.js';
import { decodeSaSnapshot, encodeSaSnapshot, SaRecordLimitError } from './replication/sa-record.js';
import { restoreSa, snapshotOf } from './replication/sa-snapshot.js';
import { formatIpv4 } from '../../lib/ipv4.js';
import { selectorContains } from './ike/negotiation/traffic-selectors.js';
import { HandshakeBudget, isHandshake } from './handshake-budget.js';

export { HANDSHAKES_PER_TURN, HANDSHAKE_QUEUE_BYTES, HANDSHAKE_QUEUE_MAX } from './handshake-budget.js';

const IKE_PORT = 500;
const PROTO_ESP = 50;
const IP_VERSION_4 = 4;

/**
 * Where an SA's essential state goes on every change (the replicator); body
 * null when the SA ended. Returns the record's version, for `ReplicationAcked`.
 */
export type Replicate = (now: number, unit: UnitId, key: string, body: Uint8Array | null) => number | void;
/** The highest version of an SA's record every other member has acknowledged (the replicator's `acked`). */
export type ReplicationAcked = (unit: UnitId, key: string) => number;

/** How often replay edges (and rates) of busy CHILD SAs are replicated (the batch); outbound numbers are leased. */
export const SEQUENCE_BATCH_MS = 500;
/** Weight of the newest measurement in the outbound rate estimate. */
const RATE_WEIGHT = 0.5;
/** How many released CHILD SAs' last sequence numbers a member remembers (for taking one back). */
const USED_BEFORE_MAX = 65_536;

export interface SaEventSink {
  event(name: string, fields: IkeEventFields): void;
  childUp?(sa: IkeSa, child: ChildSa): void;
  childDown?(sa: IkeSa, child: ChildSa): void;
}

interface Bound {
  sa: IkeSa;
  child: ChildSa;
}

export class IpsecHandler implements TunnelHandler {
  readonly name = 'ipsec';
  readonly udpPorts = [IKE_PORT, NAT_T_PORT] as const;
  readonly ipProtocols = [PROTO_ESP] as const;
  readonly responder: IkeResponder;
  readonly counters = new Map<string, number>();
  private readonly inbound = new Map<number, Bound>();
  private readonly byVirtualAddress = new Map<Ipv4, Bound>();
  private nextBatchAt = 0;
  private readonly handshakes: HandshakeBudget;
  /** Set by the composition root when replication runs. */
  replicate: Replicate | null = null;
  /**
   * Set with `replicate`: sequence leases then wait for every peer's
   * acknowledgement. Null: each lease counts as granted once published.
   */
  replicationAcked: ReplicationAcked | null = null;
  /**
   * The last outbound sequence number this member sent on CHILD SAs it let
   * go of (by SA and outbound SPI): should one come back, it continues above
   * them even if its record says less (bounded; oldest forgotten first).
   */
  private readonly usedBefore = new Map<string, number>();

  constructor(
    private readonly deps: ResponderDeps,
    private readonly sink: SaEventSink = { event: () => undefined },
    /** Handshakes per turn (the daemon passes HANDSHAKES_PER_TURN); unbounded by default. */
    handshakesPerTurn = Infinity,
  ) {
    this.responder = new IkeResponder(deps);
    this.handshakes = new HandshakeBudget(handshakesPerTurn);
  }

  private count(what: string): void {
    this.counters.set(what, (this.counters.get(what) ?? 0) + 1);
  }

  /** Every counter of the handler and its responder, for status and tests. */
  allCounters(): Map<string, number> {
    const all = new Map(this.counters);
    for (const [k, v] of this.responder.counters) all.set(k, v);
    return all;
  }

  udp(now: number, unit: UnitId, from: Endpoint, localPort: number, payload: Uint8Array): TunnelOutput[] {
    if (localPort === IKE_PORT) return this.ike(now, unit, from, localPort, payload);
    const d = decodeUdpEncap(payload);
    if (!d.ok) {
      this.count(`esp.drop.udp-encap-${d.error.reason}`);
      return [];
    }
    if (d.value.kind === 'keepalive') {
      this.count('nat-keepalive');
      return [];
    }
    if (d.value.kind === 'ike') return this.ike(now, unit, from, localPort, d.value.message);
    return this.esp(now, d.value.packet);
  }

  private ike(now: number, unit: UnitId, from: Endpoint, localPort: number, message: Uint8Array): TunnelOutput[] {
    if (isHandshake(message) && !this.handshakes.spend(now)) {
      this.count(this.handshakes.defer({ unit, from, localPort, message }) ? 'ike.handshake-deferred' : 'ike.drop.handshake-queue-full');
      return [];
    }
    const out = this.outputs(this.responder.input(now, unit, from, localPort, message));
    this.publish(now);
    return out;
  }

  /** Handshakes deferred from earlier turns, as many as this turn allows. */
  private drainWaiting(now: number): TunnelOutput[] {
    const out: TunnelOutput[] = [];
    for (let w = this.handshakes.next(now); w !== undefined; w = this.handshakes.next(now)) {
      out.push(...this.outputs(this.responder.input(now, w.unit, w.from, w.localPort, w.message)));
    }
    return out;
  }

  ip(now: number, _unit: UnitId, _src: Ipv4, protocol: number, payload: Uint8Array): TunnelOutput[] {
    if (protocol !== PROTO_ESP) {
      this.count('esp.drop.not-esp');
      return [];
    }
    if (payload.length < 8) {
      this.count('esp.drop.truncated');
      return [];
    }
    return this.esp(now, payload);
  }

  private esp(now: number, packet: Uint8Array): TunnelOutput[] {
    const bound = this.inbound.get(readU32(packet, 0));
    if (!bound) {
      this.count('esp.drop.unknown-spi');
      return [];
    }
    const d = bound.child.inbound.decapsulate(now, packet);
    if (!d.ok) {
      this.count(`esp.drop.${d.reason}`);
      return [];
    }
    bound.sa.lastHeard = now;
    if (d.nextHeader !== IP_VERSION_4) {
      this.count(d.nextHeader === 59 ? 'esp.dummy' : 'esp.drop.not-ipv4');
      return [];
    }
    // RFC 4301 §5.2: the inner packet must match the SA's selectors (a client may only send as itself).
    const inner = decodeIpv4(d.packet);
    if (!inner.ok) {
      this.count('esp.drop.malformed-inner');
      return [];
    }
    const h = inner.value.header;
    if (!bound.child.tsi.some((ts) => selectorContains(ts, h.src)) || !bound.child.tsr.some((ts) => selectorContains(ts, h.dst))) {
      this.count('esp.drop.outside-selectors');
      return [];
    }
    this.count('esp.in');
    return [{ kind: 'inner', packet: d.packet }];
  }

  toClient(now: number, _unit: UnitId, dst: Ipv4, packet: Uint8Array): TunnelOutput[] | null {
    const bound = this.byVirtualAddress.get(dst);
    if (!bound) return null;
    if (!this.leaseAllows(now, bound.sa, bound.child)) {
      this.count('esp.out-failed.lease');
      return [];
    }
    const esp = bound.child.outbound.encapsulate(now, packet);
    if (typeof esp === 'string') {
      this.count(`esp.out-failed.${esp}`);
      return [];
    }
    this.count('esp.out');
    const sa = bound.sa;
    // the ICV protects ESP; RFC 3948 §2.1: the UDP checksum SHOULD be zero
    if (sa.natPeer || sa.localPort === NAT_T_PORT) return [{ kind: 'udp', localPort: NAT_T_PORT, to: sa.peer, payload: esp, checksum: false }];
    return [{ kind: 'ip', protocol: PROTO_ESP, to: sa.peer.ip, payload: esp }];
  }

  /**
   * Whether the child's next sequence number is within its acknowledged
   * lease; extends the lease ahead of need (seq-lease.ts), publishing the
   * SA's record at once.
   */
  private leaseAllows(now: number, sa: IkeSa, child: ChildSa): boolean {
    const lease = child.lease;
    if (lease.pending) this.refreshGrant(sa, child);
    const last = child.outbound.lastSequence;
    if (lease.wantsExtension(now, last)) {
      lease.extend(now, last, child.outRate);
      this.responder.dirty.add(sa);
      this.publish(now);
      this.refreshGrant(sa, child);
    }
    return last < lease.granted;
  }

  private refreshGrant(sa: IkeSa, child: ChildSa): void {
    if (this.replicate === null || this.replicationAcked === null) child.lease.grantAll();
    else child.lease.acknowledged(this.replicationAcked(sa.unit, sa.spiKey));
  }

  tick(now: number): TunnelOutput[] {
    const out = this.drainWaiting(now);
    out.push(...this.outputs(this.responder.tick(now)));
    if (now >= this.nextBatchAt) {
      this.nextBatchAt = now + SEQUENCE_BATCH_MS;
      this.measure(now);
    }
    this.publish(now);
    return out;
  }

  nextWakeAt(): number {
    const batch = this.replicate !== null && this.responder.state.sas.size > 0 ? this.nextBatchAt : Infinity;
    // Deferred handshakes: at once, but in a later turn (the timer lets other timers and I/O run first).
    const deferred = this.handshakes.nextWakeAt();
    return Math.min(this.responder.nextWakeAt(), batch, deferred);
  }

  /** Outbound rates, and CHILD SAs whose replay edge moved since it was last replicated. */
  private measure(now: number): void {
    for (const sa of this.responder.state.sas.values()) {
      if (sa.state !== 'established') continue;
      for (const c of sa.children) {
        const seq = c.outbound.lastSequence;
        const dt = (now - c.rateAt) / 1000;
        if (dt > 0) {
          const rate = Math.max(0, seq - c.rateSequence) / dt;
          c.outRate = c.outRate === 0 ? rate : RATE_WEIGHT * rate + (1 - RATE_WEIGHT) * c.outRate;
        }
        c.rateSequence = seq;
        c.rateAt = now;
        if (c.inbound.window.highest !== c.publishedIn) this.responder.dirty.add(sa);
      }
    }
  }

  /** Replicates what changed: one record per IKE SA (with its children), a tombstone for each that ended. */
  private publish(now: number): void {
    const r = this.responder;
    if (this.replicate === null) {
      r.dirty.clear();
      r.gone = [];
      return;
    }
    for (const sa of r.gone) this.replicate(now, sa.unit, sa.spiKey, null);
    r.gone = [];
    for (const sa of r.dirty) {
      // A record that cannot be written goes out as a tombstone: no member keeps an older version as current.
      const version = this.replicate(now, sa.unit, sa.spiKey, this.record(sa, now));
      for (const c of sa.children) {
        c.publishedIn = c.inbound.window.highest;
        if (typeof version === 'number') c.lease.published(version);
        else c.lease.grantAll();
      }
    }
    r.dirty.clear();
  }

  /** The unit's SAs (established and half-open) as replication records, from their live state. */
  exportUnit(now: number, unit: UnitId): { key: string; body: Uint8Array }[] {
    const out: { key: string; body: Uint8Array }[] = [];
    for (const sa of this.responder.state.sas.values()) {
      if (sa.unit !== unit || sa.state === 'rekeyed') continue;
      const body = this.record(sa, now);
      if (body !== null) out.push({ key: sa.spiKey, body });
    }
    return out;
  }

  /** The SA's replication record; null (counted) if it exceeds what a record can count (the caps prevent it). */
  private record(sa: IkeSa, now: number): Uint8Array | null {
    try {
      return encodeSaSnapshot(snapshotOf(sa, now));
    } catch (e) {
      if (!(e instanceof SaRecordLimitError)) throw e;
      this.count('replication.record-refused');
      return null;
    }
  }

  /** Takeover: the unit's SAs rebuilt from their records; their clients' next packets are served here. */
  adopt(now: number, records: readonly { body: Uint8Array | null; receivedAt: number }[]): number {
    let adopted = 0;
    for (const rec of records) {
      if (rec.body === null) continue;
      const snap = decodeSaSnapshot(rec.body);
      if (!snap.ok) {
        this.count('adopt.malformed-record');
        continue;
      }
      const key = spiKey(snap.value.spiR);
      const sa = restoreSa(this.deps, snap.value, now, (spiOut) => this.usedBefore.get(`${key}/${spiOut}`) ?? 0);
      this.responder.adopt(sa);
      // Published again under this owner with a lease of its own above the old owner's mark:
      // it sends once every other member (the old owner too) has acknowledged that record.
      for (const child of sa.children) child.lease.extend(now, child.outbound.lastSequence, child.outRate);
      this.responder.dirty.add(sa);
      for (const child of sa.children) this.bind(sa, child); // the last (newest) child carries outbound traffic
      adopted++;
      this.sink.event('ipsec.adopted', { spi: sa.spiKey, peer: sa.peerName, unit: sa.unit, children: sa.children.length, vip: sa.virtualAddress === null ? null : formatIpv4(sa.virtualAddress) });
    }
    this.publish(now);
    return adopted;
  }

  /**
   * An administrator ends a tunnel (by its id, our responder SPI in hex): the
   * client is sent a Delete, the SA is forgotten here and its record becomes
   * a tombstone, as for any SA that ended. Null when no such SA lives here.
   */
  kill(now: number, id: string): TunnelOutput[] | null {
    const sa = this.responder.state.sas.get(id);
    if (!sa) return null;
    const out = this.outputs(this.responder.deleteSa(now, sa, 'killed'));
    this.publish(now);
    return out;
  }

  /**
   * These units went to another member: forget their SAs here without ending
   * them, after a final record of each (the state as it is now; its lease
   * mark bounds what this member sent), and remember what this member sent on them.
   */
  release(units: readonly UnitId[], now?: number): number {
    const forgotten = this.responder.forgetUnits(new Set(units));
    for (const sa of forgotten) {
      if (this.replicate !== null && now !== undefined && sa.state !== 'rekeyed') this.replicate(now, sa.unit, sa.spiKey, this.record(sa, now));
      for (const child of sa.children) {
        this.rememberUsed(`${sa.spiKey}/${child.spiOut}`, child.outbound.lastSequence);
        this.inbound.delete(child.spiIn);
        if (sa.virtualAddress !== null && this.byVirtualAddress.get(sa.virtualAddress)?.sa === sa) this.byVirtualAddress.delete(sa.virtualAddress);
      }
    }
    return forgotten.length;
  }

  private rememberUsed(key: string, last: number): void {
    if (last === 0) return;
    this.usedBefore.delete(key);
    this.usedBefore.set(key, last);
    if (this.usedBefore.size > USED_BEFORE_MAX) this.usedBefore.delete(this.usedBefore.keys().next().value as string);
  }

  /** Datagrams out; SA events update the SPI and virtual-address tables. */
  private outputs(outs: readonly ResponderOutput[]): TunnelOutput[] {
    const sent: TunnelOutput[] = [];
    for (const o of outs) {
      switch (o.kind) {
        case 'send':
          sent.push({ kind: 'udp', localPort: o.localPort, to: o.to, payload: o.localPort === IKE_PORT ? o.message : encodeNonEsp(o.message) });
          break;
        case 'child-up':
          this.bind(o.sa, o.child);
          this.sink.childUp?.(o.sa, o.child);
          break;
        case 'child-down':
          this.unbind(o.sa, o.child);
          this.sink.childDown?.(o.sa, o.child);
          break;
        case 'ike-up':
          // An IKE rekey moved the children: later lookups must find the new SA (its endpoint, its lifetime).
          for (const child of o.sa.children) this.bind(o.sa, child, false);
          this.sink.event('ike.up', { spi: o.sa.spiKey, peer: o.sa.peerName, unit: o.sa.unit });
          break;
        case 'ike-down':
          this.sink.event('ike.down', { spi: o.sa.spiKey, peer: o.sa.peerName, reason: o.reason });
          break;
        case 'event':
          this.sink.event(o.name, o.fields);
          break;
      }
    }
    return sent;
  }

  private bind(sa: IkeSa, child: ChildSa, newest = true): void {
    const bound = { sa, child };
    this.inbound.set(child.spiIn, bound);
    const vip = sa.virtualAddress;
    if (vip === null) return;
    const current = this.byVirtualAddress.get(vip);
    // The newest CHILD SA carries outbound traffic (after a rekey the old one only drains inbound).
    if (newest || !current || current.child === child) this.byVirtualAddress.set(vip, bound);
  }

  private unbind(sa: IkeSa, child: ChildSa): void {
    this.inbound.delete(child.spiIn);
    this.responder.releaseChildSpi(child.spiIn);
    for (const [vip, bound] of this.byVirtualAddress) {
      if (bound.child !== child) continue;
      const other = sa.children.filter((c) => c !== child).at(-1);
      if (other) this.byVirtualAddress.set(vip, { sa, child: other });
      else this.byVirtualAddress.delete(vip);
    }
  }
}
