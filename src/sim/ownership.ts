/**
 * Tracks, incrementally, how many live members serve each unit, so the
 * simulator can check after every event that no unit is served twice and
 * measure how long any double service lasted.
 */
import { UNIT_COUNT, type MemberId, type UnitId } from '../cluster/types.js';

export class OwnershipTracker {
  private readonly servers: Set<MemberId>[] = Array.from({ length: UNIT_COUNT }, () => new Set<MemberId>());
  private doubles = 0;
  private doubleSince: number | null = null;
  /** Total simulated ms during which at least one unit had two servers. */
  doubleMs = 0;
  /** Longest single stretch of double service. */
  longestDoubleMs = 0;

  gained(now: number, member: MemberId, units: readonly UnitId[]): void {
    for (const u of units) {
      const s = this.servers[u];
      if (!s || s.has(member)) continue;
      s.add(member);
      if (s.size === 2) this.doubles++;
    }
    this.settle(now);
  }

  lost(now: number, member: MemberId, units: readonly UnitId[]): void {
    for (const u of units) {
      const s = this.servers[u];
      if (!s || !s.delete(member)) continue;
      if (s.size === 1) this.doubles--;
    }
    this.settle(now);
  }

  private settle(now: number): void {
    if (this.doubles > 0 && this.doubleSince === null) this.doubleSince = now;
    if (this.doubles === 0 && this.doubleSince !== null) {
      const d = now - this.doubleSince;
      this.doubleMs += d;
      this.longestDoubleMs = Math.max(this.longestDoubleMs, d);
      this.doubleSince = null;
    }
  }

  doubleServed(): number {
    return this.doubles;
  }

  serversOf(unit: UnitId): MemberId[] {
    return [...(this.servers[unit] ?? [])];
  }

  unserved(): UnitId[] {
    const out: UnitId[] = [];
    this.servers.forEach((s, u) => {
      if (s.size === 0) out.push(u);
    });
    return out;
  }
}
