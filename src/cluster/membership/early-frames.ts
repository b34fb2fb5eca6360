/**
 * MACed frames under a cluster key we do not hold yet, kept briefly.
 *
 *   frame ─► authenticate: unknown key epoch ─► hold (bounded, oldest out)
 *   a key arrives (KEY_UPDATE, OK_TO_JOIN) ─► the held frames of its epoch are opened again
 *
 * After a rotation the master's next orders are MACed under the new key and
 * its KEY_UPDATE may arrive after them (datagrams reorder); other members may
 * also have the key first. No older key may stand in (a removed member holds
 * those), so rather than drop such a frame and wait for a resend, it waits
 * here for the key. Nothing held is trusted: it is authenticated in full once
 * the key is there, and dropped unread after `ttlMs` or when pushed out.
 */
export const EARLY_FRAMES_KEPT = 16;

interface Held {
  at: number;
  epoch: number;
  bytes: Uint8Array;
}

export class EarlyFrames {
  private held: Held[] = [];

  constructor(
    private readonly ttlMs: number,
    private readonly max = EARLY_FRAMES_KEPT,
  ) {}

  /** Keeps a copy of `bytes` (receive buffers are reused); false when that pushed an older frame out. */
  hold(now: number, epoch: number, bytes: Uint8Array): boolean {
    this.expire(now);
    this.held.push({ at: now, epoch, bytes: bytes.slice() });
    if (this.held.length <= this.max) return true;
    this.held.shift();
    return false;
  }

  /** The held frames MACed under `epoch`, oldest first, removed from the store. */
  take(now: number, epoch: number): Uint8Array[] {
    this.expire(now);
    const out = this.held.filter((h) => h.epoch === epoch).map((h) => h.bytes);
    this.held = this.held.filter((h) => h.epoch !== epoch);
    return out;
  }

  get size(): number {
    return this.held.length;
  }

  private expire(now: number): void {
    if (this.held.length > 0 && (this.held[0]?.at ?? now) + this.ttlMs < now) this.held = this.held.filter((h) => h.at + this.ttlMs >= now);
  }
}
