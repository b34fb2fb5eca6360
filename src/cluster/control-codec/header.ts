/**
 * The 28-byte header every control frame starts with (big-endian):
 *
 *   0        2     3     4           8           12                      20          24          28
 *   +--------+-----+-----+-----------+-----------+-----------------------+-----------+-----------+
 *   | magic  | ver |type | clusterId | sender    | incarnation           | seq       | epoch     |
 *   | 0x5348 | 1   | u8  | u32       | u32       | u64 (safe integer)    | u32       | u32       |
 *   +--------+-----+-----+-----------+-----------+-----------------------+-----------+-----------+
 */
import { ByteReader } from '../../wire/byte-reader.js';
import type { ByteWriter } from '../../wire/byte-writer.js';
import { DecodeError, decodeSafely, type Decoded } from '../../wire/decode-error.js';
import { MessageType, type Header } from '../messages.js';
import { putU32, putU64 } from './fields.js';
import { MAGIC, VERSION } from './layout.js';

const TYPE_NAMES: ReadonlyMap<number, string> = new Map(Object.entries(MessageType).map(([name, t]) => [t, name]));

export function isMessageType(t: number): t is MessageType {
  return TYPE_NAMES.has(t);
}

/** The type's name for logs; `Unknown(n)` for a number outside the protocol. */
export function messageTypeName(t: MessageType): string {
  return TYPE_NAMES.get(t) ?? `Unknown(${String(t)})`;
}

export function writeHeader(w: ByteWriter, h: Header): void {
  if (!isMessageType(h.type)) throw new RangeError(`header type: ${String(h.type)} is not a message type`);
  w.u16(MAGIC).u8(VERSION).u8(h.type);
  putU32(w, h.clusterId, 'clusterId');
  putU32(w, h.sender, 'sender');
  putU64(w, h.incarnation, 'incarnation');
  putU32(w, h.seq, 'seq');
  putU32(w, h.epoch, 'epoch');
}

/** Reads and checks the header; magic, version and type are checked in wire order. */
export function readHeader(r: ByteReader): Header {
  const magic = r.u16('magic');
  if (magic !== MAGIC) throw new DecodeError('bad-magic', `magic 0x${magic.toString(16)}`);
  const version = r.u8('version');
  if (version !== VERSION) throw new DecodeError('bad-version', `version ${version}`);
  const type = r.u8('type');
  if (!isMessageType(type)) throw new DecodeError('unknown-type', `type ${type}`);
  return {
    type,
    clusterId: r.u32('clusterId'),
    sender: r.u32('sender'),
    incarnation: r.u64('incarnation'),
    seq: r.u32('seq'),
    epoch: r.u32('epoch'),
  };
}

/** Decodes only the header, for cheap early drops (foreign cluster, stale incarnation) before the full decode. */
export function peekHeader(bytes: Uint8Array): Decoded<Header> {
  return decodeSafely(() => readHeader(new ByteReader(bytes)));
}
