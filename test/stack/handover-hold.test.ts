/**
 * The hand-over hold: whatever point the old owner stops at, the new owner
 * serves exactly the rest of the unit's packets: none twice, none lost, as
 * long as it started holding no later than the old owner stopped.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HandoverHold, packetDigest } from '../../src/stack/handover-hold.js';

function stream(n: number, seed: number): Uint8Array[] {
  // Distinct packets, as IP IDs and checksums make them on the wire.
  return Array.from({ length: n }, (_, i) => Uint8Array.of(0x45, 0, 0, 28, (seed >> 8) & 0xff, seed & 0xff, i >> 8, i & 0xff, ...new Array<number>(20).fill(i % 7)));
}

const noCount = (): void => undefined;

describe('handover hold', () => {
  it('the old owner’s served prefix plus the new owner’s take-over is the whole stream, each packet once', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), fc.nat(), fc.nat(), fc.integer({ min: 0, max: 0xffff }), (n, a, b, seed) => {
        const packets = stream(n, seed);
        const stopAfter = (a % (n + 1)) - 1; // the old owner served 0..stopAfter (−1: none)
        const holdFrom = b % (stopAfter + 2); // the new owner held from here: no later than the stop
        const old = new HandoverHold<'outer'>(noCount);
        const next = new HandoverHold<'outer'>(noCount);
        const servedByOld: Uint8Array[] = [];
        packets.forEach((p, i) => {
          if (i <= stopAfter) {
            old.served(7, p);
            servedByOld.push(p);
          }
          if (i >= holdFrom) next.hold(i, 'outer', 7, p);
          else next.seen(7, p); // read but not held (not yet moving), as the cluster host records it
        });
        const marker = old.markerOf(7);
        expect(marker).not.toBe(0);
        const taken = next.takeOver(7, marker).map((h) => h.packet);
        expect([...servedByOld, ...taken]).toEqual(packets);
        expect(next.heldBytes).toBe(0);
      }),
    );
  });

  it('copies what it holds (receive buffers are reused)', () => {
    const h = new HandoverHold<'inner'>(noCount);
    const buf = Uint8Array.of(1, 2, 3);
    h.hold(0, 'inner', 1, buf);
    buf.fill(9);
    expect([...(h.takeAll(1)[0]?.packet ?? [])]).toEqual([1, 2, 3]);
  });

  it('is bounded per unit, in bytes and in age, and counts what it gives up', () => {
    const counts = new Map<string, number>();
    const count = (w: string, n = 1): void => void counts.set(w, (counts.get(w) ?? 0) + n);
    const h = new HandoverHold<'outer'>(count, { packetsPerUnit: 2, totalBytes: 10, maxAgeMs: 100 });
    expect([h.hold(0, 'outer', 1, new Uint8Array(4)), h.hold(0, 'outer', 1, new Uint8Array(4)), h.hold(0, 'outer', 1, new Uint8Array(1))]).toEqual([true, true, false]);
    expect(h.hold(0, 'outer', 2, new Uint8Array(4))).toBe(false); // 12 bytes > 10
    expect(h.hold(50, 'outer', 3, new Uint8Array(2))).toBe(true);
    expect(h.nextWakeAt()).toBe(100);
    h.expire(100);
    expect(h.units()).toEqual([3]);
    expect(counts.get('hold.overflow')).toBe(2);
    expect(counts.get('hold.expired')).toBe(2);
    h.discard(3);
    expect(counts.get('hold.discarded')).toBe(1);
    expect(h.heldBytes).toBe(0);
  });

  it('digests are never 0 and tell apart packets that differ in their first bytes or length', () => {
    expect(packetDigest(new Uint8Array(0))).not.toBe(0);
    expect(packetDigest(Uint8Array.of(1, 2))).not.toBe(packetDigest(Uint8Array.of(1, 3)));
    expect(packetDigest(new Uint8Array(100))).not.toBe(packetDigest(new Uint8Array(101)));
  });
});
