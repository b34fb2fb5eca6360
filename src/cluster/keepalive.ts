/**
 * Adaptive keepalives (the patent's loss rule).
 *
 * Per client keepalive received, the master smooths the loss it implies:
 *   P_new = P_old · 127/128 + S_Δ/128,  S_Δ = sequence gap − 1
 * and picks the smallest n in 2..20 with n · P^n < 1/3600. Members then send n
 * keepalives per watchdog window W, so a member is wrongly declared dead only
 * when n keepalives in a row are lost.
 *
 * Note: applied per *received* keepalive, P converges to lost-per-delivered,
 * p/(1−p) for a loss rate p, not to p itself; the rule is therefore a little
 * conservative (n is larger than a per-slot estimate would choose), and no
 * n ≤ 20 satisfies it once P > ~0.571 (about 36% real loss).
 */
export const MIN_N = 2;
export const MAX_N = 20;
export const FALSE_ALARM_BUDGET = 1 / 3600;

export interface AdaptiveChoice {
  n: number;
  /** False when no n ≤ 20 meets the rule: n is then 20 and an alarm is due. */
  satisfied: boolean;
}

export function chooseN(p: number): AdaptiveChoice {
  for (let n = MIN_N; n <= MAX_N; n++) {
    if (n * Math.pow(p, n) < FALSE_ALARM_BUDGET) return { n, satisfied: true };
  }
  return { n: MAX_N, satisfied: false };
}

/** One member's loss estimate, kept by the master. */
export class LossEstimator {
  private p = 0;
  private lastSeq: number | null = null;

  get estimate(): number {
    return this.p;
  }

  /** Feed the sequence number of a received keepalive; reordered or duplicate ones change nothing. */
  observe(seq: number): void {
    if (this.lastSeq === null) {
      this.lastSeq = seq;
      return;
    }
    const gap = (seq - this.lastSeq) >>> 0;
    if (gap === 0 || gap > 0x7fffffff) return; // duplicate or older
    this.lastSeq = seq;
    this.p = (this.p * 127) / 128 + (gap - 1) / 128;
  }
}

/**
 * How long after the last keepalive a peer is declared dead: the window W plus
 * half a keepalive interval, so that the n-th keepalive of a window, delayed a
 * little in the network, still counts. A peer is then declared dead only when
 * n keepalives in a row are lost.
 */
export function watchdogTimeout(windowMs: number, n: number): number {
  return windowMs + windowMs / (2 * n);
}
