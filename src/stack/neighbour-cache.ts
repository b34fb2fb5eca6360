/**
 * IPv4 → MAC for next hops (RFC 826), with timeouts, sans-IO.
 *
 *   lookup(ip) ─ known and fresh ─► MAC
 *              └ unknown ─► queue the packet (bounded) and ask: an ARP request
 *                           is due now, then again every retryMs, up to `retries`
 *   learn(ip, mac) ─► the queued packets for ip are released to be sent
 *
 * Entries expire after `reachableMs`; packets that wait too long are dropped
 * and counted, as is every packet beyond the per-address queue limit.
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
  expires: number;
  queue: Uint8Array[];
  asks: number;
  nextAsk: number;
}

export type Lookup = { mac: Uint8Array } | { queued: true; askNow: boolean } | { dropped: 'queue-full' | 'table-full' };

export class NeighbourCache {
  private readonly entries = new Map<Ipv4, Entry>();
  readonly drops = new Map<string, number>();

  constructor(private readonly options: NeighbourOptions = DEFAULT_NEIGHBOUR_OPTIONS) {}

  private drop(reason: string, n = 1): void {
    this.drops.set(reason, (this.drops.get(reason) ?? 0) + n);
  }

  /** The MAC for `ip`, or the packet is held until it is learnt (and whether to send an ARP request now). */
  lookup(now: number, ip: Ipv4, packet: Uint8Array): Lookup {
    let e = this.entries.get(ip);
    if (e?.mac && now < e.expires) return { mac: e.mac };
    if (!e) {
      if (this.entries.size >= this.options.maxEntries) {
        this.drop('table-full');
        return { dropped: 'table-full' };
      }
      e = { mac: null, expires: 0, queue: [], asks: 0, nextAsk: now };
      this.entries.set(ip, e);
    }
    if (e.mac) {
      e.mac = null; // stale: ask again, holding packets meanwhile
      e.asks = 0;
      e.nextAsk = now;
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

  /** A MAC seen for `ip` (an ARP reply or request from it): returns the packets that waited for it. */
  learn(now: number, ip: Ipv4, mac: Uint8Array): Uint8Array[] {
    const e = this.entries.get(ip);
    const queue = e?.queue ?? [];
    if (!e && this.entries.size >= this.options.maxEntries) return [];
    this.entries.set(ip, { mac: mac.slice(), expires: now + this.options.reachableMs, queue: [], asks: 0, nextAsk: 0 });
    return queue;
  }

  /** Addresses to ask again now; unanswered ones past their retries are given up (their packets dropped). */
  due(now: number): Ipv4[] {
    const ask: Ipv4[] = [];
    for (const [ip, e] of this.entries) {
      if (e.mac) {
        if (now >= e.expires + this.options.reachableMs) this.entries.delete(ip); // long unused
        continue;
      }
      if (now < e.nextAsk) continue;
      if (e.asks >= this.options.retries) {
        this.drop('unresolved', e.queue.length);
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
    for (const e of this.entries.values()) if (!e.mac) t = Math.min(t, e.nextAsk);
    return t;
  }

  macOf(now: number, ip: Ipv4): Uint8Array | null {
    const e = this.entries.get(ip);
    return e?.mac && now < e.expires ? e.mac : null;
  }
}
