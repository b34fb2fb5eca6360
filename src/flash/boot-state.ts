/**
 * The A/B boot-state record (flash-image/FORMAT.md §6): which slot boots,
 * which one to fall back to, whether the active slot is still on trial, and
 * the lowest config version the box still accepts (anti-rollback). Small,
 * checked by a full SHA-256, and always replaced atomically (medium.ts).
 *
 *   0   4  magic "SHBS"
 *   4   1  record version (2)
 *   5   1  active slot (0 = a, 1 = b)
 *   6   1  previous slot (0 = a, 1 = b, 0xff = none)
 *   7   1  flags: bit 0 = on trial
 *   8   1  boot attempts made while on trial
 *   9   3  reserved (0)
 *   12  4  generation (+1 on every change)
 *   16  4  version floor: the highest config version this box has run; lower ones are refused
 *   20  …  note: u16 length + UTF-8 (why the last rollback happened; may be empty)
 *   end 32 check: SHA-256 over every preceding byte
 *
 * Version 1 (a 4-byte check, no floor) is read as damaged: trusting its weak
 * check would let an edited record reset the floor; the recovery boots the
 * highest version that checks and starts the floor there (slots.ts).
 */
import { createHash } from 'node:crypto';
import { bytesEqual } from '../lib/bytes.js';
import { ByteReader } from '../wire/byte-reader.js';
import { ByteWriter } from '../wire/byte-writer.js';
import { DecodeError, decodeSafely } from '../wire/decode-error.js';

export type SlotName = 'a' | 'b';
export const SLOTS: readonly SlotName[] = ['a', 'b'];

export function otherSlot(s: SlotName): SlotName {
  return s === 'a' ? 'b' : 'a';
}

export interface BootState {
  active: SlotName;
  previous: SlotName | null;
  trial: boolean;
  attempts: number;
  generation: number;
  /** The lowest personality config version this box installs or boots: the highest it has run. */
  floor: number;
  note: string;
}

const MAGIC = new Uint8Array([0x53, 0x48, 0x42, 0x53]); // "SHBS"
const VERSION = 2;
const NONE = 0xff;
const FLAG_TRIAL = 0x01;
/** The whole digest: a 4-byte check matched an edit once in 2^32 tries, and told nothing about intent. */
const CHECK_BYTES = 32;
const MAX_NOTE_BYTES = 1024;

function check(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(bytes).digest());
}

function slotByte(s: SlotName | null): number {
  return s === null ? NONE : s === 'a' ? 0 : 1;
}

export function encodeBootState(s: BootState): Uint8Array {
  let note = new TextEncoder().encode(s.note);
  if (note.length > MAX_NOTE_BYTES) note = note.subarray(0, MAX_NOTE_BYTES);
  const w = new ByteWriter(24 + note.length);
  w.bytes(MAGIC).u8(VERSION).u8(slotByte(s.active)).u8(slotByte(s.previous)).u8(s.trial ? FLAG_TRIAL : 0).u8(Math.min(s.attempts, 255));
  w.u8(0).u16(0).u32(s.generation).u32(s.floor).bytes16(note);
  const body = w.finish();
  const out = new Uint8Array(body.length + CHECK_BYTES);
  out.set(body);
  out.set(check(body), body.length);
  return out;
}

function slotOf(b: number, what: string, allowNone: boolean): SlotName | null {
  if (b === 0) return 'a';
  if (b === 1) return 'b';
  if (b === NONE && allowNone) return null;
  throw new DecodeError('bad-value', `${what}: ${b} is not a slot`);
}

/** The record, or why it is unusable. */
export function decodeBootState(bytes: Uint8Array): { ok: true; value: BootState } | { ok: false; why: string } {
  const r = decodeSafely(() => {
    // Magic and version first: an older record's check is shorter, and it is refused for its version, not its digest.
    if (bytes.length < MAGIC.length + 1) throw new DecodeError('truncated', `${bytes.length} bytes`);
    if (!bytesEqual(bytes.subarray(0, MAGIC.length), MAGIC)) throw new DecodeError('bad-magic', 'not a boot-state record');
    const version = bytes[MAGIC.length] ?? 0;
    if (version !== VERSION) throw new DecodeError('bad-version', `record version ${version} (this software writes ${VERSION})`);
    if (bytes.length < MAGIC.length + 1 + CHECK_BYTES) throw new DecodeError('truncated', `${bytes.length} bytes`);
    const body = bytes.subarray(0, bytes.length - CHECK_BYTES);
    if (!bytesEqual(check(body), bytes.subarray(body.length))) throw new DecodeError('bad-checksum', 'check digest does not match');
    const rd = new ByteReader(body);
    rd.bytes(MAGIC.length + 1, 'magic and version');
    const active = slotOf(rd.u8('active'), 'active slot', false) as SlotName;
    const previous = slotOf(rd.u8('previous'), 'previous slot', true);
    const flags = rd.u8('flags');
    const attempts = rd.u8('attempts');
    rd.bytes(3, 'reserved');
    const generation = rd.u32('generation');
    const floor = rd.u32('floor');
    const note = new TextDecoder().decode(rd.bytes16('note'));
    rd.expectEnd('boot state');
    if (previous === active) throw new DecodeError('bad-value', 'previous slot equals the active slot');
    return { active, previous, trial: (flags & FLAG_TRIAL) !== 0, attempts, generation, floor, note };
  });
  return r.ok ? r : { ok: false, why: r.error.message };
}
