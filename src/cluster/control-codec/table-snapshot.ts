/**
 * TableSnapshot body: the whole work table, ~6 KB, with owners compressed to
 * one-byte indices into a dictionary of member ids.
 *
 *   target u32
 *   ownerCount u8 (≤ 255) | ownerCount × owner id u32     (never 0; first-use order)
 *   UNIT_COUNT × ( ownerIndex u8 | epoch u32 | state u8 )  (index = unit; ownerIndex 0xFF = no owner, id 0)
 */
import type { ByteReader } from '../../wire/byte-reader.js';
import type { ByteWriter } from '../../wire/byte-writer.js';
import { DecodeError } from '../../wire/decode-error.js';
import { MessageType, UnitState, type TableEntry, type TableSnapshot } from '../messages.js';
import { UNIT_COUNT, type MemberId } from '../types.js';
import { getEnum, needItems, putEnum, putU32, type BodyCodec } from './fields.js';
import { MAX_TABLE_OWNERS, NO_OWNER_INDEX } from './layout.js';

const UNIT_STATES: readonly UnitState[] = Object.values(UnitState);
const ENTRY_SIZE = 1 + 4 + 1;

/** Owner id → dictionary index, in first-use order; owner 0 (none) is not in it. */
function ownerDictionary(entries: readonly TableEntry[]): Map<MemberId, number> {
  const dict = new Map<MemberId, number>();
  for (const e of entries) {
    if (e.owner === 0 || dict.has(e.owner)) continue;
    if (dict.size === MAX_TABLE_OWNERS) throw new RangeError(`table snapshot: more than ${MAX_TABLE_OWNERS} distinct owners`);
    dict.set(e.owner, dict.size);
  }
  return dict;
}

function encode(w: ByteWriter, m: TableSnapshot): void {
  if (m.entries.length !== UNIT_COUNT) throw new RangeError(`table snapshot: ${m.entries.length} entries, need ${UNIT_COUNT}`);
  putU32(w, m.target, 'target');
  const dict = ownerDictionary(m.entries);
  w.u8(dict.size);
  for (const owner of dict.keys()) putU32(w, owner, 'owner');
  for (const e of m.entries) {
    w.u8(dict.get(e.owner) ?? NO_OWNER_INDEX);
    putU32(w, e.epoch, 'epoch');
    putEnum(w, e.state, UNIT_STATES, 'unit state');
  }
}

function readOwners(r: ByteReader): MemberId[] {
  const count = r.u8('owner count');
  needItems(r, count, 4, 'owners');
  const owners: MemberId[] = [];
  for (let i = 0; i < count; i++) {
    const owner = r.u32('owner');
    if (owner === 0) throw new DecodeError('bad-value', 'table snapshot: owner id 0 in dictionary');
    owners.push(owner);
  }
  return owners;
}

function readEntry(r: ByteReader, owners: readonly MemberId[]): TableEntry {
  const index = r.u8('owner index');
  const owner = index === NO_OWNER_INDEX ? 0 : owners[index];
  if (owner === undefined) throw new DecodeError('bad-value', `table snapshot: owner index ${index} of ${owners.length}`);
  return { owner, epoch: r.u32('epoch'), state: getEnum(r, UNIT_STATES, 'unit state') };
}

function decode(r: ByteReader): TableSnapshot {
  const target = r.u32('target');
  const owners = readOwners(r);
  needItems(r, UNIT_COUNT, ENTRY_SIZE, 'table entries');
  const entries: TableEntry[] = [];
  for (let unit = 0; unit < UNIT_COUNT; unit++) entries.push(readEntry(r, owners));
  return { type: MessageType.TableSnapshot, target, entries };
}

export const tableSnapshot: BodyCodec<TableSnapshot> = { encode, decode };
