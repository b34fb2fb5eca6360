import type { Ipv4 } from '../lib/ipv4.js';

/** The patent's work units: every packet maps to exactly one of these. */
export const UNIT_COUNT = 1024;
export const UNIT_MASK = UNIT_COUNT - 1;

/** 0..1023 */
export type UnitId = number;

/** A member is named by its interconnect IPv4 address; the tie-breaker compares these. */
export type MemberId = Ipv4;

/** Assignment generation for one unit; a higher epoch fences a lower one. */
export type Epoch = number;

/**
 * The highest epoch any input may carry (a join's maxEpoch and served units,
 * keepalives, orders). Epochs travel as u32 and a master takes the next one
 * above everything it has seen, so an input at 0xFFFFFFFF would push the next
 * epoch past the field (the encoder then throws on every later master). Half
 * the u32 range leaves 2^31 assignment batches of room above any input: at
 * ten batches a second, decades. Inputs beyond it are refused, never clamped
 * (a clamped epoch could equal one already served).
 */
export const MAX_EPOCH = 0x7fff_ffff;

/** Whether `epoch` is one an input may carry (0..MAX_EPOCH). */
export function isSaneEpoch(epoch: number): boolean {
  return Number.isInteger(epoch) && epoch >= 0 && epoch <= MAX_EPOCH;
}

export interface UnitEpoch {
  unit: UnitId;
  epoch: Epoch;
}
