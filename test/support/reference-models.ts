/**
 * Slow, obviously-correct models of the cluster's small decision functions,
 * for differential tests of src/cluster/work-table.ts, keepalive.ts and
 * balancer.ts. Nothing here shares code with the modules under test: loads are
 * counted from a plain entry list, the keepalive rule is decided in exact
 * rational arithmetic (BigInt), and the rebalance minimum is derived from the
 * stop rule itself (plus an exhaustive search for small inputs).
 */
import { UnitState, type TableEntry } from '../../src/cluster/messages.js';
import type { MemberId } from '../../src/cluster/types.js';

// ---------------------------------------------------------------------------
// Work table

/** Units per listed member: every entry that is not Unassigned counts for its owner. */
export function referenceLoads(entries: readonly TableEntry[], members: Iterable<MemberId>): Map<MemberId, number> {
  const out = new Map<MemberId, number>();
  for (const m of members) {
    let n = 0;
    for (const e of entries) if (e.state !== UnitState.Unassigned && e.owner === m) n++;
    out.set(m, n);
  }
  return out;
}

/** The member with the smallest load, the lowest id among equals; null for no members. */
export function referenceLeastLoaded(loads: ReadonlyMap<MemberId, number>): MemberId | null {
  const sorted = [...loads].sort(([ma, la], [mb, lb]) => la - lb || ma - mb);
  return sorted[0]?.[0] ?? null;
}

// ---------------------------------------------------------------------------
// Keepalive rule

/** A finite, non-negative double as an exact fraction num / 2^shift. */
export function dyadic(p: number): { num: bigint; shift: number } {
  if (!Number.isFinite(p) || p < 0) throw new RangeError(`not a finite non-negative double: ${p}`);
  const v = new DataView(new ArrayBuffer(8));
  v.setFloat64(0, p);
  const biased = (v.getUint32(0) >>> 20) & 0x7ff;
  const mantissa = (BigInt(v.getUint32(0) & 0xfffff) << 32n) | BigInt(v.getUint32(4));
  // Normal: (2^52 + m) · 2^(e−1075); subnormal: m · 2^−1074.
  const num = biased === 0 ? mantissa : mantissa | (1n << 52n);
  const exp = biased === 0 ? -1074 : biased - 1075;
  return exp >= 0 ? { num: num << BigInt(exp), shift: 0 } : { num, shift: -exp };
}

/** n · p^n < 1/3600, decided exactly: 3600 · n · num^n < 2^(shift · n). */
export function exactlyBelowBudget(p: number, n: number): boolean {
  const { num, shift } = dyadic(p);
  return 3600n * BigInt(n) * num ** BigInt(n) < 1n << BigInt(shift * n);
}

/** The patent's rule read literally: the first n in 2..20 that meets it, else 20 with an alarm. */
export function referenceChooseN(p: number): { n: number; satisfied: boolean } {
  for (let n = 2; n <= 20; n++) if (exactlyBelowBudget(p, n)) return { n, satisfied: true };
  return { n: 20, satisfied: false };
}

// ---------------------------------------------------------------------------
// Rebalance

/** One member as the balancer sees it: its load, of which `movable` units it may give away. */
export interface MemberLoad {
  load: number;
  movable: number;
}

/**
 * The state the 2 s rebalance stops in: no member that still holds a movable
 * unit is two or more above the least loaded member.
 */
export function isStopState(members: readonly MemberLoad[]): boolean {
  if (members.length === 0) return true;
  const min = Math.min(...members.map((m) => m.load));
  return members.every((m) => m.movable === 0 || m.load - min <= 1);
}

/** Whether an even split (every load floor(T/M) or ceil(T/M)) can be reached without moving a fixed unit. */
export function canBalance(members: readonly MemberLoad[]): boolean {
  const total = members.reduce((s, m) => s + m.load, 0);
  const floor = Math.floor(total / members.length);
  const extra = total % members.length;
  const ceil = floor + (extra > 0 ? 1 : 0);
  const fixed = members.map((m) => m.load - m.movable);
  // Members whose fixed units alone exceed floor must keep one of the `extra` ceil slots.
  return fixed.every((f) => f <= ceil) && fixed.filter((f) => f > floor).length <= extra;
}

/**
 * Fewest moves to an even split: `extra` = T mod M members may keep floor+1
 * units, the rest floor. Handing the floor+1 targets to the most loaded members
 * minimises Σ max(0, load − target) (giving one to a member at or below floor
 * saves nothing, giving one to a member above floor saves one move). Only
 * meaningful when canBalance() holds: then the forced members (fixed units at
 * floor+1) are among those above floor, so the fixed units do not change it.
 */
export function evenSplitMoves(members: readonly MemberLoad[]): number {
  const total = members.reduce((s, m) => s + m.load, 0);
  const floor = Math.floor(total / members.length);
  const extra = total % members.length;
  const byLoad = members.map((m) => m.load).sort((a, b) => b - a);
  return byLoad.reduce((sum, load, i) => sum + Math.max(0, load - (floor + (i < extra ? 1 : 0))), 0);
}

/**
 * Fewest moves from `members` to any stop state, when units are only taken from
 * the movable ones and no member both gives and receives.
 *
 * Fix the least final load μ. Then each member's final load F must lie in:
 *   - a member with movable units whose fixed units exceed μ+1: exactly its
 *     fixed load (it must give every movable unit away to stop counting);
 *   - another member with movable units: [max(μ, fixed), μ+1] (it keeps some, so
 *     it must end within one of the least);
 *   - a member with none: [max(μ, load), ∞) (it can only receive).
 * Moves = Σ max(0, load − F) = ½ Σ |F − load|, minimised by clamping each load
 * into its interval and then moving the remaining surplus or shortfall, one
 * move per unit, through members that still have room. Minimise over μ.
 */
export function minimalStopMoves(members: readonly MemberLoad[]): number {
  if (members.length < 2) return 0;
  const total = members.reduce((s, m) => s + m.load, 0);
  const maxLoad = Math.max(...members.map((m) => m.load));
  let best = Infinity;
  for (let mu = 0; mu <= maxLoad; mu++) {
    let lo = 0;
    let hi = 0;
    let clamped = 0;
    let change = 0;
    for (const m of members) {
      const fixed = m.load - m.movable;
      let a: number;
      let b: number;
      if (m.movable === 0) [a, b] = [Math.max(mu, m.load), Infinity];
      else if (fixed > mu + 1) [a, b] = [fixed, fixed];
      else [a, b] = [Math.max(mu, fixed), mu + 1];
      lo += a;
      hi += b;
      const f = Math.min(b, Math.max(a, m.load));
      clamped += f;
      change += Math.abs(f - m.load);
    }
    if (lo > total || hi < total) continue;
    best = Math.min(best, (change + Math.abs(total - clamped)) / 2);
  }
  return best;
}

/**
 * Exhaustive breadth-first search for the fewest single-unit moves to a stop
 * state, allowing any move of a not-yet-moved unit from any member to any
 * other (a member may both give and receive). Exponential: keep inputs tiny.
 */
export function bruteForceStopMoves(members: readonly MemberLoad[]): number {
  const key = (s: readonly MemberLoad[]): string => s.map((m) => `${m.load}/${m.movable}`).join(',');
  let frontier: MemberLoad[][] = [members.map((m) => ({ ...m }))];
  const seen = new Set([key(members)]);
  for (let depth = 0; frontier.length > 0; depth++) {
    const next: MemberLoad[][] = [];
    for (const s of frontier) {
      if (isStopState(s)) return depth;
      s.forEach((from, i) => {
        if (from.movable === 0) return;
        s.forEach((to, j) => {
          if (i === j) return;
          const t = s.map((m) => ({ ...m }));
          t[i] = { load: from.load - 1, movable: from.movable - 1 };
          t[j] = { load: to.load + 1, movable: to.movable };
          const k = key(t);
          if (seen.has(k)) return;
          seen.add(k);
          next.push(t);
        });
      });
    }
    frontier = next;
  }
  throw new Error('no stop state reachable');
}
