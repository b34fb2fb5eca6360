/**
 * The 8-byte explicit IV of the AEAD transforms (AES-GCM, RFC 4106 §3.1;
 * ChaCha20-Poly1305, RFC 7634 §2), unique per key by construction:
 *
 *   IV = member tag (16 bits) ‖ low 48 bits of the ESP sequence number
 *
 * RFC 4106 §3.1 lets the sender choose the IV freely as long as it never
 * repeats under one key ("a counter" is the example, not a rule); the peer
 * reads it from the packet. Several members of the cluster may send on one
 * SA over its life (takeover, a partition leaving two owners), each from its
 * own sequence numbers: the tag, the low 16 bits of the member's interconnect
 * address (checked unique among members when a member joins, ipsec-app.ts),
 * keeps their IVs apart whatever their counters do, and a member never
 * reuses its own numbers on an SA (sequence leases, seq-lease.ts). An SA
 * stops at 2^48 − 1 packets (`IV_SEQUENCE_LIMIT`): far beyond any lifetime.
 */
import type { MemberId } from '../../../cluster/types.js';
import { writeU32 } from '../../../wire/esp.js';

export const AEAD_IV_LENGTH = 8;
/** The highest sequence number whose IV is still unique (48 bits). */
export const IV_SEQUENCE_LIMIT = 2 ** 48 - 1;

/** The IV tag of a member: the low 16 bits of its interconnect address. */
export function ivTagOf(member: MemberId): number {
  return member & 0xffff;
}

/** Writes the IV of sequence number seqHigh‖seqLow at `at` (seqHigh above 16 bits is not represented: see IV_SEQUENCE_LIMIT). */
export function writeAeadIv(packet: Uint8Array, at: number, tag: number, seqHigh: number, seqLow: number): void {
  writeU32(packet, at, ((tag & 0xffff) << 16 | (seqHigh & 0xffff)) >>> 0);
  writeU32(packet, at + 4, seqLow);
}
