import { describe, expect, it } from 'vitest';
import { NeighbourCache } from '../../src/stack/neighbour-cache.js';

const IP = 0xc6120101;
const MAC = Uint8Array.of(2, 0, 0, 0, 0, 1);
const opts = { reachableMs: 1000, retryMs: 100, retries: 3, queuePerAddress: 2, maxEntries: 2 };

describe('neighbour cache', () => {
  it('holds packets for an unknown address, asks once, and releases them when the MAC is learnt', () => {
    const c = new NeighbourCache(opts);
    expect(c.lookup(0, IP, Uint8Array.of(1))).toEqual({ queued: true, askNow: true });
    expect(c.lookup(1, IP, Uint8Array.of(2))).toEqual({ queued: true, askNow: false });
    expect(c.lookup(2, IP, Uint8Array.of(3))).toEqual({ dropped: 'queue-full' });
    expect(c.learn(5, IP, MAC).map((p) => p[0])).toEqual([1, 2]);
    expect(c.lookup(6, IP, Uint8Array.of(4))).toEqual({ mac: MAC });
  });

  it('asks again every retry period, then gives up and counts the dropped packets', () => {
    const c = new NeighbourCache(opts);
    c.lookup(0, IP, Uint8Array.of(1));
    expect(c.due(50)).toEqual([]);
    expect(c.due(100)).toEqual([IP]);
    expect(c.due(200)).toEqual([IP]);
    expect(c.due(300)).toEqual([]);
    expect(c.drops.get('unresolved')).toBe(1);
    expect(c.lookup(301, IP, Uint8Array.of(2))).toEqual({ queued: true, askNow: true });
  });

  it('expires learnt entries after the reachable time and asks again', () => {
    const c = new NeighbourCache(opts);
    c.learn(0, IP, MAC);
    expect(c.macOf(999, IP)).toEqual(MAC);
    expect(c.macOf(1000, IP)).toBeNull();
    expect(c.lookup(1000, IP, Uint8Array.of(1))).toEqual({ queued: true, askNow: true });
  });

  it('bounds the table', () => {
    const c = new NeighbourCache(opts);
    c.lookup(0, 1, Uint8Array.of(1));
    c.lookup(0, 2, Uint8Array.of(1));
    expect(c.lookup(0, 3, Uint8Array.of(1))).toEqual({ dropped: 'table-full' });
    expect(c.drops.get('table-full')).toBe(1);
  });
});
