/**
 * The 2-second rebalance (patent: move one unit from the most loaded member K
 * to the least loaded J while that leaves K−1 ≥ J+1). Pure planning: the
 * master turns each move into de-assign → assign → acknowledge.
 *
 * When an even split is reachable, the greedy loop moves units only from
 * members above the even share to members below it, so it moves no more units
 * than necessary. Units already in transit cannot move; a member held above
 * the share by them gives nothing, and the others still even out among
 * themselves (a giver then always starts at least 2 above its receiver).
 */
import type { MemberId, UnitId } from './types.js';

export interface Move {
  unit: UnitId;
  from: MemberId;
  to: MemberId;
}

/**
 * @param unitsByMember the units each live member owns and may give away (units
 *   in transit should be left out, and their member counted via `extraLoad`)
 * @param extraLoad units already on their way to a member (count towards its load)
 */
export function planRebalance(
  unitsByMember: ReadonlyMap<MemberId, readonly UnitId[]>,
  extraLoad: ReadonlyMap<MemberId, number> = new Map(),
): Move[] {
  const members = [...unitsByMember.keys()].sort((a, b) => a - b);
  if (members.length < 2) return [];
  const load = new Map<MemberId, number>();
  const movable = new Map<MemberId, UnitId[]>();
  for (const m of members) {
    const units = [...(unitsByMember.get(m) ?? [])].sort((a, b) => a - b);
    movable.set(m, units);
    load.set(m, units.length + (extraLoad.get(m) ?? 0));
  }
  const moves: Move[] = [];
  for (;;) {
    let k: MemberId | undefined;
    let j: MemberId | undefined;
    for (const m of members) {
      const l = load.get(m) ?? 0;
      if ((movable.get(m)?.length ?? 0) > 0 && (k === undefined || l > (load.get(k) ?? 0))) k = m;
      if (j === undefined || l < (load.get(j) ?? 0)) j = m;
    }
    if (k === undefined || j === undefined || k === j) break;
    const lk = load.get(k) ?? 0;
    const lj = load.get(j) ?? 0;
    if (lk - 1 < lj + 1) break;
    const unit = movable.get(k)?.pop();
    if (unit === undefined) break;
    moves.push({ unit, from: k, to: j });
    load.set(k, lk - 1);
    load.set(j, lj + 1);
  }
  return moves;
}
