/**
 * State shared by the roles of one member: what it serves, its view of the
 * work table and the member list, and the outbox of actions. Roles change;
 * this survives them, which is what lets a member keep serving its units while
 * the cluster elects a new master.
 */
import type { RandomSource } from '../../lib/random.js';
import { MIN_N } from '../keepalive.js';
import type { ControlMessage } from '../messages.js';
import { isSaneEpoch, type Epoch, type MemberId, type UnitEpoch, type UnitId } from '../types.js';
import { WorkTable } from '../work-table.js';
import type { Action, Exclusion, RoleName } from './actions.js';
import type { ControlChannel, DropReason } from './channel.js';
import type { MemberConfig } from './config.js';
import { NO_MARKERS, type HandoffMarkers } from './handoff.js';

export class MembershipContext {
  readonly outbox: Action[] = [];
  /** Units this member answers for, with the epoch of its assignment. */
  readonly served = new Map<UnitId, Epoch>();
  /** This member's view of the cluster's work table (authoritative on the master). */
  readonly view = new WorkTable();
  members: MemberId[] = [];
  master: MemberId | null = null;
  /** The last master this member followed: after it dies, its units are the only orphans. */
  lastMaster: MemberId | null = null;
  term = 0;
  n = MIN_N;
  maxEpochSeen = 0;
  /** Units other joiners reported while this member was joining: a new master leaves them with their servers. */
  readonly heardJoins = new Map<MemberId, UnitEpoch[]>();
  /** Survives role changes so the master's loss estimate never sees the sequence go back. */
  keepaliveSeq = 0;
  role: RoleName = 'joining';
  readonly counters = new Map<string, number>();
  /**
   * Our config version: starts as the configured one and changes only through
   * MemberCore.setConfigVersion. The master compares every joiner's and every
   * member's against its own.
   */
  configVersion: number;
  /** Set while we are out of the cluster for our config version. */
  exclusion: Exclusion | null = null;

  constructor(
    readonly cfg: MemberConfig,
    readonly channel: ControlChannel,
    readonly rng: RandomSource,
    /** Monotonic `now` plus this is wall-clock time (certificate validity, signed timestamps). */
    readonly wallOffset: number,
  ) {
    this.configVersion = cfg.configVersion;
  }

  wall(now: number): number {
    return Math.floor(now + this.wallOffset);
  }

  count(name: string, by = 1): void {
    this.counters.set(name, (this.counters.get(name) ?? 0) + by);
  }

  drop(reason: DropReason): void {
    this.count(`drop.${reason}`);
  }

  send(now: number, message: ControlMessage, to: MemberId | 'all' = 'all'): void {
    const bytes = this.channel.seal(message, this.wall(now));
    this.count('sent');
    this.outbox.push({ kind: 'send', to, bytes, message });
  }

  log(level: 'debug' | 'info' | 'warn', event: string, fields: Record<string, string | number | boolean> = {}): void {
    this.outbox.push({ kind: 'log', level, event, fields });
  }

  /** An epoch beyond MAX_EPOCH is not noted (counted instead): the next epoch taken must stay a u32. */
  noteEpoch(epoch: Epoch): void {
    if (!isSaneEpoch(epoch)) {
      this.count('epoch.beyond-limit');
      return;
    }
    if (epoch > this.maxEpochSeen) this.maxEpochSeen = epoch;
  }

  servedList(): UnitEpoch[] {
    return [...this.served].map(([unit, epoch]) => ({ unit, epoch })).sort((a, b) => a.unit - b.unit);
  }

  /**
   * Start serving units (idempotent; a newer epoch replaces an older one).
   * `markers` are the hand-over markers the units came with; the data plane
   * gets those of the units it did not serve already.
   */
  gain(entries: readonly UnitEpoch[], markers: HandoffMarkers = NO_MARKERS): void {
    const gained: UnitId[] = [];
    const gainedMarkers = new Map<UnitId, number>();
    for (const { unit, epoch } of entries) {
      const had = this.served.get(unit);
      if (had === undefined) {
        gained.push(unit);
        const m = markers.get(unit) ?? 0;
        if (m !== 0) gainedMarkers.set(unit, m);
      }
      if (had === undefined || epoch > had) this.served.set(unit, epoch);
      this.noteEpoch(epoch);
    }
    if (gained.length > 0) this.outbox.push({ kind: 'units-gained', units: gained.sort((a, b) => a - b), markers: gainedMarkers });
  }

  /**
   * The data plane's hand-over marker for a unit this member is letting go of,
   * asked at that instant (the driver applies 'units-lost' only after this call
   * returns, so no packet of the unit is served in between). Anything but a u32
   * counts as no marker: the new owner then replays all it held.
   */
  handoffMarker(unit: UnitId): number {
    const m = this.cfg.handoffMarker?.(unit) ?? 0;
    if (Number.isInteger(m) && m >= 0 && m <= 0xffffffff) return m;
    this.count('handoff.bad-marker');
    return 0;
  }

  /** Stop serving units at once (idempotent). */
  lose(units: readonly UnitId[]): void {
    const lost = units.filter((u) => this.served.delete(u));
    if (lost.length > 0) this.outbox.push({ kind: 'units-lost', units: lost.sort((a, b) => a - b) });
  }

  setMembers(next: readonly MemberId[]): void {
    const sorted = [...new Set(next)].sort((a, b) => a - b);
    const before = new Set(this.members);
    const after = new Set(sorted);
    const added = sorted.filter((m) => !before.has(m));
    const removed = this.members.filter((m) => !after.has(m));
    this.members = sorted;
    // A removed member may come back under a lower incarnation (a reboot with the clock set back).
    for (const m of removed) this.channel.forgetSender(m);
    if (added.length > 0 || removed.length > 0) {
      this.outbox.push({ kind: 'members-changed', added, removed, members: sorted });
    }
  }

  setRole(role: RoleName, master: MemberId | null): void {
    this.role = role;
    this.master = master;
    if (master !== null) this.lastMaster = master;
    this.outbox.push({ kind: 'role', role, master, term: this.term });
  }
}
