/**
 * The last line at an I/O or timer entry point (a socket's 'message', a
 * timer, a TAP's readable callback, an admin connection): what the work
 * behind it throws is counted by entry point and logged, at most one line per
 * `logEveryMs` however often it happens, and never reaches the event loop,
 * where it would end the process.
 *
 *   entry point ─► guard.run('where', work) ─┬─ work returns ─► its value
 *                                             └─ work throws ─► counts['where']++, a log line (rate-limited), undefined
 *
 * Inputs that can be refused are refused as values (a typed drop and a
 * counter) where they are decoded; a guard catches what slipped through.
 */
import type { Clock } from './clock.js';

/** Where a guard's lines go (the daemon's Logger fits). */
export interface GuardLog {
  log(level: 'error', event: string, fields: Record<string, unknown>): void;
}

export const GUARD_LOG_EVERY_MS = 1000;

export class EntryGuard {
  /** Exceptions caught, by entry point. */
  readonly counts = new Map<string, number>();
  private nextLogAt = Number.NEGATIVE_INFINITY;
  private unlogged = 0;

  constructor(
    /** Names the component in the log event (`<component>.exception`) and in counters. */
    readonly component: string,
    private readonly logTo: GuardLog,
    private readonly clock: Pick<Clock, 'now'>,
    private readonly logEveryMs = GUARD_LOG_EVERY_MS,
  ) {}

  /** Runs `work`; an exception is counted and logged, and the result is undefined. */
  run<T>(where: string, work: () => T): T | undefined {
    try {
      return work();
    } catch (e) {
      this.caught(where, e);
      return undefined;
    }
  }

  /** Count and log an exception caught elsewhere (a rejected promise). */
  caught(where: string, e: unknown): void {
    this.counts.set(where, (this.counts.get(where) ?? 0) + 1);
    const now = this.clock.now();
    if (now < this.nextLogAt) {
      this.unlogged++;
      return;
    }
    this.nextLogAt = now + this.logEveryMs;
    const error = e instanceof Error ? (e.stack ?? e.message) : String(e);
    // A line that repeats the input which threw may be an attacker's: keep it short.
    this.logTo.log('error', `${this.component}.exception`, { where, error: error.slice(0, 2000), count: this.counts.get(where), unlogged: this.unlogged });
    this.unlogged = 0;
  }

  /** Counters as `exception.<where>` for status and metrics. */
  counters(): Record<string, number> {
    return Object.fromEntries([...this.counts].map(([where, n]) => [`exception.${where}`, n]));
  }
}
