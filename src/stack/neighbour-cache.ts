/**
 * IPv4 → MAC for next hops (RFC 826), with timeouts, sans-IO.
 *
 *   lookup(ip) ─ known (fresh, or stale and being asked again) ─► MAC
 *              └ unknown ─► queue the packet (bounded) and ask: an ARP request
 *                           is due now, then again every retryMs, up to `retries`
 *   learn(ip, mac) ─► the queued packets for ip are released to be sent
 *
 * Entries go stale after `reachableMs` and are asked for again while still
 * used; a neighbour that stops answering is forgotten. Packets that wait too
 * long are dropped and counted, as is every packet beyond the queue limit.
 */
import type { Ipv4 } from '../lib/ipv4.js';

export interface NeighbourOptions {
  reachableMs: number;
  retryMs: number;
  retries: number;
  queuePerAddress: number;
  maxEntries: number;
}

export const DEFAULT_NEIGHBOUR_OPTIONS: NeighbourOptions = {
  reachableMs: 30_000,
  retryMs: 1000,
  retries: 3,
  // A burst of new flows all wait for the same first ARP answer (Linux keeps ~100 packets: unres_qlen_bytes).
  queuePerAddress: 128,
  maxEntries: 1024,
};

interface Entry {
  mac: Uint8Array | null;
  /** Until then the MAC is fresh; after it, stale: still used while it is asked for again. */
  expires: number;
  queue: Uint8Array[];
  /** ARP requests sent in the current round of asking (0: not asking). */
  asks: number;
  nextAsk: number;
}

/**
 * `mac`: send now (with a stale MAC, `askNow` says to ask again as well).
 * `queued`: held until the MAC is learnt (`askNow`: send the first request now).
 */
export type Lookup = { mac: Uint8Array; askNow: boolean } | { queued: true; askNow: boolean } | { dropped: 'queue-full' | 'table-full' };

export class NeighbourCache {
  private readonly entries = new Map<Ipv4, Entry>();
  readonly drops = new Map<string, number>();

  constructor(private readonly options: NeighbourOptions = DEFAULT_NEIGHBOUR_OPTIONS) {}

  private drop(reason: string, n = 1): void {
    this.drops.set(reason, (this.drops.get(reason) ?? 0) + n);
  }

  /**
   * Where to send a packet for `ip` now. A known MAC is used even when stale
   * (as Linux does in its STALE/PROBE states): the neighbour is asked again
   * meanwhile, and only forgotten when it stops answering. Only an address
   * never learnt holds packets.
   */
  lookup(now: number, ip: Ipv4, packet: Uint8Array): Lookup {
    const known = this.resolve(now, ip);
    if (known) return known;
    let e = this.entries.get(ip);
    if (!e) {
      if (this.entries.size >= this.options.maxEntries) {
        this.drop('table-full');
        return { dropped: 'table-full' };
      }
      e = { mac: null, expires: 0, queue: [], asks: 0, nextAsk: now };
      this.entries.set(ip, e);
    }
    if (e.queue.length >= this.options.queuePerAddress) {
      this.drop('queue-full');
      return { dropped: 'queue-full' };
    }
    e.queue.push(packet);
    const askNow = e.asks === 0;
    if (askNow) {
      e.asks = 1;
      e.nextAsk = now + this.options.retryMs;
    }
    return { queued: true, askNow };
  }

  /** The MAC to send to `ip` with now, fresh or stale (starting a new round of asking when stale), or null when none is known. */
  resolve(now: number, ip: Ipv4): { mac: Uint8Array; askNow: boolean } | null {
    const e = this.entries.get(ip);
    if (!e?.mac) return null;
    if (now < e.expires || e.asks > 0) return { mac: e.mac, askNow: false };
    e.asks = 1;
    e.nextAsk = now + this.options.retryMs;
    return { mac: e.mac, askNow: true };
  }

  /** A MAC seen for `ip` (an ARP reply or request from it): returns the packets that waited for it. */
  learn(now: number, ip: Ipv4, mac: Uint8Array): Uint8Array[] {
    const e = this.entries.get(ip);
    const queue = e?.queue ?? [];
    if (!e && this.entries.size >= this.options.maxEntries) return [];
    this.entries.set(ip, { mac: mac.slice(), expires: now + this.options.reachableMs, queue: [], asks: 0, nextAsk: 0 });
    return queue;
  }

  /** Addresses to ask again now; those that stopped answering are forgotten (with any packets they held). */
  due(now: number): Ipv4[] {
    const ask: Ipv4[] = [];
    for (const [ip, e] of this.entries) {
      if (e.asks === 0) {
        if (e.mac && now >= e.expires + this.options.reachableMs) this.entries.delete(ip); // long unused
        continue;
      }
      if (now < e.nextAsk) continue;
      if (e.asks >= this.options.retries) {
        this.drop(e.mac ? 'gone' : 'unresolved', Math.max(e.queue.length, e.mac ? 1 : 0));
        this.entries.delete(ip);
        continue;
      }
      e.asks++;
      e.nextAsk = now + this.options.retryMs;
      ask.push(ip);
    }
    return ask;
  }

  nextWakeAt(): number {
    let t = Infinity;
    for (const e of this.entries.values()) if (e.asks > 0) t = Math.min(t, e.nextAsk);
    return t;
  }

  /** The fresh MAC of `ip`, or null (unknown or stale). */
  macOf(now: number, ip: Ipv4): Uint8Array | null {
    const e = this.entries.get(ip);
    return e?.mac && now < e.expires ? e.mac : null;
  }
}
