/** The frames held for a cluster key that has not arrived yet: bounded, by epoch, for a while only. */
import { describe, expect, it } from 'vitest';
import { EarlyFrames } from '../../src/cluster/membership/early-frames.js';

describe('EarlyFrames', () => {
  it('gives back the frames of one epoch, copies, oldest first, once', () => {
    const f = new EarlyFrames(200, 4);
    const buf = Uint8Array.of(1);
    f.hold(0, 7, buf);
    buf[0] = 9; // receive buffers are reused
    f.hold(1, 8, Uint8Array.of(2));
    f.hold(2, 7, Uint8Array.of(3));
    expect(f.take(3, 7)).toEqual([Uint8Array.of(1), Uint8Array.of(3)]);
    expect(f.take(3, 7)).toEqual([]);
    expect(f.size).toBe(1);
  });

  it('pushes the oldest out beyond its bound and forgets frames older than the ttl', () => {
    const f = new EarlyFrames(200, 2);
    expect(f.hold(0, 1, Uint8Array.of(1))).toBe(true);
    expect(f.hold(0, 1, Uint8Array.of(2))).toBe(true);
    expect(f.hold(0, 1, Uint8Array.of(3))).toBe(false);
    expect(f.take(0, 1)).toEqual([Uint8Array.of(2), Uint8Array.of(3)]);
    f.hold(0, 1, Uint8Array.of(4));
    expect(f.take(201, 1)).toEqual([]);
  });
});
