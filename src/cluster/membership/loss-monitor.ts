/**
 * The master's view of keepalive loss, per member incarnation, and the
 * cluster-wide n and alarm derived from it.
 *
 * Estimates outlive a member's removal: at high loss a member is wrongly
 * removed long before 128 keepalives have taught the master how lossy the link
 * is, and starting again from P = 0 after every rejoin would keep n at 2 and
 * the alarm silent exactly when both are needed. Only a new incarnation (a
 * restart) starts afresh.
 */
import { LossEstimator, chooseN } from '../keepalive.js';
import type { MemberId } from '../types.js';

/** The alarm clears only once P is this much below the level that raised it, so it does not flap. */
const ALARM_CLEAR_MARGIN = 1.1;
/** Forget links not heard from for this long (bounded memory). */
const FORGET_AFTER_MS = 60_000;

interface Link {
  incarnation: number;
  estimator: LossEstimator;
  lastSeen: number;
}

export interface LossVerdict {
  n: number;
  p: number;
  /** Set when the alarm changes state. */
  alarm?: { raised: boolean };
}

export class LossMonitor {
  private readonly links = new Map<MemberId, Link>();
  private raised = false;

  observe(now: number, member: MemberId, incarnation: number, keepaliveSeq: number): void {
    let link = this.links.get(member);
    if (!link || link.incarnation !== incarnation) {
      link = { incarnation, estimator: new LossEstimator(), lastSeen: now };
      this.links.set(member, link);
    }
    link.lastSeen = now;
    link.estimator.observe(keepaliveSeq);
  }

  estimate(member: MemberId): number {
    return this.links.get(member)?.estimator.estimate ?? 0;
  }

  /** n for the worst of `members`, and whether the alarm changed. */
  evaluate(now: number, members: Iterable<MemberId>): LossVerdict {
    for (const [id, link] of this.links) if (now - link.lastSeen > FORGET_AFTER_MS) this.links.delete(id);
    let p = 0;
    for (const m of members) p = Math.max(p, this.estimate(m));
    const choice = chooseN(p);
    const verdict: LossVerdict = { n: choice.n, p };
    if (!this.raised && !choice.satisfied) {
      this.raised = true;
      verdict.alarm = { raised: true };
    } else if (this.raised && chooseN(p * ALARM_CLEAR_MARGIN).satisfied) {
      this.raised = false;
      verdict.alarm = { raised: false };
    }
    return verdict;
  }
}
