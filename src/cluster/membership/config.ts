import type { MemberCredentials, TrustConfig } from '../auth/trust.js';
import type { MemberId, UnitId } from '../types.js';

/** Timing of the membership protocol; defaults follow the patent where it gives numbers. */
export interface MembershipTiming {
  /** Watchdog window W (patent: 200 ms). Members send n keepalives per W. */
  watchdogMs: number;
  /** How long a joiner waits for any master before offering to become one (plus up to 50% jitter). */
  joinTimeoutMs: number;
  /** How long an offer goes unanswered before the offerer becomes master (patent: 100 ms). */
  offerTimeoutMs: number;
  /** Rebalance period (patent: 2 s). */
  rebalanceMs: number;
  /** Applications must answer approveJoin within this. */
  approvalTimeoutMs: number;
  /** Signed master beacon, so masters that hold different cluster keys still meet and tie-break. */
  announceMs: number;
  /** After becoming master, how long to wait for the old members to rejoin and report their units. */
  adoptGraceMs: number;
  /** Wait after a transient refusal (busy) before asking again. */
  retryMs: number;
  /**
   * How long an old owner keeps serving a unit after its WORK_DEASSIGN: the
   * same broadcast tells every other member to start holding the unit's
   * packets, and this grace lets that happen before the owner stops, so the
   * new owner's hold buffer covers every packet the old owner did not serve.
   */
  releaseGraceMs: number;
  /**
   * How often the master checks every member's certificate again (and a
   * member its master's): one that expired or that a re-read CRL revokes is
   * removed. The daemon's CRL files are re-read at most once a second.
   */
  certCheckMs: number;
}

export const DEFAULT_TIMING: MembershipTiming = {
  watchdogMs: 200,
  joinTimeoutMs: 200,
  offerTimeoutMs: 100,
  rebalanceMs: 2000,
  approvalTimeoutMs: 1000,
  announceMs: 500,
  adoptGraceMs: 600,
  retryMs: 500,
  releaseGraceMs: 20,
  certCheckMs: 1000,
};

export interface MemberConfig {
  self: MemberId;
  clusterId: number;
  configVersion: number;
  /** Boot wall-clock time: a restarted member is a new incarnation. */
  incarnation: number;
  credentials: MemberCredentials;
  trust: TrustConfig;
  timing: MembershipTiming;
  /** Allowed clock skew for signed messages. */
  maxSkewMs: number;
  /**
   * The data plane's hand-over marker of a unit: a u32 digest of the last
   * packet of the unit this member served (0 = none or unknown). Asked when
   * this member lets go of a unit, and carried to the unit's new owner.
   */
  handoffMarker?: (unit: UnitId) => number;
}
