/**
 * Refuses control messages an attacker recorded and sends again. Every header
 * carries (incarnation = sender's boot wall-ms, seq = per-incarnation counter).
 * Per sender we keep the newest incarnation and an IPsec-style sliding window
 * of the last REPLAY_WINDOW sequence numbers, so messages reordered by the
 * network are still accepted once each. The window is wide because one
 * master's burst is: when members fail it sends a work order and a key update
 * per survivor in one instant, over a hundred sequence numbers at 64 members,
 * and a member that sees the burst's last message first must still take the rest.
 *
 * Check before authenticating, record only after: recording an unauthenticated
 * message would let a forger advance the window and shut the real sender out.
 */

export const REPLAY_WINDOW = 1024;
const WINDOW_BITS = BigInt(REPLAY_WINDOW);
const WINDOW_MASK = (1n << WINDOW_BITS) - 1n;

export type ReplayVerdict = 'fresh' | 'replayed' | 'stale-incarnation';

interface SenderWindow {
  incarnation: number;
  /** Highest seq recorded in this incarnation. */
  top: number;
  /** Bit i set = seq (top - i) was recorded. */
  seen: bigint;
}

function isSeq(seq: number): boolean {
  return Number.isSafeInteger(seq) && seq >= 0;
}

export class ReplayGuard {
  private readonly senders = new Map<number, SenderWindow>();

  /**
   * Would this message be new? Records nothing. `newestOnly` refuses anything
   * at or below the newest seq recorded, window or not: signed messages (joins,
   * elections) change membership, and one the receiver never processed (it was
   * not listening for that type then) must not be replayable inside the window.
   */
  check(sender: number, incarnation: number, seq: number, newestOnly = false): ReplayVerdict {
    // The codec yields u32 counters; anything else cannot be placed in a window.
    if (!isSeq(seq)) return 'replayed';
    const w = this.senders.get(sender);
    if (w === undefined || incarnation > w.incarnation) return 'fresh';
    if (incarnation < w.incarnation) return 'stale-incarnation';
    if (seq > w.top) return 'fresh';
    if (newestOnly) return 'replayed';
    const age = w.top - seq;
    if (age >= REPLAY_WINDOW) return 'replayed';
    return (w.seen >> BigInt(age)) & 1n ? 'replayed' : 'fresh';
  }

  /** Marks the message as seen; call only once it authenticated. A newer incarnation starts a new window. */
  record(sender: number, incarnation: number, seq: number): void {
    if (!isSeq(seq)) return;
    const w = this.senders.get(sender);
    if (w === undefined || incarnation > w.incarnation) {
      this.senders.set(sender, { incarnation, top: seq, seen: 1n });
      return;
    }
    if (incarnation < w.incarnation) return;
    if (seq > w.top) {
      const shift = seq - w.top;
      w.seen = shift >= REPLAY_WINDOW ? 1n : ((w.seen << BigInt(shift)) | 1n) & WINDOW_MASK;
      w.top = seq;
      return;
    }
    const age = w.top - seq;
    if (age < REPLAY_WINDOW) w.seen |= 1n << BigInt(age);
  }

  /** Drops a sender's state: when it leaves the cluster, so the map stays bounded by the membership. */
  forget(sender: number): void {
    this.senders.delete(sender);
  }
}

/**
 * Signed messages (joins, elections) come from senders we may hold no window
 * for yet, so they also carry their signing time: one older or newer than
 * maxSkewMs is refused, which bounds how long a recorded one stays usable.
 */
export function isFreshTimestamp(signedAt: number, wallNow: number, maxSkewMs = 30_000): boolean {
  if (!Number.isFinite(signedAt) || !Number.isFinite(wallNow)) return false;
  return Math.abs(wallNow - signedAt) <= maxSkewMs;
}
