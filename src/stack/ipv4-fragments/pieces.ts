/**
 * The data a partly reassembled datagram holds: disjoint byte ranges sorted
 * by offset, each a private copy (the caller's receive buffer gets reused).
 *
 *   held:     [0 ....... 1480)        [2960 ....... 4440)
 *   arriving:          [1000 ............... 3000)
 *   overlap:           [1000,1480) and [2960,3000) must match byte for byte
 *   stored:                       [1480 ... 2960)            (only the gap)
 */

export interface Piece {
  start: number;
  bytes: Uint8Array;
}

/** What merging one fragment's data did. */
export type MergeResult = { conflict: true } | { conflict: false; newBytes: number; newPieces: number };

/**
 * Adds `data` at offset `start` to `pieces` (sorted, disjoint). Where it
 * overlaps what is held, the bytes must be identical, or nothing is changed
 * and the result is a conflict; otherwise only the uncovered gaps are stored.
 */
export function mergePiece(pieces: Piece[], start: number, data: Uint8Array): MergeResult {
  const end = start + data.length;
  const gaps: Piece[] = [];
  let cursor = start;
  for (const p of pieces) {
    const pEnd = p.start + p.bytes.length;
    if (pEnd <= start) continue;
    if (p.start >= end) break;
    const lo = Math.max(start, p.start);
    const hi = Math.min(end, pEnd);
    for (let k = lo; k < hi; k++) if (p.bytes[k - p.start] !== data[k - start]) return { conflict: true };
    if (p.start > cursor) gaps.push({ start: cursor, bytes: data.slice(cursor - start, p.start - start) });
    cursor = Math.max(cursor, pEnd);
  }
  if (cursor < end) gaps.push({ start: cursor, bytes: data.slice(cursor - start) });
  let newBytes = 0;
  for (const gap of gaps) {
    newBytes += gap.bytes.length;
    const at = pieces.findIndex((p) => p.start > gap.start);
    pieces.splice(at < 0 ? pieces.length : at, 0, gap);
  }
  return { conflict: false, newBytes, newPieces: gaps.length };
}

/** The held pieces laid out as one buffer of `length` bytes (they must cover it). */
export function joinPieces(pieces: readonly Piece[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (const p of pieces) out.set(p.bytes, p.start);
  return out;
}
