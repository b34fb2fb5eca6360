/**
 * How many JOIN_NAKs the master signs and sends. A JOIN_REQUEST that fails
 * its certificate check is answered with a NAK naming the problem, and an
 * answer costs a signature and a datagram to whatever address the request
 * named: without a limit a forger turns the master into a signing and
 * sending machine aimed at any address. Token buckets, per target and in
 * total; a refused NAK is counted by the caller, never queued.
 *
 * A real joiner asks at most every 100 ms (its resend while waiting), so the
 * per-target rate still answers every honest request; the total bounds what
 * a flood of forged senders costs: 500 signatures a second at most (a few
 * per cent of a core), enough for 64 joiners each asking ten times a second.
 */
export interface NakLimits {
  perTargetBurst: number;
  /** One more NAK per target every this many ms. */
  perTargetEveryMs: number;
  totalBurst: number;
  totalEveryMs: number;
  /** Targets remembered at most (oldest forgotten first), so forged senders cannot grow the table. */
  maxTargets: number;
}

export const DEFAULT_NAK_LIMITS: NakLimits = { perTargetBurst: 4, perTargetEveryMs: 100, totalBurst: 200, totalEveryMs: 2, maxTargets: 256 };

interface Bucket {
  tokens: number;
  at: number;
}

function refill(b: Bucket, now: number, burst: number, everyMs: number): void {
  b.tokens = Math.min(burst, b.tokens + Math.max(0, now - b.at) / everyMs);
  b.at = now;
}

export class NakLimiter {
  private readonly targets = new Map<number, Bucket>();
  private readonly total: Bucket;

  constructor(private readonly limits: NakLimits = DEFAULT_NAK_LIMITS) {
    this.total = { tokens: limits.totalBurst, at: -Infinity };
  }

  /** Whether a NAK to `target` may go now; takes a token from both buckets when it may. */
  allow(now: number, target: number): boolean {
    const l = this.limits;
    let b = this.targets.get(target);
    if (b === undefined) {
      b = { tokens: l.perTargetBurst, at: now };
      if (this.targets.size >= l.maxTargets) {
        const oldest = this.targets.keys().next();
        if (oldest.done !== true) this.targets.delete(oldest.value);
      }
    } else {
      this.targets.delete(target); // re-inserted below: Map order doubles as least-recently-used order
      refill(b, now, l.perTargetBurst, l.perTargetEveryMs);
    }
    this.targets.set(target, b);
    refill(this.total, now, l.totalBurst, l.totalEveryMs);
    if (b.tokens < 1 || this.total.tokens < 1) return false;
    b.tokens -= 1;
    this.total.tokens -= 1;
    return true;
  }
}
