/**
 * Bodies of the membership and election messages (joins, mastership, keepalives,
 * exit, the config-version exit order). Each codec's comment is its body layout; all fields big-endian,
 * `list<X>` = u16 count + items, `bytes16` = u16 length + bytes,
 * `string` = u16 length + UTF-8, `UnitEpoch` = unit u16 (< 1024) + epoch u32.
 */
import {
  ExitReason,
  MessageType,
  NakReason,
  type ClientKeepalive,
  type ConfigVersionExit,
  type ExitCluster,
  type JoinNak,
  type JoinRequest,
  type MasterAnnounce,
  type MasterKeepalive,
  type OfferMaster,
  type OkToJoin,
  type OtherMasterExists,
} from '../messages.js';
import {
  getEnum,
  getN,
  getNonce,
  getU32List,
  getUnitEpochs,
  getUtf8,
  putBytes16,
  putEnum,
  putFixed,
  putN,
  putNonce,
  putU16,
  putU32,
  putU32List,
  putUnitEpochs,
  putUtf8,
  type BodyCodec,
} from './fields.js';
import { TABLE_DIGEST_LENGTH } from './layout.js';

const NAK_REASONS: readonly NakReason[] = Object.values(NakReason);
const EXIT_REASONS: readonly ExitReason[] = Object.values(ExitReason);

/** configVersion u32 | nonce bytes16 (16) | served list<UnitEpoch> | maxEpoch u32 */
export const joinRequest: BodyCodec<JoinRequest> = {
  encode(w, m) {
    putU32(w, m.configVersion, 'configVersion');
    putNonce(w, m.nonce);
    putUnitEpochs(w, m.served, 'served');
    putU32(w, m.maxEpoch, 'maxEpoch');
  },
  decode: (r) => ({
    type: MessageType.JoinRequest,
    configVersion: r.u32('configVersion'),
    nonce: getNonce(r),
    served: getUnitEpochs(r, 'served'),
    maxEpoch: r.u32('maxEpoch'),
  }),
};

/** target u32 | nonce bytes16 (16) | reason u8 (NakReason) | detail string | configVersion u32 (the master's) */
export const joinNak: BodyCodec<JoinNak> = {
  encode(w, m) {
    putU32(w, m.target, 'target');
    putNonce(w, m.nonce);
    putEnum(w, m.reason, NAK_REASONS, 'nak reason');
    putUtf8(w, m.detail, 'detail');
    putU32(w, m.configVersion, 'configVersion');
  },
  decode: (r) => ({
    type: MessageType.JoinNak,
    target: r.u32('target'),
    nonce: getNonce(r),
    reason: getEnum(r, NAK_REASONS, 'nak reason'),
    detail: getUtf8(r, 'detail'),
    configVersion: r.u32('configVersion'),
  }),
};

/**
 * target u32 | nonce bytes16 (16) | term u32 | keyEpoch u32 | wrappedKey bytes16
 * | members list<u32> | keep list<UnitEpoch> | n u8 (2..20)
 */
export const okToJoin: BodyCodec<OkToJoin> = {
  encode(w, m) {
    putU32(w, m.target, 'target');
    putNonce(w, m.nonce);
    putU32(w, m.term, 'term');
    putU32(w, m.keyEpoch, 'keyEpoch');
    putBytes16(w, m.wrappedKey, 'wrappedKey');
    putU32List(w, m.members, 'members');
    putUnitEpochs(w, m.keep, 'keep');
    putN(w, m.n);
  },
  decode: (r) => ({
    type: MessageType.OkToJoin,
    target: r.u32('target'),
    nonce: getNonce(r),
    term: r.u32('term'),
    keyEpoch: r.u32('keyEpoch'),
    wrappedKey: r.bytes16('wrappedKey'),
    members: getU32List(r, 'members'),
    keep: getUnitEpochs(r, 'keep'),
    n: getN(r),
  }),
};

/** term u32 */
export const offerMaster: BodyCodec<OfferMaster> = {
  encode(w, m) {
    putU32(w, m.term, 'term');
  },
  decode: (r) => ({ type: MessageType.OfferMaster, term: r.u32('term') }),
};

/** target u32 | memberCount u16 | term u32 */
export const otherMasterExists: BodyCodec<OtherMasterExists> = {
  encode(w, m) {
    putU32(w, m.target, 'target');
    putU16(w, m.memberCount, 'memberCount');
    putU32(w, m.term, 'term');
  },
  decode: (r) => ({
    type: MessageType.OtherMasterExists,
    target: r.u32('target'),
    memberCount: r.u16('memberCount'),
    term: r.u32('term'),
  }),
};

/** memberCount u16 | term u32 | configVersion u32 */
export const masterAnnounce: BodyCodec<MasterAnnounce> = {
  encode(w, m) {
    putU16(w, m.memberCount, 'memberCount');
    putU32(w, m.term, 'term');
    putU32(w, m.configVersion, 'configVersion');
  },
  decode: (r) => ({
    type: MessageType.MasterAnnounce,
    memberCount: r.u16('memberCount'),
    term: r.u32('term'),
    configVersion: r.u32('configVersion'),
  }),
};

/** term u32 | n u8 (2..20) | members list<u32> | tableDigest 8 bytes (fixed, no prefix) | maxEpoch u32 */
export const masterKeepalive: BodyCodec<MasterKeepalive> = {
  encode(w, m) {
    putU32(w, m.term, 'term');
    putN(w, m.n);
    putU32List(w, m.members, 'members');
    putFixed(w, m.tableDigest, TABLE_DIGEST_LENGTH, 'tableDigest');
    putU32(w, m.maxEpoch, 'maxEpoch');
  },
  decode: (r) => ({
    type: MessageType.MasterKeepalive,
    term: r.u32('term'),
    n: getN(r),
    members: getU32List(r, 'members'),
    tableDigest: r.bytes(TABLE_DIGEST_LENGTH, 'tableDigest'),
    maxEpoch: r.u32('maxEpoch'),
  }),
};

/** keepaliveSeq u32 | tableDigest 8 bytes (fixed, no prefix) | configVersion u32 */
export const clientKeepalive: BodyCodec<ClientKeepalive> = {
  encode(w, m) {
    putU32(w, m.keepaliveSeq, 'keepaliveSeq');
    putFixed(w, m.tableDigest, TABLE_DIGEST_LENGTH, 'tableDigest');
    putU32(w, m.configVersion, 'configVersion');
  },
  decode: (r) => ({
    type: MessageType.ClientKeepalive,
    keepaliveSeq: r.u32('keepaliveSeq'),
    tableDigest: r.bytes(TABLE_DIGEST_LENGTH, 'tableDigest'),
    configVersion: r.u32('configVersion'),
  }),
};

/** target u32 (0 = everyone) | reason u8 (ExitReason) */
export const exitCluster: BodyCodec<ExitCluster> = {
  encode(w, m) {
    putU32(w, m.target, 'target');
    putEnum(w, m.reason, EXIT_REASONS, 'exit reason');
  },
  decode: (r) => ({ type: MessageType.ExitCluster, target: r.u32('target'), reason: getEnum(r, EXIT_REASONS, 'exit reason') }),
};

/** target u32 | configVersion u32 (the master's) | memberConfigVersion u32 */
export const configVersionExit: BodyCodec<ConfigVersionExit> = {
  encode(w, m) {
    putU32(w, m.target, 'target');
    putU32(w, m.configVersion, 'configVersion');
    putU32(w, m.memberConfigVersion, 'memberConfigVersion');
  },
  decode: (r) => ({
    type: MessageType.ConfigVersionExit,
    target: r.u32('target'),
    configVersion: r.u32('configVersion'),
    memberConfigVersion: r.u32('memberConfigVersion'),
  }),
};
