/** Milliseconds. Monotonic unless a name says "wall". */
export type Millis = number;

/**
 * The only way cores learn the time: passed in as `now`, or through this
 * interface in adapters. Tests use ManualClock; the daemon uses systemClock.
 */
export interface Clock {
  /** Monotonic milliseconds. */
  now(): Millis;
  /** Wall-clock milliseconds since the Unix epoch (certificate validity, signed timestamps). */
  wallNow(): Millis;
}

export class ManualClock implements Clock {
  private t: Millis;
  private readonly wallOffset: Millis;
  constructor(start: Millis = 0, wallStart: Millis = Date.UTC(2026, 10, 28)) {
    this.t = start;
    this.wallOffset = wallStart - start;
  }
  now(): Millis {
    return this.t;
  }
  wallNow(): Millis {
    return this.t + this.wallOffset;
  }
  advanceTo(t: Millis): void {
    if (t < this.t) throw new RangeError(`clock cannot go back from ${this.t} to ${t}`);
    this.t = t;
  }
  advance(dt: Millis): void {
    this.advanceTo(this.t + dt);
  }
}
