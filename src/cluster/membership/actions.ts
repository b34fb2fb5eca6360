/**
 * What the membership core asks its driver to do. The core never performs I/O:
 * the daemon turns these into datagrams, gratuitous ARP and application calls;
 * the simulator turns them into simulated deliveries.
 */
import type { JoinCandidate } from '../../apps/application.js';
import type { ControlMessage, ExitReason, ForwardSide, NakReason } from '../messages.js';
import type { MemberId, UnitId } from '../types.js';

/** 'left': taken out by an administrator (`shoal cluster leave`) until told to join again (left.ts). */
export type RoleName = 'joining' | 'offering' | 'master' | 'member' | 'refused' | 'excluded' | 'left';

/** Why a member is out of the cluster until its config version changes (see excluded.ts). */
export interface Exclusion {
  /** The master that refused or ordered us out. */
  master: MemberId;
  /** Ours, when it happened. */
  configVersion: number;
  /** The master's, which is authoritative. */
  masterConfigVersion: number;
  /** One line for people: `config version X differs from the master's Y`. */
  reason: string;
}

export type Action =
  /** `to` is a hint: control traffic is multicast, targeted messages name their target inside. */
  | { kind: 'send'; to: MemberId | 'all'; bytes: Uint8Array; message: ControlMessage }
  | { kind: 'role'; role: RoleName; master: MemberId | null; term: number }
  /** This member became master (or re-asserted it after a tie-break): the data plane sends gratuitous ARP. */
  | { kind: 'announce-cluster-address' }
  /**
   * `markers`: for units handed over by another member, the marker it reported
   * when it let go (see handoff.ts); a unit absent has none (0), as a fresh
   * assignment never has.
   */
  | { kind: 'units-gained'; units: UnitId[]; markers: ReadonlyMap<UnitId, number> }
  | { kind: 'units-lost'; units: UnitId[] }
  /** Forwarding mode: a packet our master received for one of our units, to serve as if it came in on `side`. */
  | { kind: 'forwarded-packet'; unit: UnitId; side: ForwardSide; packet: Uint8Array }
  /** Replicated state from another member, authenticated and decrypted. */
  | { kind: 'state-sync'; from: MemberId; app: number; unit: UnitId; syncSeq: number; payload: Uint8Array }
  | { kind: 'state-ack'; from: MemberId; app: number; unit: UnitId; syncSeq: number }
  | { kind: 'members-changed'; added: MemberId[]; removed: MemberId[]; members: MemberId[] }
  /** Ask every application; answer with MemberCore.approvalResult(requestId, ...). */
  | { kind: 'approve-join'; requestId: number; candidate: JoinCandidate }
  /** A permanent refusal: the member stops trying until reconfigured. */
  | { kind: 'join-refused'; reason: NakReason; detail: string }
  /**
   * Our config version differs from the master's: we serve nothing and stay
   * out until our version changes (MemberCore.setConfigVersion, or a restart
   * with the new configuration) or a master with our version is heard.
   */
  | ({ kind: 'excluded' } & Exclusion)
  | { kind: 'exit'; reason: ExitReason }
  | { kind: 'alarm'; code: 'keepalive-loss'; raised: boolean; p: number }
  | { kind: 'log'; level: 'debug' | 'info' | 'warn'; event: string; fields: Record<string, string | number | boolean> };
