/**
 * Fixed numbers of the control-protocol wire layout (see ../control-codec.ts
 * for the byte diagram). Everything else about the layout lives beside the
 * code that reads and writes it.
 */

/** "SH" */
export const MAGIC = 0x5348;
export const VERSION = 1;
export const HEADER_LENGTH = 28;
/** Length of the u16 bodyLength field that follows the header. */
export const BODY_LENGTH_FIELD = 2;

/** No frame, of any type, may be longer than this (it must fit one interconnect datagram). */
export const MAX_FRAME_LENGTH = 65000;

/** Join nonces: u16 length (always 16) + 16 bytes. */
export const NONCE_LENGTH = 16;
/** Work-table digest in keepalives: 8 bytes, fixed, no length prefix. */
export const TABLE_DIGEST_LENGTH = 8;
/** Cluster size parameter n carried in OkToJoin and MasterKeepalive. */
export const N_MIN = 2;
export const N_MAX = 20;
/** StateSync payload: u32 length, at most this many bytes. */
export const MAX_STATE_PAYLOAD = 60000;

/** Signed trailer: 1..4 certificates, leaf first. */
export const MIN_CHAIN_LENGTH = 1;
export const MAX_CHAIN_LENGTH = 4;
/** Shortest signed trailer: count + one 1-byte cert + signedAt + one 1-byte signature. */
export const MIN_SIGNED_TRAILER = 1 + 2 + 1 + 8 + 2 + 1;

/** TableSnapshot owner index meaning "no owner" (owner id 0). */
export const NO_OWNER_INDEX = 0xff;
/** Owner dictionary size: indices 0..254, 0xFF is reserved. */
export const MAX_TABLE_OWNERS = 255;
