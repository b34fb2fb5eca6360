/**
 * The generic payload header (RFC 7296 §3.2) and the Next Payload chain:
 *
 *   | Next Payload  |C|  RESERVED   |         Payload Length        |
 *
 * Payload Length includes these 4 bytes. The walk starts from the type the
 * IKE header (or an SK payload) names and ends at Next Payload 0, which must
 * coincide with the end of the bytes. SK and SKF end the walk too (§3.14:
 * "MUST be the last payload"): their Next Payload names the first payload
 * *inside* the ciphertext and is returned as `nextType`.
 *
 * §2.5: an unknown payload with the critical bit set rejects the message
 * (UnsupportedCriticalPayload, for an UNSUPPORTED_CRITICAL_PAYLOAD reply);
 * an unknown non-critical one is kept raw for the caller to skip. The
 * critical bit of a known payload is ignored, as the RFC requires.
 */
import type { ByteReader } from '../byte-reader.js';
import type { ByteWriter } from '../byte-writer.js';
import { DecodeError, UnsupportedCriticalPayload } from '../decode-error.js';
import { GENERIC_PAYLOAD_HEADER_LENGTH, PAYLOAD } from './constants.js';
import { MAX_PAYLOAD_BODY, uint } from './fields.js';

const CRITICAL = 0x80;

export interface RawPayload {
  type: number;
  critical: boolean;
  /** The Next Payload field: meaningful to the caller only for SK/SKF (the first inner type). */
  nextType: number;
  body: Uint8Array;
}

export function isEncryptedType(type: number): boolean {
  return type === PAYLOAD.SK || type === PAYLOAD.SKF;
}

/** Walks the chain in `r` to its end; throws DecodeError for the caller's decodeSafely. */
export function readPayloadChain(r: ByteReader, firstType: number, isKnown: (type: number) => boolean): RawPayload[] {
  const out: RawPayload[] = [];
  let type = firstType;
  while (type !== PAYLOAD.NONE) {
    const nextType = r.u8('next payload');
    const critical = (r.u8('payload flags') & CRITICAL) !== 0;
    const length = r.u16('payload length');
    if (length < GENERIC_PAYLOAD_HEADER_LENGTH) throw new DecodeError('bad-length', `payload ${type} length ${length}`);
    const body = r.bytes(length - GENERIC_PAYLOAD_HEADER_LENGTH, `payload ${type}`);
    if (!isKnown(type) && critical) throw new UnsupportedCriticalPayload(type);
    out.push({ type, critical, nextType, body });
    if (isEncryptedType(type)) break;
    type = nextType;
  }
  r.expectEnd('payload chain');
  return out;
}

/** Writes the chain, filling each Next Payload; returns the type the enclosing header names first. */
export function writePayloadChain(w: ByteWriter, payloads: readonly RawPayload[]): number {
  payloads.forEach((p, i) => {
    const last = i === payloads.length - 1;
    if (p.type === PAYLOAD.NONE) throw new RangeError('payload type 0 ends a chain');
    uint(p.type, 0xff, 'payload type');
    if (isEncryptedType(p.type) && !last) throw new RangeError('SK/SKF must be the last payload');
    const next = isEncryptedType(p.type) ? p.nextType : last ? PAYLOAD.NONE : payloads[i + 1]!.type;
    uint(p.body.length, MAX_PAYLOAD_BODY, 'payload body length');
    w.u8(uint(next, 0xff, 'next payload'))
      .u8(p.critical ? CRITICAL : 0)
      .u16(GENERIC_PAYLOAD_HEADER_LENGTH + p.body.length)
      .bytes(p.body);
  });
  return payloads[0]?.type ?? PAYLOAD.NONE;
}
