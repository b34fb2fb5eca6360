/**
 * Binary codec of the cluster control protocol (the message union is in
 * messages.ts). All integers are big-endian. One frame per datagram, at most
 * MAX_FRAME_LENGTH (65000) bytes:
 *
 *    0        2     3     4           8           12                      20          24          28
 *    +--------+-----+-----+-----------+-----------+-----------------------+-----------+-----------+
 *    | magic  | ver |type | clusterId | sender    | incarnation           | seq       | epoch     |  header
 *    | 0x5348 | 1   | u8  | u32       | u32       | u64 (safe integer)    | u32       | u32       |  (header.ts)
 *    +--------+-----+-----+-----------+-----------+-----------------------+-----------+-----------+
 *   28        30
 *    +--------+-------------------------------------------------------------------------------+
 *    | bodyLen| body: per-type layout (bodies-membership.ts, bodies-work.ts, table-snapshot.ts) |
 *    | u16    | bodyLen bytes, consumed exactly                                               |
 *    +--------+-------------------------------------------------------------------------------+
 *
 *   then the trailer AUTH_OF_TYPE[type] selects (no flag on the wire; frame.ts):
 *
 *    'mac'     +-----------+
 *              | mac (16)  |  end of frame
 *              +-----------+
 *              authenticated = bytes [0, 30 + bodyLen)
 *
 *    'signed'  +------------+--------------------------------+--------------+--------+-----------+
 *              | chainCount | chainCount × (u16 len + DER)   | signedAt u64 | sigLen | signature |  end of frame
 *              | u8, 1..4   | leaf first, each non-empty     | wall ms      | u16    | non-empty |
 *              +------------+--------------------------------+--------------+--------+-----------+
 *              authenticated = every byte before sigLen
 *
 * Body field conventions: `list<X>` = u16 count + items; `bytes16` = u16
 * length + bytes; `string` = u16 length + UTF-8; `UnitEpoch` = unit u16
 * (< UNIT_COUNT) + epoch u32. Nonces are bytes16 of exactly 16 bytes; table
 * digests are 8 bytes with no prefix; `n` is 2..20.
 *
 *   JoinRequest        configVersion u32 | nonce | served list<UnitEpoch> | maxEpoch u32
 *   JoinNak            target u32 | nonce | reason u8 (NakReason) | detail string | configVersion u32
 *   OkToJoin           target u32 | nonce | term u32 | keyEpoch u32 | wrappedKey bytes16
 *                      | members list<u32> | keep list<UnitEpoch> | n u8
 *   OfferMaster        term u32
 *   OtherMasterExists  target u32 | memberCount u16 | term u32
 *   MasterAnnounce     memberCount u16 | term u32 | configVersion u32
 *   MasterKeepalive    term u32 | n u8 | members list<u32> | tableDigest (8) | maxEpoch u32
 *   ClientKeepalive    keepaliveSeq u32 | tableDigest (8) | configVersion u32
 *   ExitCluster        target u32 | reason u8 (ExitReason)
 *   WorkAssign         owner u32 | entries list<UnitEpoch> | markers list<u32> (count = entries')
 *   WorkDeassign       owner u32 | entries list<UnitEpoch>
 *   WorkAck            kind u8 (AckKind) | entries list<UnitEpoch> | markers list<u32> (count = entries')
 *   TableRequest       (empty)
 *   TableSnapshot      target u32 | ownerCount u8 | ownerCount × u32
 *                      | UNIT_COUNT × (ownerIndex u8 (0xFF = none) | epoch u32 | state u8 (UnitState))
 *   KeyUpdate          target u32 | keyEpoch u32 | wrappedKey bytes16
 *   StateSync          app u8 | unit u16 | syncSeq u32 | payload (u32 length ≤ 60000 + bytes)
 *   StateAck           app u8 | unit u16 | syncSeq u32
 *   ForwardedPacket    unit u16 | side u8 | packet bytes16 (at most MAX_FORWARDED_PACKET: larger ones are split first)
 *   ConfigVersionExit  target u32 | configVersion u32 (master's) | memberConfigVersion u32
 *
 * Decoding never throws (decodeFrame, peekHeader return Decoded<T>); decoded
 * byte fields and `authenticated` are views into the input buffer. Encoding
 * throws RangeError for values that do not fit the layout (programming errors).
 */
export { decodeFrame, encodeHeaderAndBody, encodeMacFrame, encodeSignedFrame, encodeSignedPart } from './control-codec/frame.js';
export { MAX_FORWARDED_PACKET } from './control-codec/bodies-work.js';
export { messageTypeName, peekHeader } from './control-codec/header.js';
export {
  HEADER_LENGTH,
  MAGIC,
  MAX_CHAIN_LENGTH,
  MAX_FRAME_LENGTH,
  MAX_STATE_PAYLOAD,
  N_MAX,
  N_MIN,
  NONCE_LENGTH,
  TABLE_DIGEST_LENGTH,
  VERSION,
} from './control-codec/layout.js';
