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

export interface UnitEpoch {
  unit: UnitId;
  epoch: Epoch;
}
