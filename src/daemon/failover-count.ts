/**
 * Counts the failovers a member sees: units it gained without a hand-over
 * marker although another member had owned them, i.e. taken over from a
 * member that failed or left. A fresh assignment (nobody owned the unit)
 * and a rebalance (the live owner hands over with a non-zero marker, see
 * cluster/membership/handoff.ts) are not failovers. (A member without a data
 * plane reports no markers, so in a control-only cluster rebalances count too.)
 *
 *   every action ─► (after the batch) remember each unit's last non-zero owner
 *   units-gained, unit without marker, last owner ≠ 0 and ≠ self ─► +1
 *
 * The owners are remembered after each batch of actions (a microtask), so a
 * units-gained action is judged against the table as it was before the core
 * call that produced it, not after.
 */
import type { Action } from '../cluster/membership/actions.js';
import { UNIT_COUNT, type MemberId, type UnitId } from '../cluster/types.js';

export class FailoverCount {
  private readonly lastOwner = new Uint32Array(UNIT_COUNT);
  private refreshQueued = false;
  /** Units taken over from another member without a hand-over. */
  count = 0;

  constructor(
    private readonly self: MemberId,
    private readonly ownerOf: (unit: UnitId) => MemberId,
    private readonly defer: (fn: () => void) => void = queueMicrotask,
  ) {
    this.refresh();
  }

  onAction(a: Action): void {
    if (a.kind === 'units-gained') {
      for (const u of a.units) {
        const before = this.lastOwner[u] ?? 0;
        if (!a.markers.has(u) && before !== 0 && before !== this.self) this.count++;
      }
    }
    if (this.refreshQueued) return;
    this.refreshQueued = true;
    this.defer(() => {
      this.refreshQueued = false;
      this.refresh();
    });
  }

  private refresh(): void {
    for (let u = 0; u < UNIT_COUNT; u++) {
      const o = this.ownerOf(u);
      if (o !== 0) this.lastOwner[u] = o;
    }
  }
}
