/**
 * The cluster control protocol's messages as one typed union (numeric types on
 * the wire, see control-codec.ts). Which messages are signed with the sender's
 * certificate and which carry a MAC under the cluster key is fixed per type in
 * AUTH_OF_TYPE: messages that must cross a key change (joins, elections, the
 * tie-breaker, the key updates themselves) are signed; everything else between
 * members of one cluster is MACed.
 */
import type { Epoch, MemberId, UnitEpoch, UnitId } from './types.js';

export const MessageType = {
  JoinRequest: 1,
  JoinNak: 2,
  OkToJoin: 3,
  OfferMaster: 4,
  OtherMasterExists: 5,
  MasterAnnounce: 6,
  MasterKeepalive: 7,
  ClientKeepalive: 8,
  ExitCluster: 9,
  WorkAssign: 10,
  WorkDeassign: 11,
  WorkAck: 12,
  TableRequest: 13,
  TableSnapshot: 14,
  KeyUpdate: 15,
  StateSync: 16,
  StateAck: 17,
  ForwardedPacket: 18,
  ConfigVersionExit: 19,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

export type AuthKind = 'signed' | 'mac';

export const AUTH_OF_TYPE: Record<MessageType, AuthKind> = {
  [MessageType.JoinRequest]: 'signed',
  [MessageType.JoinNak]: 'signed',
  [MessageType.OkToJoin]: 'signed',
  [MessageType.OfferMaster]: 'signed',
  [MessageType.OtherMasterExists]: 'signed',
  [MessageType.MasterAnnounce]: 'signed',
  [MessageType.MasterKeepalive]: 'mac',
  [MessageType.ClientKeepalive]: 'mac',
  [MessageType.ExitCluster]: 'signed',
  [MessageType.WorkAssign]: 'mac',
  [MessageType.WorkDeassign]: 'mac',
  [MessageType.WorkAck]: 'mac',
  [MessageType.TableRequest]: 'mac',
  [MessageType.TableSnapshot]: 'mac',
  // Signed: the new key must come from the master's identity, not from whoever holds the old key (a removed member does).
  [MessageType.KeyUpdate]: 'signed',
  [MessageType.StateSync]: 'mac',
  [MessageType.StateAck]: 'mac',
  [MessageType.ForwardedPacket]: 'mac',
  // Signed: the member it orders out may already have lost the cluster key, and must know the master sent it.
  [MessageType.ConfigVersionExit]: 'signed',
};

/** Why a join was refused. `in-progress` and `busy` are transient (wait/retry); the rest stop the joiner. */
export const NakReason = {
  InProgress: 1,
  BadCertificate: 2,
  NotAllowed: 3,
  Vetoed: 4,
  ConfigVersion: 5,
  Busy: 6,
  /** The request itself is unacceptable (an epoch beyond MAX_EPOCH): asking again cannot help. */
  BadRequest: 7,
} as const;
export type NakReason = (typeof NakReason)[keyof typeof NakReason];

export function isPermanentNak(r: NakReason): boolean {
  return r !== NakReason.InProgress && r !== NakReason.Busy;
}

export const ExitReason = {
  NotMember: 1,
  LostTieBreak: 2,
  ConfigVersion: 3,
  /** Removed for good (its certificate expired or was revoked): release every unit before asking again. */
  Removed: 4,
} as const;
export type ExitReason = (typeof ExitReason)[keyof typeof ExitReason];

/** State of one work-table entry. */
export const UnitState = {
  Unassigned: 0,
  Assigning: 1,
  Owned: 2,
  Deassigning: 3,
} as const;
export type UnitState = (typeof UnitState)[keyof typeof UnitState];

/** Sent by every message: see control-codec.ts for the byte layout. */
export interface Header {
  type: MessageType;
  clusterId: number;
  sender: MemberId;
  /** Sender's boot time (wall ms): a restarted member is a new incarnation, and older ones are stale. */
  incarnation: number;
  /** Per-sender, per-incarnation message counter for replay protection. */
  seq: number;
  /** For MAC messages: the cluster-key epoch used; for signed ones: the sender's current key epoch (0 if none). */
  epoch: number;
}

export interface JoinRequest {
  type: typeof MessageType.JoinRequest;
  configVersion: number;
  /** Fresh per attempt; the answer echoes it. */
  nonce: Uint8Array;
  /** Units this member serves now (empty at first start), so a new master can adopt them. */
  served: UnitEpoch[];
  /** The highest assignment epoch the member has seen, so a new master never reuses one. */
  maxEpoch: Epoch;
}

export interface JoinNak {
  type: typeof MessageType.JoinNak;
  target: MemberId;
  nonce: Uint8Array;
  reason: NakReason;
  detail: string;
  /** The refusing master's config version (a joiner refused for its config version reports both). */
  configVersion: number;
}

export interface OkToJoin {
  type: typeof MessageType.OkToJoin;
  target: MemberId;
  nonce: Uint8Array;
  term: number;
  keyEpoch: number;
  /** The cluster key, encrypted to the joiner's certificate key. */
  wrappedKey: Uint8Array;
  members: MemberId[];
  /** Which of the reported `served` units the joiner keeps; it drops the rest at once. */
  keep: UnitEpoch[];
  n: number;
}

export interface OfferMaster {
  type: typeof MessageType.OfferMaster;
  term: number;
}

export interface OtherMasterExists {
  type: typeof MessageType.OtherMasterExists;
  target: MemberId;
  memberCount: number;
  term: number;
}

/** Signed beacon a master sends so that masters holding different cluster keys still find each other. */
export interface MasterAnnounce {
  type: typeof MessageType.MasterAnnounce;
  memberCount: number;
  term: number;
  /** The master's config version: a member excluded for its version asks again only once this equals its own. */
  configVersion: number;
}

export interface MasterKeepalive {
  type: typeof MessageType.MasterKeepalive;
  term: number;
  n: number;
  members: MemberId[];
  /** Digest of the master's work table, so members detect a stale view cheaply. */
  tableDigest: Uint8Array;
  maxEpoch: Epoch;
}

export interface ClientKeepalive {
  type: typeof MessageType.ClientKeepalive;
  /** Monotonic per incarnation: gaps measure loss. */
  keepaliveSeq: number;
  tableDigest: Uint8Array;
  /** The member's config version now, so the master sees a member whose version changed after it joined. */
  configVersion: number;
}

export interface ExitCluster {
  type: typeof MessageType.ExitCluster;
  /** 0 = every member of the sender's cluster. */
  target: MemberId;
  reason: ExitReason;
}

/**
 * The master's order to a member whose config version differs from its own:
 * leave the cluster, release every unit, and stay out until the versions match
 * (the master's version is authoritative). Carries both versions so the member
 * reports exactly why.
 */
export interface ConfigVersionExit {
  type: typeof MessageType.ConfigVersionExit;
  target: MemberId;
  /** The master's config version. */
  configVersion: number;
  /** The member's config version as the master last heard it. */
  memberConfigVersion: number;
}

export interface WorkAssign {
  type: typeof MessageType.WorkAssign;
  owner: MemberId;
  entries: UnitEpoch[];
  /**
   * Parallel to `entries` (same length): the hand-over marker of each unit, a
   * u32 the old owner's data plane reported when it let go (0 = none: a fresh
   * assignment, or an old owner that could not say). The new owner's data plane
   * replays only the packets it held after the one the marker names.
   */
  markers: number[];
}

export interface WorkDeassign {
  type: typeof MessageType.WorkDeassign;
  owner: MemberId;
  entries: UnitEpoch[];
}

export const AckKind = { Assign: 1, Deassign: 2 } as const;
export type AckKind = (typeof AckKind)[keyof typeof AckKind];

export interface WorkAck {
  type: typeof MessageType.WorkAck;
  kind: AckKind;
  entries: UnitEpoch[];
  /** Parallel to `entries`: on a Deassign ack, the marker of the last packet this member served per unit; else 0. */
  markers: number[];
}

export interface TableRequest {
  type: typeof MessageType.TableRequest;
}

export interface TableEntry {
  owner: MemberId; // 0 when unassigned
  epoch: Epoch;
  state: UnitState;
}

export interface TableSnapshot {
  type: typeof MessageType.TableSnapshot;
  target: MemberId;
  /** Exactly UNIT_COUNT entries, index = unit. */
  entries: TableEntry[];
}

export interface KeyUpdate {
  type: typeof MessageType.KeyUpdate;
  target: MemberId;
  keyEpoch: number;
  wrappedKey: Uint8Array;
}

/** Room for replication (later issues): one application's essential-state records for a unit. */
export interface StateSync {
  type: typeof MessageType.StateSync;
  app: number;
  unit: UnitId;
  syncSeq: number;
  payload: Uint8Array;
}

export interface StateAck {
  type: typeof MessageType.StateAck;
  app: number;
  unit: UnitId;
  syncSeq: number;
}

/** Which of the cluster's sides a forwarded packet arrived on (the owner handles it as if it came in there). */
export const ForwardSide = { Outer: 0, Inner: 1 } as const;
export type ForwardSide = (typeof ForwardSide)[keyof typeof ForwardSide];

/** Forwarding delivery mode: a packet the master received and hands to its unit's owner. */
export interface ForwardedPacket {
  type: typeof MessageType.ForwardedPacket;
  unit: UnitId;
  side: ForwardSide;
  packet: Uint8Array;
}

export type ControlMessage =
  | JoinRequest
  | JoinNak
  | OkToJoin
  | OfferMaster
  | OtherMasterExists
  | MasterAnnounce
  | MasterKeepalive
  | ClientKeepalive
  | ExitCluster
  | WorkAssign
  | WorkDeassign
  | WorkAck
  | TableRequest
  | TableSnapshot
  | KeyUpdate
  | StateSync
  | StateAck
  | ForwardedPacket
  | ConfigVersionExit;

/** Trailer of a signed message: the sender's chain (leaf first), when it signed (wall ms), and the signature. */
export interface SignedTrailer {
  kind: 'signed';
  chain: Uint8Array[];
  signedAt: number;
  signature: Uint8Array;
}

export interface MacTrailer {
  kind: 'mac';
  mac: Uint8Array; // MAC_LENGTH bytes
}

export const MAC_LENGTH = 16;

export type Trailer = SignedTrailer | MacTrailer;

/** A decoded frame: `authenticated` is the exact byte range the MAC or signature covers. */
export interface Frame {
  header: Header;
  message: ControlMessage;
  trailer: Trailer;
  authenticated: Uint8Array;
}
