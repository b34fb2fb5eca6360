/**
 * The master's side of unit ownership: every change goes
 *
 *   unassigned ──assign(epoch+1)──► assigning ──ack──► owned
 *   owned ──rebalance: deassign──► deassigning ──ack(marker)──► assigning (new owner, marker) ──ack──► owned
 *
 * so that a unit is never served by two members at once while the cluster is
 * whole. The old owner serves on for the release grace before it acks, and
 * the marker it acks with goes to the new owner (handoff.ts); when the master
 * is the old owner it keeps the same grace and asks its own data plane. A
 * batch of changes to one member shares one new epoch and travels in one
 * WORK_ASSIGN / WORK_DEASSIGN broadcast, which also updates every member's
 * view of the table. Unacknowledged messages are resent every keepalive.
 */
import { planRebalance } from '../balancer.js';
import { AckKind, MessageType, UnitState, type AckKind as AckKindT } from '../messages.js';
import { isSaneEpoch, type Epoch, type MemberId, type UnitEpoch, type UnitId } from '../types.js';
import { leastLoaded } from '../work-table.js';
import type { MembershipContext } from './context.js';
import { NO_MARKERS, markerList, markersByUnit, type HandoffMarkers } from './handoff.js';

interface Pending {
  phase: 'deassign' | 'assign';
  from: MemberId;
  to: MemberId;
  epoch: Epoch;
  sentAt: number;
  /** The old owner's hand-over marker, once it has let go (0 before, and for fresh assignments). */
  marker: number;
  /** A de-assign of the master's own unit: when its grace ends and the master lets go. */
  releaseAt?: number;
}

/** Units on their way to each new owner, with their markers. */
type Handovers = Map<MemberId, Map<UnitId, number>>;

function handTo(h: Handovers, to: MemberId, unit: UnitId, marker: number): void {
  const units = h.get(to) ?? new Map<UnitId, number>();
  units.set(unit, marker);
  h.set(to, units);
}

export class UnitAssigner {
  private readonly pending = new Map<UnitId, Pending>();
  private nextEpoch = 1;

  constructor(
    private readonly ctx: MembershipContext,
    /** Members that may receive units now. */
    private readonly assignable: () => MemberId[],
    /**
     * Those of them that new units go to first: members whose keepalives are
     * on time. When several members die at once, a unit handed to one that is
     * dead but not yet detected would wait for its watchdog a second time.
     */
    private readonly onTime: (now: number) => MemberId[] = () => this.assignable(),
  ) {}

  get self(): MemberId {
    return this.ctx.cfg.self;
  }

  get maxEpoch(): Epoch {
    return this.nextEpoch - 1;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /** Epochs must keep rising across masters: start above everything this member has seen. */
  startAbove(epoch: Epoch): void {
    // Callers pass checked epochs; this keeps a slip from ever reaching the encoder.
    if (isSaneEpoch(epoch)) this.nextEpoch = Math.max(this.nextEpoch, epoch + 1);
  }

  /**
   * A fresh epoch, above every epoch this member has seen in any way (its own
   * view, adopted reports, keepalives): members ignore orders older than what
   * their view holds, so an epoch that went back would never be served.
   */
  private takeEpoch(): Epoch | null {
    this.nextEpoch = Math.max(this.nextEpoch, this.ctx.maxEpochSeen + 1);
    // Never wrap: a wrapped epoch would be older than every served one. Unreachable
    // from inputs (they stop at MAX_EPOCH), so only 2^31 batches could get here.
    if (this.nextEpoch > 0xffff_ffff) {
      this.ctx.count('master.epochs-exhausted');
      return null;
    }
    const e = this.nextEpoch++;
    this.ctx.noteEpoch(e);
    return e;
  }

  /**
   * Give every unassigned unit to the least-loaded member. `markers` are those
   * of units freed mid-move (their new owner left): the other members still
   * hold their packets, so whoever gets them replays from the same marker.
   */
  assignUnassigned(now: number, markers: HandoffMarkers = NO_MARKERS): void {
    const units = this.ctx.view.unassigned().filter((u) => !this.pending.has(u));
    if (units.length === 0) return;
    const preferred = this.onTime(now);
    const candidates = preferred.length > 0 ? preferred : this.assignable();
    if (candidates.length === 0) return;
    const loads = this.ctx.view.loads(candidates);
    const byTarget = new Map<MemberId, UnitId[]>();
    for (const u of units) {
      const to = leastLoaded(loads);
      if (to === null) return;
      loads.set(to, (loads.get(to) ?? 0) + 1);
      byTarget.set(to, [...(byTarget.get(to) ?? []), u]);
    }
    for (const [to, list] of byTarget) this.assignTo(now, to, list, markers);
  }

  private assignTo(now: number, to: MemberId, units: readonly UnitId[], markers: HandoffMarkers = NO_MARKERS): void {
    const epoch = this.takeEpoch();
    if (epoch === null) return;
    const entries = units.map((unit) => ({ unit, epoch }));
    if (to === this.self) {
      for (const u of units) {
        this.pending.delete(u);
        this.ctx.view.set(u, to, epoch, UnitState.Owned);
      }
      this.ctx.gain(entries, markers);
    } else {
      for (const u of units) {
        this.ctx.view.set(u, to, epoch, UnitState.Assigning);
        this.pending.set(u, { phase: 'assign', from: 0, to, epoch, sentAt: now, marker: markers.get(u) ?? 0 });
      }
    }
    // Broadcast even for our own units: it is how every member's view learns the new owner.
    this.ctx.send(now, { type: MessageType.WorkAssign, owner: to, entries, markers: markerList(entries, markers) });
  }

  onAck(now: number, from: MemberId, kind: AckKindT, entries: readonly UnitEpoch[], markers: readonly number[]): void {
    const reported = markersByUnit(entries, markers);
    const handovers: Handovers = new Map();
    for (const { unit, epoch } of entries) {
      const p = this.pending.get(unit);
      if (!p || p.epoch !== epoch) continue;
      if (kind === AckKind.Assign && p.phase === 'assign' && p.to === from) {
        this.pending.delete(unit);
        this.ctx.view.set(unit, from, epoch, UnitState.Owned);
      } else if (kind === AckKind.Deassign && p.phase === 'deassign' && p.from === from) {
        this.pending.delete(unit);
        handTo(handovers, p.to, unit, reported.get(unit) ?? 0);
      }
    }
    this.moveOn(now, handovers);
  }

  /** Second half of moves whose old owner has let go: assign each unit to its new owner, with its marker. */
  private moveOn(now: number, handovers: Handovers): void {
    const live = new Set(this.assignable());
    const orphaned = new Map<UnitId, number>();
    for (const [to, units] of handovers) {
      if (live.has(to)) {
        this.assignTo(now, to, [...units.keys()], units);
        continue;
      }
      for (const [u, marker] of units) {
        this.ctx.view.clear(u);
        orphaned.set(u, marker);
      }
    }
    this.assignUnassigned(now, orphaned);
  }

  /** The master's own de-assigned units whose grace is over: let go of them, and hand them on with their markers. */
  releaseOwn(now: number): void {
    const handovers: Handovers = new Map();
    const lost: UnitId[] = [];
    for (const [unit, p] of this.pending) {
      if (p.phase !== 'deassign' || p.from !== this.self || (p.releaseAt ?? Infinity) > now) continue;
      this.pending.delete(unit);
      handTo(handovers, p.to, unit, this.ctx.handoffMarker(unit));
      lost.push(unit);
    }
    if (lost.length === 0) return;
    this.ctx.lose(lost);
    this.moveOn(now, handovers);
  }

  /** When releaseOwn has work next. */
  nextReleaseAt(): number {
    let t = Infinity;
    for (const p of this.pending.values()) if (p.releaseAt !== undefined) t = Math.min(t, p.releaseAt);
    return t;
  }

  /**
   * Members left: everything they owned or were about to own goes to the
   * others, in one placement (members that die together are removed together,
   * so no unit is placed on one of them on the way).
   */
  membersRemoved(now: number, ids: readonly MemberId[]): void {
    for (const id of ids) this.release(id);
    this.assignUnassigned(now);
  }

  private release(id: MemberId): void {
    for (const [unit, p] of [...this.pending]) {
      if (p.to === id && p.phase === 'assign') {
        this.pending.delete(unit);
        this.ctx.view.clear(unit);
      } else if (p.from === id && p.phase === 'deassign') {
        // It can no longer acknowledge the de-assign: the unit is free and goes to the least loaded.
        this.pending.delete(unit);
        this.ctx.view.clear(unit);
      }
    }
    for (const u of this.ctx.view.unitsOf(id)) if (!this.pending.has(u)) this.ctx.view.clear(u);
  }

  /** Units a (re)joining member may keep: those nobody else holds. Returns them with their epochs. */
  adopt(joiner: MemberId, reported: readonly UnitEpoch[], holders: ReadonlySet<MemberId>): UnitEpoch[] {
    const keep: UnitEpoch[] = [];
    for (const { unit, epoch } of reported) {
      const e = this.ctx.view.get(unit);
      const free = e.state === UnitState.Unassigned || e.owner === joiner || !holders.has(e.owner);
      if (!free || this.pending.has(unit)) continue;
      const kept = Math.max(epoch, e.epoch);
      this.startAbove(kept);
      this.ctx.view.set(unit, joiner, kept, UnitState.Owned);
      keep.push({ unit, epoch: kept });
    }
    // Whatever the table gave this member that it no longer reports is free again.
    const kept = new Set(keep.map((k) => k.unit));
    for (const u of this.ctx.view.unitsOf(joiner)) {
      if (kept.has(u)) continue;
      this.pending.delete(u);
      this.ctx.view.clear(u);
    }
    return keep;
  }

  /** The 2 s rebalance: plan moves, then start each with a de-assign. */
  rebalance(now: number): number {
    const members = this.assignable();
    const owned = new Map<MemberId, UnitId[]>(members.map((m) => [m, []]));
    const inbound = new Map<MemberId, number>();
    for (const m of members) {
      for (const u of this.ctx.view.unitsOf(m)) {
        const p = this.pending.get(u);
        if (!p) owned.get(m)?.push(u);
        else if (p.phase === 'assign') inbound.set(m, (inbound.get(m) ?? 0) + 1);
      }
    }
    for (const p of this.pending.values()) if (p.phase === 'deassign') inbound.set(p.to, (inbound.get(p.to) ?? 0) + 1);
    const moves = planRebalance(owned, inbound);
    const byFrom = new Map<MemberId, { unit: UnitId; to: MemberId }[]>();
    for (const m of moves) byFrom.set(m.from, [...(byFrom.get(m.from) ?? []), { unit: m.unit, to: m.to }]);
    // Our own units too get a broadcast de-assign and the grace: it is what makes the others hold their packets.
    const releaseAt = now + this.ctx.cfg.timing.releaseGraceMs;
    for (const [from, list] of byFrom) {
      const entries = list.map((x) => ({ unit: x.unit, epoch: this.ctx.view.epochOf(x.unit) }));
      for (const x of list) {
        const epoch = this.ctx.view.epochOf(x.unit);
        this.ctx.view.set(x.unit, from, epoch, UnitState.Deassigning);
        const pending: Pending = { phase: 'deassign', from, to: x.to, epoch, sentAt: now, marker: 0 };
        if (from === this.self) pending.releaseAt = releaseAt;
        this.pending.set(x.unit, pending);
      }
      this.ctx.send(now, { type: MessageType.WorkDeassign, owner: from, entries });
    }
    if (moves.length > 0) this.ctx.count('master.units-moved', moves.length);
    this.releaseOwn(now);
    return moves.length;
  }

  /** Resend what has not been acknowledged within `afterMs`. */
  resend(now: number, afterMs: number): void {
    const groups = new Map<string, { phase: 'assign' | 'deassign'; owner: MemberId; entries: UnitEpoch[]; markers: number[] }>();
    for (const [unit, p] of this.pending) {
      if (now - p.sentAt < afterMs) continue;
      p.sentAt = now;
      const owner = p.phase === 'assign' ? p.to : p.from;
      const key = `${p.phase}:${owner}`;
      const g = groups.get(key) ?? { phase: p.phase, owner, entries: [], markers: [] };
      g.entries.push({ unit, epoch: p.epoch });
      g.markers.push(p.marker);
      groups.set(key, g);
    }
    for (const g of groups.values()) {
      this.ctx.count('master.resent', g.entries.length);
      if (g.phase === 'assign') this.ctx.send(now, { type: MessageType.WorkAssign, owner: g.owner, entries: g.entries, markers: g.markers });
      else this.ctx.send(now, { type: MessageType.WorkDeassign, owner: g.owner, entries: g.entries });
    }
  }
}
