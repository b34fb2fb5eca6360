/**
 * The one narrow interface between the clustering core and a tunnel handler
 * (IPsec, L2TP, PPTP, the demo app). Handlers are wired in the composition
 * root; the core never imports a handler.
 */
import type { MemberId, UnitId } from '../cluster/types.js';

export interface JoinCandidate {
  memberId: MemberId;
  /** Subject CN of the candidate's verified certificate. */
  subject: string;
  configVersion: number;
  /** Units the candidate says it serves now (a rejoin after a master change). */
  served: readonly UnitId[];
}

export type Approval = { approve: true } | { approve: false; reason: string };

export interface ClusterApplication {
  /** Short stable name, used in veto reasons and logs. */
  readonly name: string;
  /**
   * Asked on the master for every join. May veto with a reason the joiner
   * will report. Must answer within the core's approval timeout, or the join is
   * refused as busy and the joiner retries.
   */
  approveJoin(candidate: JoinCandidate): Approval | Promise<Approval>;
  /** The member list changed (on every member, from the master's keepalives). */
  membersChanged(added: readonly MemberId[], removed: readonly MemberId[], members: readonly MemberId[]): void;
  /** This member now serves these units: import their state before answering their packets. */
  unitsGained(units: readonly UnitId[]): void;
  /** This member no longer serves these units: stop answering their packets at once. */
  unitsLost(units: readonly UnitId[]): void;
  /** Essential state of one unit, for replication (later issues fill this in). */
  exportEssential(unit: UnitId): Uint8Array[];
  /** Rebuild a unit's sessions from replicated records (later issues fill this in). */
  importEssential(unit: UnitId, records: readonly Uint8Array[]): void;
}
