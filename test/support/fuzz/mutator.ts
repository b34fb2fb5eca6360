/**
 * The fuzz pass's input generator: a seeded mutator over a corpus of valid
 * encodings. Each input is a corpus item with one to four mutations (bit
 * flips, interesting bytes and lengths written over fields, insertions,
 * deletions, duplicated runs, truncation, extension, a splice with another
 * item), and one input in twenty is plain random bytes. Everything comes from
 * one SeededRandom, so a seed and an input number name an input exactly.
 */
import type { SeededRandom } from '../../../src/lib/random.js';

/** Values that sit on the edges of u8/u16/u32 fields and of lengths. */
const INTERESTING_8 = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff] as const;
const INTERESTING_16 = [0x0000, 0x0001, 0x00ff, 0x0100, 0x7fff, 0x8000, 0xfffe, 0xffff] as const;
/** Longest input the mutator makes: above one Ethernet frame, below the control frame limit. */
const MAX_INPUT = 70_000;

function below(rng: SeededRandom, n: number): number {
  return n <= 0 ? 0 : Math.floor(rng.float() * n);
}

function pick<T>(rng: SeededRandom, xs: readonly T[]): T {
  const x = xs[below(rng, xs.length)];
  if (x === undefined) throw new RangeError('pick from an empty list');
  return x;
}

function mutateOnce(rng: SeededRandom, m: Uint8Array, corpus: readonly Uint8Array[]): Uint8Array {
  const at = below(rng, m.length);
  switch (below(rng, 10)) {
    case 0: // flip one bit
      if (m.length > 0) m[at] = m[at]! ^ (1 << below(rng, 8));
      return m;
    case 1: // an interesting byte
      if (m.length > 0) m[at] = pick(rng, INTERESTING_8);
      return m;
    case 2: {
      // an interesting u16 (a length, a count, a type) big-endian at any offset; or the input's own length ± 1
      if (m.length < 2) return m;
      const v = rng.float() < 0.5 ? pick(rng, INTERESTING_16) : (m.length - at + below(rng, 3) - 1) & 0xffff;
      const k = Math.min(at, m.length - 2);
      m[k] = v >>> 8;
      m[k + 1] = v & 0xff;
      return m;
    }
    case 3: // a random byte
      if (m.length > 0) m[at] = below(rng, 256);
      return m;
    case 4: // insert random bytes
      return concat(m.subarray(0, at), rng.bytes(1 + below(rng, 32)), m.subarray(at));
    case 5: // delete a run
      return concat(m.subarray(0, at), m.subarray(Math.min(m.length, at + 1 + below(rng, 32))));
    case 6: {
      // duplicate a run in place (repeated payloads, a length that no longer matches)
      const run = m.subarray(at, Math.min(m.length, at + 1 + below(rng, 64)));
      return concat(m.subarray(0, at), run, run, m.subarray(at + run.length));
    }
    case 7: // truncate
      return m.subarray(0, at);
    case 8: // extend (oversized: up to a few kB of garbage, sometimes far more)
      return concat(m, rng.bytes(rng.float() < 0.02 ? below(rng, MAX_INPUT - m.length) : 1 + below(rng, 2048)));
    default: {
      // splice: this item's head with another item's tail
      const other = pick(rng, corpus);
      return concat(m.subarray(0, at), other.subarray(below(rng, other.length)));
    }
  }
}

function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(Math.min(n, MAX_INPUT));
  let k = 0;
  for (const p of parts) {
    const take = Math.min(p.length, out.length - k);
    out.set(p.subarray(0, take), k);
    k += take;
  }
  return out;
}

/** One fuzz input from `corpus` (never empty). */
export function fuzzInput(rng: SeededRandom, corpus: readonly Uint8Array[]): Uint8Array {
  if (rng.float() < 0.05) return rng.bytes(below(rng, 1600));
  let m: Uint8Array = pick(rng, corpus).slice();
  const count = 1 + below(rng, 4);
  for (let i = 0; i < count; i++) m = mutateOnce(rng, m, corpus);
  return m;
}
