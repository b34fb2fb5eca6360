/**
 * Essential-state records as replication carries them: one record per
 * session (an application's key, e.g. an IKE SA's responder SPI), versioned
 * by its owner, `body` null for a session that ended (a tombstone, so a late
 * older version cannot bring it back). A StateSync payload is a list of one
 * unit's records:
 *
 *   count u16 | { key bytes16 | version u32 | flags u8 (1 = deleted) | body u32-length + bytes }*
 */
import { ByteReader } from '../wire/byte-reader.js';
import { ByteWriter } from '../wire/byte-writer.js';
import { DecodeError, decodeSafely, type Decoded } from '../wire/decode-error.js';

export interface StateRecord {
  key: string;
  version: number;
  /** null: the session ended. */
  body: Uint8Array | null;
}

const DELETED = 1;
export const MAX_RECORDS_PER_MESSAGE = 0xffff;

export function encodeRecords(records: readonly StateRecord[]): Uint8Array {
  if (records.length > MAX_RECORDS_PER_MESSAGE) throw new RangeError(`${records.length} records in one message`);
  const w = new ByteWriter(64 + records.reduce((n, r) => n + 16 + r.key.length + (r.body?.length ?? 0), 0));
  w.u16(records.length);
  for (const r of records) {
    w.bytes16(new Uint8Array(Buffer.from(r.key, 'utf8')));
    w.u32(r.version);
    w.u8(r.body === null ? DELETED : 0);
    const body = r.body ?? new Uint8Array(0);
    w.u32(body.length).bytes(body);
  }
  return w.finish();
}

export function decodeRecords(payload: Uint8Array): Decoded<StateRecord[]> {
  return decodeSafely(() => {
    const r = new ByteReader(payload);
    const count = r.u16('record count');
    const out: StateRecord[] = [];
    for (let i = 0; i < count; i++) {
      const key = Buffer.from(r.bytes16('record key')).toString('utf8');
      const version = r.u32('record version');
      const flags = r.u8('record flags');
      const length = r.u32('record body length');
      const body = r.bytes(length, 'record body').slice();
      out.push({ key, version, body: flags & DELETED ? null : body });
    }
    if (r.remaining !== 0) throw new DecodeError('bad-length', `${r.remaining} bytes after the records`);
    return out;
  });
}

/** Bytes a record takes in a payload (to split batches under the frame limit). */
export function recordSize(r: StateRecord): number {
  return 2 + Buffer.byteLength(r.key) + 4 + 1 + 4 + (r.body?.length ?? 0);
}
