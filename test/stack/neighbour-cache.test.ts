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
    expect(c.lookup(6, IP, Uint8Array.of(4))).toEqual({ mac: MAC, askNow: false });
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

  it('keeps using a stale MAC while it asks again, and forgets a neighbour that stopped answering', () => {
    const c = new NeighbourCache(opts);
    c.learn(0, IP, MAC);
    expect(c.macOf(999, IP)).toEqual(MAC);
    expect(c.macOf(1000, IP)).toBeNull();
    // Stale: packets still go out (nothing is held or dropped); the first use asks again.
    expect(c.lookup(1000, IP, Uint8Array.of(1))).toEqual({ mac: MAC, askNow: true });
    expect(c.lookup(1001, IP, Uint8Array.of(2))).toEqual({ mac: MAC, askNow: false });
    expect(c.nextWakeAt()).toBe(1100);
    // Answered: fresh again, no more asking.
    c.learn(1050, IP, MAC);
    expect(c.lookup(1060, IP, Uint8Array.of(3))).toEqual({ mac: MAC, askNow: false });
    expect(c.nextWakeAt()).toBe(Infinity);
    // Stale again and silent: asked `retries` times, then forgotten.
    expect(c.lookup(2050, IP, Uint8Array.of(4))).toEqual({ mac: MAC, askNow: true });
    expect(c.due(2150)).toEqual([IP]);
    expect(c.due(2250)).toEqual([IP]);
    expect(c.due(2350)).toEqual([]);
    expect(c.drops.get('gone')).toBe(1);
    expect(c.lookup(2351, IP, Uint8Array.of(5))).toEqual({ queued: true, askNow: true });
    expect(c.drops.get('queue-full')).toBeUndefined();
  });

  it('bounds the table', () => {
    const c = new NeighbourCache(opts);
    c.lookup(0, 1, Uint8Array.of(1));
    c.lookup(0, 2, Uint8Array.of(1));
    expect(c.lookup(0, 3, Uint8Array.of(1))).toEqual({ dropped: 'table-full' });
    expect(c.drops.get('table-full')).toBe(1);
  });
});
