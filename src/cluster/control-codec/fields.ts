/**
 * Field-level helpers shared by the body codecs: range-checked writers (a bad
 * value is a programming error, so RangeError) and validating readers (bad
 * input is a DecodeError). All offsets and length checks stay in ByteReader
 * and ByteWriter; these only add the protocol's value rules.
 */
import type { ByteReader } from '../../wire/byte-reader.js';
import type { ByteWriter } from '../../wire/byte-writer.js';
import { DecodeError } from '../../wire/decode-error.js';
import { UNIT_COUNT, type UnitEpoch, type UnitId } from '../types.js';
import { NONCE_LENGTH, N_MAX, N_MIN } from './layout.js';

/** One message type's body: how to write it after the bodyLength field, and how to read it back. */
export interface BodyCodec<M> {
  encode(w: ByteWriter, m: M): void;
  decode(r: ByteReader): M;
}

const UTF8_ENCODER = new TextEncoder();
/** Strict, and keeps a leading U+FEFF, so decode(encode(s)) === s for every well-formed string. */
const UTF8_DECODER = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const LONE_SURROGATE = /\p{Cs}/u;

// ---- writing ----

function checkUint(v: number, max: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`${what}: ${v} is not an integer in 0..${max}`);
  return v;
}

export function putU8(w: ByteWriter, v: number, what: string): void {
  w.u8(checkUint(v, 0xff, what));
}

export function putU16(w: ByteWriter, v: number, what: string): void {
  w.u16(checkUint(v, 0xffff, what));
}

export function putU32(w: ByteWriter, v: number, what: string): void {
  w.u32(checkUint(v, 0xffffffff, what));
}

export function putU64(w: ByteWriter, v: number, what: string): void {
  w.u64(checkUint(v, Number.MAX_SAFE_INTEGER, what));
}

/** A value of one of the `as const` enums in messages.ts. */
export function putEnum(w: ByteWriter, v: number, values: readonly number[], what: string): void {
  if (!values.includes(v)) throw new RangeError(`${what}: ${v} is not one of ${values.join(',')}`);
  w.u8(v);
}

export function putRange(w: ByteWriter, v: number, min: number, max: number, what: string): void {
  if (checkUint(v, 0xff, what) < min || v > max) throw new RangeError(`${what}: ${v} is not in ${min}..${max}`);
  w.u8(v);
}

export function putN(w: ByteWriter, n: number): void {
  putRange(w, n, N_MIN, N_MAX, 'n');
}

export function putFixed(w: ByteWriter, b: Uint8Array, length: number, what: string): void {
  if (b.length !== length) throw new RangeError(`${what}: must be ${length} bytes, got ${b.length}`);
  w.bytes(b);
}

export function putBytes16(w: ByteWriter, b: Uint8Array, what: string): void {
  putU16(w, b.length, `${what} length`);
  w.bytes(b);
}

/** u16 length (always 16) + 16 bytes. */
export function putNonce(w: ByteWriter, nonce: Uint8Array): void {
  if (nonce.length !== NONCE_LENGTH) throw new RangeError(`nonce: must be ${NONCE_LENGTH} bytes, got ${nonce.length}`);
  w.bytes16(nonce);
}

export function putUtf8(w: ByteWriter, s: string, what: string): void {
  if (LONE_SURROGATE.test(s)) throw new RangeError(`${what}: not well-formed UTF-16`);
  putBytes16(w, UTF8_ENCODER.encode(s), what);
}

export function putUnit(w: ByteWriter, unit: UnitId, what: string): void {
  w.u16(checkUint(unit, UNIT_COUNT - 1, what));
}

/** u16 count, then count × (unit u16, epoch u32). */
export function putUnitEpochs(w: ByteWriter, list: readonly UnitEpoch[], what: string): void {
  putU16(w, list.length, `${what} count`);
  for (const e of list) {
    putUnit(w, e.unit, `${what} unit`);
    putU32(w, e.epoch, `${what} epoch`);
  }
}

/**
 * A u32 per entry of the list before it (hand-over markers): u16 count, then
 * count × u32. The count repeats the entries' count so a reader can check they match.
 */
export function putParallelU32s(w: ByteWriter, list: readonly number[], entries: number, what: string): void {
  if (list.length !== entries) throw new RangeError(`${what}: ${list.length} values for ${entries} entries`);
  putU32List(w, list, what);
}

/** u16 count, then count × u32. */
export function putU32List(w: ByteWriter, list: readonly number[], what: string): void {
  putU16(w, list.length, `${what} count`);
  for (const v of list) putU32(w, v, what);
}

// ---- reading ----

/** Fails fast on a count the remaining bytes cannot hold, before allocating anything. */
export function needItems(r: ByteReader, count: number, itemSize: number, what: string): void {
  if (count * itemSize > r.remaining) {
    throw new DecodeError('truncated', `${what}: ${count} items need ${count * itemSize} bytes, have ${r.remaining}`);
  }
}

export function getEnum<T extends number>(r: ByteReader, values: readonly T[], what: string): T {
  const v = r.u8(what);
  const found = values.find((x) => x === v);
  if (found === undefined) throw new DecodeError('bad-value', `${what}: ${v} is not one of ${values.join(',')}`);
  return found;
}

export function getRange(r: ByteReader, min: number, max: number, what: string): number {
  const v = r.u8(what);
  if (v < min || v > max) throw new DecodeError('bad-value', `${what}: ${v} is not in ${min}..${max}`);
  return v;
}

export function getN(r: ByteReader): number {
  return getRange(r, N_MIN, N_MAX, 'n');
}

export function getNonce(r: ByteReader): Uint8Array {
  const length = r.u16('nonce length');
  if (length !== NONCE_LENGTH) throw new DecodeError('bad-length', `nonce: must be ${NONCE_LENGTH} bytes, got ${length}`);
  return r.bytes(length, 'nonce');
}

export function getUtf8(r: ByteReader, what: string): string {
  const raw = r.bytes16(what);
  try {
    return UTF8_DECODER.decode(raw);
  } catch {
    throw new DecodeError('bad-value', `${what}: not valid UTF-8`);
  }
}

export function getUnit(r: ByteReader, what: string): UnitId {
  const unit = r.u16(what);
  if (unit >= UNIT_COUNT) throw new DecodeError('bad-value', `${what}: ${unit} is not below ${UNIT_COUNT}`);
  return unit;
}

export function getUnitEpochs(r: ByteReader, what: string): UnitEpoch[] {
  const count = r.u16(`${what} count`);
  needItems(r, count, 6, what);
  const out: UnitEpoch[] = [];
  for (let i = 0; i < count; i++) out.push({ unit: getUnit(r, `${what} unit`), epoch: r.u32(`${what} epoch`) });
  return out;
}

/** The reader of putParallelU32s: a count other than the entries' is "bad-length". */
export function getParallelU32s(r: ByteReader, entries: number, what: string): number[] {
  const count = r.u16(`${what} count`);
  if (count !== entries) throw new DecodeError('bad-length', `${what}: ${count} values for ${entries} entries`);
  needItems(r, count, 4, what);
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push(r.u32(what));
  return out;
}

export function getU32List(r: ByteReader, what: string): number[] {
  const count = r.u16(`${what} count`);
  needItems(r, count, 4, what);
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push(r.u32(what));
  return out;
}
