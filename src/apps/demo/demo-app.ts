/**
 * The demonstration application: it uses every hook of the application
 * interface and keeps a record of what it heard, so the simulator (and later
 * the daemon) can show that membership and unit changes reach applications.
 */
import type { MemberId, UnitId } from '../../cluster/types.js';
import type { Approval, ClusterApplication, JoinCandidate } from '../application.js';

export type DemoEvent =
  | { kind: 'approve'; candidate: MemberId; verdict: boolean }
  | { kind: 'members'; added: MemberId[]; removed: MemberId[] }
  | { kind: 'gained'; units: UnitId[] }
  | { kind: 'lost'; units: UnitId[] };

export interface DemoAppOptions {
  /** Veto joins of these members (by id) with this reason. */
  veto?: { members: MemberId[]; reason: string };
  /** Never answer approveJoin (exercises the core's approval timeout). */
  silent?: boolean;
  /** Keep at most this many events (bounded, like everything else). */
  maxEvents?: number;
  /** Told of every event as it happens (the daemon writes them to its log). */
  log?: (event: DemoEvent) => void;
}

export class DemoApp implements ClusterApplication {
  readonly name = 'demo';
  readonly events: DemoEvent[] = [];
  readonly units = new Set<UnitId>();
  members: MemberId[] = [];

  constructor(private readonly options: DemoAppOptions = {}) {}

  private note(e: DemoEvent): void {
    this.options.log?.(e);
    this.events.push(e);
    const max = this.options.maxEvents ?? 1000;
    if (this.events.length > max) this.events.splice(0, this.events.length - max);
  }

  approveJoin(candidate: JoinCandidate): Approval | Promise<Approval> {
    if (this.options.silent) return new Promise<Approval>(() => undefined);
    const veto = this.options.veto;
    const refused = veto !== undefined && veto.members.includes(candidate.memberId);
    this.note({ kind: 'approve', candidate: candidate.memberId, verdict: !refused });
    return refused ? { approve: false, reason: veto.reason } : { approve: true };
  }

  membersChanged(added: readonly MemberId[], removed: readonly MemberId[], members: readonly MemberId[]): void {
    this.members = [...members];
    this.note({ kind: 'members', added: [...added], removed: [...removed] });
  }

  unitsGained(units: readonly UnitId[]): void {
    for (const u of units) this.units.add(u);
    this.note({ kind: 'gained', units: [...units] });
  }

  unitsLost(units: readonly UnitId[]): void {
    for (const u of units) this.units.delete(u);
    this.note({ kind: 'lost', units: [...units] });
  }

  exportEssential(_unit: UnitId): Uint8Array[] {
    return []; // the demo keeps no per-session state
  }

  importEssential(_unit: UnitId, _records: readonly Uint8Array[]): void {
    // nothing to rebuild
  }
}
