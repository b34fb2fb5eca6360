import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { joinPieces, mergePiece, type Piece } from '../../../src/stack/ipv4-fragments/pieces.js';

/** Slow reference: one map entry per byte held. */
class ByteModel {
  readonly held = new Map<number, number>();
  merge(start: number, data: Uint8Array): 'conflict' | number {
    for (let i = 0; i < data.length; i++) {
      const have = this.held.get(start + i);
      if (have !== undefined && have !== data[i]) return 'conflict';
    }
    let fresh = 0;
    for (let i = 0; i < data.length; i++) {
      if (!this.held.has(start + i)) fresh++;
      this.held.set(start + i, data[i]!);
    }
    return fresh;
  }
}

const arbOp = fc.record({
  start: fc.integer({ min: 0, max: 120 }),
  length: fc.integer({ min: 0, max: 40 }),
  /** Most writes copy the "true" bytes; some carry different ones. */
  honest: fc.boolean(),
  noise: fc.uint8Array({ minLength: 40, maxLength: 40 }),
});

describe('mergePiece against a byte-by-byte model', () => {
  it('agrees on conflicts, new byte counts and content; pieces stay sorted and disjoint', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 160, maxLength: 160 }), fc.array(arbOp, { maxLength: 30 }), (truth, ops) => {
        const pieces: Piece[] = [];
        const model = new ByteModel();
        for (const op of ops) {
          const data = op.honest ? truth.slice(op.start, op.start + op.length) : op.noise.slice(0, op.length);
          const expected = model.merge(op.start, data);
          const before = pieces.map((p) => ({ start: p.start, bytes: p.bytes.slice() }));
          const got = mergePiece(pieces, op.start, data);
          if (expected === 'conflict') {
            expect(got.conflict).toBe(true);
            expect(pieces).toEqual(before); // nothing changed
            return; // the reassembler drops the datagram here
          }
          expect(got).toMatchObject({ conflict: false, newBytes: expected });
          let end = -1;
          for (const p of pieces) {
            expect(p.start).toBeGreaterThanOrEqual(end);
            expect(p.bytes.length).toBeGreaterThan(0);
            end = p.start + p.bytes.length;
          }
          const covered = Math.max(0, ...model.held.keys()) + 1;
          const joined = joinPieces(pieces, covered);
          for (const [at, byte] of model.held) expect(joined[at]).toBe(byte);
          expect(pieces.reduce((n, p) => n + p.bytes.length, 0)).toBe(model.held.size);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('copies the data (the receive buffer gets reused)', () => {
    const pieces: Piece[] = [];
    const data = Uint8Array.of(1, 2, 3, 4);
    mergePiece(pieces, 0, data);
    data.fill(9);
    expect(Array.from(joinPieces(pieces, 4))).toEqual([1, 2, 3, 4]);
  });
});
