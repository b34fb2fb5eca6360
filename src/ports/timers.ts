/** Real time for the daemon: the monotonic clock, the wall clock, and one-shot timers. */
import type { Clock } from '../lib/clock.js';

export interface Timers {
  /** Run `fn` after `delayMs`; returns a cancel function. */
  after(delayMs: number, fn: () => void): () => void;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  wallNow: () => Date.now(),
};

export const systemTimers: Timers = {
  after(delayMs, fn) {
    const t = setTimeout(fn, Math.max(0, delayMs));
    return () => clearTimeout(t);
  },
};
