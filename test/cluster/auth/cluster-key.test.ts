import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CLUSTER_KEY_LENGTH, KeyRing, PREVIOUS_KEYS_KEPT, RETIRED_EPOCHS_KEPT, macEquals, macOf, newClusterKey } from '../../../src/cluster/auth/cluster-key.js';
import { MAC_LENGTH } from '../../../src/cluster/messages.js';
import { SeededRandom } from '../../../src/lib/random.js';

describe('newClusterKey', () => {
  it('draws 32 bytes from the injected source, reproducibly', () => {
    const a = newClusterKey(new SeededRandom(7), 3);
    const b = newClusterKey(new SeededRandom(7), 3);
    expect(a.epoch).toBe(3);
    expect(a.key).toHaveLength(CLUSTER_KEY_LENGTH);
    expect(a.key).toEqual(b.key);
    expect(newClusterKey(new SeededRandom(8), 3).key).not.toEqual(a.key);
  });
});

describe('macOf / macEquals', () => {
  const key = new SeededRandom(1).bytes(32);

  it('is HMAC-SHA256 truncated to MAC_LENGTH', () => {
    const data = new TextEncoder().encode('keepalive');
    const full = createHmac('sha256', key).update(data).digest();
    const mac = macOf(key, data);
    expect(mac).toHaveLength(MAC_LENGTH);
    expect(Buffer.from(mac).equals(full.subarray(0, MAC_LENGTH))).toBe(true);
  });

  it('depends on key and data; equal MACs compare equal, others not', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), (data, otherKey) => {
        const mac = macOf(key, data);
        expect(macEquals(mac, macOf(key, data))).toBe(true);
        if (!Buffer.from(otherKey).equals(key)) expect(macEquals(mac, macOf(otherKey, data))).toBe(false);
        const flipped = Uint8Array.from(mac);
        flipped[0] = (flipped[0] ?? 0) ^ 0x80;
        expect(macEquals(mac, flipped)).toBe(false);
      }),
    );
  });

  it('refuses MACs of another length without throwing', () => {
    const mac = macOf(key, new Uint8Array([1]));
    expect(macEquals(mac, mac.subarray(0, 15))).toBe(false);
    expect(macEquals(mac, new Uint8Array(0))).toBe(false);
    expect(macEquals(new Uint8Array(0), new Uint8Array(0))).toBe(true);
  });
});

describe('KeyRing', () => {
  const rng = new SeededRandom(42);

  it('starts empty', () => {
    const ring = new KeyRing();
    expect(ring.current).toBeUndefined();
    expect(ring.get(0)).toBeUndefined();
    expect(ring.isCurrent(0)).toBe(false);
  });

  it('keeps the current key and the last PREVIOUS_KEYS_KEPT before it', () => {
    const ring = new KeyRing();
    const keys = Array.from({ length: 7 }, (_, i) => newClusterKey(rng, i + 1));
    for (const k of keys) ring.set(k);
    expect(ring.current?.epoch).toBe(7);
    expect(ring.isCurrent(7)).toBe(true);
    expect(ring.isCurrent(6)).toBe(false);
    for (let e = 7 - PREVIOUS_KEYS_KEPT; e <= 7; e++) expect(ring.get(e)?.key).toEqual(keys[e - 1]?.key);
    expect(ring.get(7 - PREVIOUS_KEYS_KEPT - 1)).toBeUndefined();
  });

  it('copies key bytes so the caller cannot change a stored key', () => {
    const ring = new KeyRing();
    const k = newClusterKey(rng, 1);
    const original = Uint8Array.from(k.key);
    ring.set(k);
    k.key.fill(0);
    expect(ring.get(1)?.key).toEqual(original);
  });

  it('accepts a lower epoch (a new cluster) and never holds two keys for one epoch', () => {
    const ring = new KeyRing();
    const a = newClusterKey(rng, 5);
    const b = newClusterKey(rng, 1);
    const c = newClusterKey(rng, 5);
    ring.set(a);
    ring.set(b);
    expect(ring.current?.epoch).toBe(1);
    expect(ring.get(5)?.key).toEqual(a.key);
    ring.set(c);
    expect(ring.get(5)?.key).toEqual(c.key);
    expect(ring.get(1)?.key).toEqual(b.key);
  });

  it('rotate() makes the key current and retires every other at once; a retired epoch can never come back', () => {
    const ring = new KeyRing();
    ring.set(newClusterKey(rng, 1));
    ring.set(newClusterKey(rng, 2));
    const three = newClusterKey(rng, 3);
    expect(ring.rotate(three)).toBe(true);
    expect(ring.current?.epoch).toBe(3);
    expect(ring.get(1)).toBeUndefined();
    expect(ring.get(2)).toBeUndefined();
    expect([ring.isRetired(1), ring.isRetired(2), ring.isRetired(3)]).toEqual([true, true, false]);
    // A resent update for the current key changes nothing; a late one for a retired key is refused.
    expect(ring.rotate(three)).toBe(true);
    expect(ring.current?.epoch).toBe(3);
    expect(ring.rotate(newClusterKey(rng, 2))).toBe(false);
    expect(ring.set(newClusterKey(rng, 1))).toBe(false);
    expect(ring.current?.epoch).toBe(3);
    // The memory of retired epochs is bounded.
    for (let e = 10; e < 10 + RETIRED_EPOCHS_KEPT + 2; e++) ring.rotate(newClusterKey(rng, e));
    expect(ring.isRetired(1)).toBe(false);
    expect(ring.isRetired(10 + RETIRED_EPOCHS_KEPT)).toBe(true);
  });

  it('clear() forgets everything', () => {
    const ring = new KeyRing();
    ring.set(newClusterKey(rng, 1));
    ring.set(newClusterKey(rng, 2));
    ring.clear();
    expect(ring.current).toBeUndefined();
    expect(ring.get(1)).toBeUndefined();
  });
});
