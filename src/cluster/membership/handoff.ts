/**
 * Hand-over markers: how a unit moves between two live members without
 * losing packets.
 *
 *   master ─WORK_DEASSIGN(owner A)─► every member: the unit is Deassigning;
 *                                    non-owners start holding its packets
 *   A serves on for releaseGraceMs, then stops and acks with its marker
 *                                    (the data plane's digest of the last packet it served)
 *   master ─WORK_ASSIGN(owner B, marker)─► B starts, replaying the held packets after the marker
 *
 * The core only carries the marker (a u32, 0 = none or unknown); what it
 * digests is the data plane's business. Messages carry markers as a list
 * parallel to their entries; inside the core they travel by unit.
 */
import type { UnitEpoch, UnitId } from '../types.js';

/** Markers by unit; a unit absent has marker 0. */
export type HandoffMarkers = ReadonlyMap<UnitId, number>;

export const NO_MARKERS: HandoffMarkers = new Map();

/** A message's parallel marker list by unit, zeros left out. */
export function markersByUnit(entries: readonly UnitEpoch[], markers: readonly number[]): Map<UnitId, number> {
  const out = new Map<UnitId, number>();
  entries.forEach((e, i) => {
    const m = markers[i] ?? 0;
    if (m !== 0) out.set(e.unit, m);
  });
  return out;
}

/** The parallel marker list for a message: one per entry, 0 where there is none. */
export function markerList(entries: readonly UnitEpoch[], markers: HandoffMarkers = NO_MARKERS): number[] {
  return entries.map((e) => markers.get(e.unit) ?? 0);
}
