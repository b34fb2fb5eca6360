/**
 * Lossless hand-over of a unit between live members, sans-IO.
 *
 * In the unicast and multicast modes every member sees every packet. While a
 * unit moves (the master de-assigned it from its old owner and has not yet
 * named the new one) every other member keeps copies of the unit's packets.
 * The old owner serves on for a short grace, then reports a marker: the digest
 * of the last packet it served. The new owner processes only the held packets
 * after that marker, so each packet is served exactly once; members that did
 * not get the unit throw theirs away.
 *
 * In forwarding mode the master alone holds a moving unit's packets and hands
 * them all to the new owner once it has acknowledged.
 *
 * Bounded: per unit, in bytes overall, and in age; what does not fit is
 * dropped and counted (the same as a packet lost on the wire).
 */
import type { UnitId } from '../cluster/types.js';
import { UNIT_COUNT } from '../cluster/types.js';

export interface HoldLimits {
  packetsPerUnit: number;
  totalBytes: number;
  maxAgeMs: number;
}

export const DEFAULT_HOLD_LIMITS: HoldLimits = { packetsPerUnit: 512, totalBytes: 8 * 1024 * 1024, maxAgeMs: 2000 };

/** Digests of the last few packets of each unit seen but neither held nor served: was the marker already behind us? */
const RECENT_PER_UNIT = 64;
/** How long a new owner drops a unit's packets waiting for the old owner's last one to come through its own queue. */
const AWAIT_MARKER_MS = 500;

/** Bytes of a packet that feed its digest: the IP header and the start of its transport header (whose checksum covers the payload). */
const DIGEST_PREFIX = 64;

/**
 * A 32-bit digest of a packet (FNV-1a over its first bytes and its length),
 * never 0 so that 0 can mean "no packet". Two different packets of one unit
 * within a hand-over differ in their IP ID, checksum or transport checksum.
 */
export function packetDigest(packet: Uint8Array): number {
  let h = 0x811c9dc5 ^ packet.length;
  const n = Math.min(packet.length, DIGEST_PREFIX);
  for (let i = 0; i < n; i++) h = Math.imul(h ^ packet[i]!, 0x01000193);
  return h >>> 0 || 1;
}

/** The marker of a unit whose old owner served none of its packets: matches no held packet (bar a 2^-32 chance). */
export const NOTHING_SERVED = 1;

export interface HeldPacket<S> {
  side: S;
  packet: Uint8Array;
  digest: number;
}

interface Held<S> {
  since: number;
  packets: HeldPacket<S>[];
}

export class HandoverHold<S> {
  /** Digest of the last packet this member served, per unit (what it reports when it gives a unit away). */
  private readonly lastServed = new Uint32Array(UNIT_COUNT);
  private readonly held = new Map<UnitId, Held<S>>();
  private bytes = 0;
  private readonly recent = new Uint32Array(UNIT_COUNT * RECENT_PER_UNIT);
  private readonly recentNext = new Uint8Array(UNIT_COUNT);
  /** Units taken over whose marker this member has not read yet: everything up to it was the old owner's. */
  private readonly awaiting = new Map<UnitId, { marker: number; until: number }>();

  constructor(
    private readonly count: (what: string, n?: number) => void,
    private readonly limits: HoldLimits = DEFAULT_HOLD_LIMITS,
  ) {}

  get heldUnits(): number {
    return this.held.size;
  }

  get heldBytes(): number {
    return this.bytes;
  }

  /** A packet of a unit that is not ours and not held (remembered briefly, to place a later marker). */
  seen(unit: UnitId, packet: Uint8Array): void {
    const i = this.recentNext[unit]!;
    this.recent[unit * RECENT_PER_UNIT + i] = packetDigest(packet);
    this.recentNext[unit] = (i + 1) % RECENT_PER_UNIT;
  }

  private seenRecently(unit: UnitId, marker: number): boolean {
    for (let i = 0; i < RECENT_PER_UNIT; i++) if (this.recent[unit * RECENT_PER_UNIT + i] === marker) return true;
    return false;
  }

  /**
   * May this member serve `packet` of a unit it owns? False while it still
   * waits for the old owner's marker to come through its own receive queue
   * (those packets were the old owner's), and for the marker packet itself.
   */
  admit(now: number, unit: UnitId, packet: Uint8Array): boolean {
    if (this.awaiting.size === 0) return true;
    const w = this.awaiting.get(unit);
    if (!w) return true;
    if (now >= w.until) {
      this.awaiting.delete(unit);
      this.count('hold.await-timeout');
      return true;
    }
    if (packetDigest(packet) === w.marker) {
      this.awaiting.delete(unit);
      this.count('hold.marker-arrived');
    }
    this.count('hold.served-by-old-owner');
    return false;
  }

  /** This member served `packet` of `unit`. */
  served(unit: UnitId, packet: Uint8Array): void {
    this.lastServed[unit] = packetDigest(packet);
  }

  /**
   * The marker this member reports when it releases `unit`: its last served
   * packet's digest, or NOTHING_SERVED. Never 0, which on the wire means "not
   * a hand-over" (a fresh assignment, or the old owner failed).
   */
  markerOf(unit: UnitId): number {
    return this.lastServed[unit] || NOTHING_SERVED;
  }

  /** Keep a copy of a moving unit's packet (the receive buffer is reused). False when it did not fit. */
  hold(now: number, side: S, unit: UnitId, packet: Uint8Array): boolean {
    let h = this.held.get(unit);
    if (!h) {
      h = { since: now, packets: [] };
      this.held.set(unit, h);
    }
    if (h.packets.length >= this.limits.packetsPerUnit || this.bytes + packet.length > this.limits.totalBytes) {
      this.count('hold.overflow');
      return false;
    }
    h.packets.push({ side, packet: packet.slice(), digest: packetDigest(packet) });
    this.bytes += packet.length;
    this.count('hold.held');
    return true;
  }

  /**
   * This member now owns `unit`, handed over with `marker`: the held packets
   * the old owner did not serve, in arrival order. A marker not among them
   * (NOTHING_SERVED, or its last packet came before we started holding)
   * means all of them.
   */
  takeOver(unit: UnitId, marker: number, now = 0): HeldPacket<S>[] {
    const packets = this.drop(unit);
    let from = -1;
    for (let i = packets.length - 1; i >= 0; i--) {
      if (packets[i]!.digest === marker) {
        from = i + 1;
        break;
      }
    }
    if (from < 0) {
      if (marker === NOTHING_SERVED || this.seenRecently(unit, marker)) {
        from = 0; // the old owner's last packet came before we started holding: all we held is unserved
      } else {
        // Not read yet: our receive queue lags the old owner's. Everything held, and all up to the marker, was its.
        this.count('hold.marker-ahead');
        this.awaiting.set(unit, { marker, until: now + AWAIT_MARKER_MS });
        from = packets.length;
      }
    }
    if (from > 0) this.count('hold.served-by-old-owner', from);
    this.count('hold.taken-over', packets.length - from);
    return packets.slice(from);
  }

  /** Everything held for `unit`, in arrival order (forwarding mode: all of it goes to the new owner). */
  takeAll(unit: UnitId): HeldPacket<S>[] {
    return this.drop(unit);
  }

  /** The unit went elsewhere (or came to us without a hand-over): forget its packets. */
  discard(unit: UnitId): void {
    const n = this.drop(unit).length;
    if (n > 0) this.count('hold.discarded', n);
  }

  /** Units held for longer than the age limit are given up. */
  expire(now: number): void {
    for (const [unit, h] of this.held) {
      if (now - h.since < this.limits.maxAgeMs) continue;
      this.count('hold.expired', h.packets.length);
      this.drop(unit);
    }
  }

  units(): UnitId[] {
    return [...this.held.keys()];
  }

  nextWakeAt(): number {
    let t = Infinity;
    for (const h of this.held.values()) t = Math.min(t, h.since + this.limits.maxAgeMs);
    return t;
  }

  private drop(unit: UnitId): HeldPacket<S>[] {
    const h = this.held.get(unit);
    if (!h) return [];
    this.held.delete(unit);
    for (const p of h.packets) this.bytes -= p.packet.length;
    return h.packets;
  }
}
