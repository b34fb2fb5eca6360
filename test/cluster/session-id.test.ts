import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AddressPool,
  ID16_PER_UNIT,
  allocateId16,
  allocateIkeSpi,
  allocateSpi32,
  poolAddressesForUnit,
  unitOfId16,
  unitOfIkeSpi,
  unitOfSpi32,
} from '../../src/cluster/session-id.js';
import { UNIT_COUNT } from '../../src/cluster/types.js';
import { unitOfAddress } from '../../src/cluster/unit-hash.js';
import { ShoalError } from '../../src/lib/errors.js';
import { parseIpv4 } from '../../src/lib/ipv4.js';
import { type RandomSource, SeededRandom } from '../../src/lib/random.js';

const unit = fc.integer({ min: 0, max: UNIT_COUNT - 1 });
const seed = fc.integer({ min: 0, max: 0xffffffff });

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return e instanceof ShoalError ? e.code : 'not a ShoalError';
  }
  return undefined;
}

/** Replays scripted values, then all-ones: to hit the rejection branches. */
class ScriptedRandom implements RandomSource {
  constructor(
    private readonly words: number[],
    private readonly byteRuns: number[][] = [],
  ) {}
  u32(): number {
    return this.words.shift() ?? 0xffffffff;
  }
  float(): number {
    return this.u32() / 4294967296;
  }
  bytes(n: number): Uint8Array {
    return Uint8Array.from(this.byteRuns.shift() ?? new Array<number>(n).fill(0xff));
  }
}

describe('allocated identifiers round-trip to their unit', () => {
  it('ESP SPI: >= 256, 32-bit, low 10 bits are the unit', () => {
    fc.assert(
      fc.property(unit, seed, (u, s) => {
        const spi = allocateSpi32(u, new SeededRandom(s));
        expect(Number.isInteger(spi)).toBe(true);
        expect(spi).toBeGreaterThanOrEqual(256);
        expect(spi).toBeLessThanOrEqual(0xffffffff);
        expect(unitOfSpi32(spi)).toBe(u);
      }),
      { seed: 11, numRuns: 3000 },
    );
  });

  it('IKE SPI: 8 non-zero bytes whose big-endian low 10 bits are the unit', () => {
    fc.assert(
      fc.property(unit, seed, fc.integer({ min: 0, max: 40 }), (u, s, at) => {
        const spi = allocateIkeSpi(u, new SeededRandom(s));
        expect(spi.length).toBe(8);
        expect(spi.some((b) => b !== 0)).toBe(true);
        expect(unitOfIkeSpi(spi)).toBe(u);
        expect(Number(new DataView(spi.buffer).getBigUint64(0) % 1024n)).toBe(u);
        const framed = new Uint8Array(at + 8 + 3);
        framed.set(spi, at);
        expect(unitOfIkeSpi(framed, at)).toBe(u);
      }),
      { seed: 12, numRuns: 3000 },
    );
  });

  it('16-bit id: non-zero, below 65536, low 10 bits are the unit', () => {
    fc.assert(
      fc.property(unit, seed, (u, s) => {
        const id = allocateId16(u, new SeededRandom(s));
        expect(id).toBeGreaterThan(0);
        expect(id).toBeLessThan(65536);
        expect(unitOfId16(id)).toBe(u);
      }),
      { seed: 13, numRuns: 3000 },
    );
  });

  it('every unit, exhaustively', () => {
    const rng = new SeededRandom(14);
    for (let u = 0; u < UNIT_COUNT; u++) {
      expect(unitOfSpi32(allocateSpi32(u, rng))).toBe(u);
      expect(unitOfIkeSpi(allocateIkeSpi(u, rng))).toBe(u);
      expect(unitOfId16(allocateId16(u, rng))).toBe(u);
    }
  });

  it('rejects units outside 0..1023', () => {
    const rng = new SeededRandom(15);
    for (const bad of [-1, 1024, 1.5, Number.NaN]) {
      expect(codeOf(() => allocateSpi32(bad, rng))).toBe('BAD_UNIT');
      expect(codeOf(() => allocateIkeSpi(bad, rng))).toBe('BAD_UNIT');
      expect(codeOf(() => allocateId16(bad, rng))).toBe('BAD_UNIT');
    }
  });
});

describe('uniqueness and exhaustion', () => {
  it('ESP SPI skips values < 256 and values in use', () => {
    // Random part 0 (would give SPI = unit < 256), then one in use, then a free one.
    const rng = new ScriptedRandom([0x000003ff, 0xabcd0000, 0x12340000]);
    const taken = new Set([(0xabcd0000 | 7) >>> 0]);
    const spi = allocateSpi32(7, rng, (s) => taken.has(s));
    expect(spi).toBe((0x12340000 | 7) >>> 0);
  });

  it('ESP SPI gives distinct values per unit under inUse', () => {
    const rng = new SeededRandom(21);
    const taken = new Set<number>();
    for (let i = 0; i < 5000; i++) taken.add(allocateSpi32(99, rng, (s) => taken.has(s)));
    expect(taken.size).toBe(5000);
  });

  it('ESP SPI and IKE SPI report ID_EXHAUSTED when every try is taken', () => {
    const rng = new SeededRandom(22);
    expect(codeOf(() => allocateSpi32(1, rng, () => true))).toBe('ID_EXHAUSTED');
    expect(codeOf(() => allocateIkeSpi(1, rng, () => true))).toBe('ID_EXHAUSTED');
  });

  it('IKE SPI for unit 0 is never all-zero', () => {
    const rng = new ScriptedRandom([], [[0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 4, 0]]);
    expect(Array.from(allocateIkeSpi(0, rng))).toEqual([0, 0, 0, 0, 0, 0, 4, 0]);
  });

  it('16-bit ids: 64 per unit (63 for unit 0), then ID_EXHAUSTED', () => {
    for (const [u, capacity] of [
      [5, ID16_PER_UNIT],
      [0, ID16_PER_UNIT - 1],
      [1023, ID16_PER_UNIT],
    ] as const) {
      const rng = new SeededRandom(23 + u);
      const taken = new Set<number>();
      for (let i = 0; i < capacity; i++) {
        const id = allocateId16(u, rng, (x) => taken.has(x));
        expect(taken.has(id)).toBe(false);
        expect(unitOfId16(id)).toBe(u);
        taken.add(id);
      }
      expect(taken.has(0)).toBe(false);
      expect(codeOf(() => allocateId16(u, rng, (x) => taken.has(x)))).toBe('ID_EXHAUSTED');
    }
  });
});

describe('virtual-address pools', () => {
  const base = parseIpv4('100.64.0.0');

  it('lists exactly the host addresses of a unit, partitioning the pool', () => {
    const prefix = 20;
    const seen = new Set<number>();
    for (let u = 0; u < UNIT_COUNT; u++) {
      for (const a of poolAddressesForUnit(base + 77, prefix, u)) {
        expect(unitOfAddress(a)).toBe(u);
        expect(a).toBeGreaterThan(base);
        expect(a).toBeLessThan(base + 4095);
        expect(seen.has(a)).toBe(false);
        seen.add(a);
      }
    }
    expect(seen.size).toBe(4094); // network and broadcast excluded
  });

  it('keeps every address of /31 and /32, drops two of /30', () => {
    const all = (prefix: number): number[] => {
      const out: number[] = [];
      for (let u = 0; u < UNIT_COUNT; u++) out.push(...poolAddressesForUnit(base, prefix, u));
      return out.sort((x, y) => x - y);
    };
    expect(all(32)).toEqual([base]);
    expect(all(31)).toEqual([base, base + 1]);
    expect(all(30)).toEqual([base + 1, base + 2]);
  });

  it('rejects absurd prefixes', () => {
    expect(codeOf(() => poolAddressesForUnit(base, 7, 0))).toBe('BAD_POOL');
    expect(codeOf(() => new AddressPool(base, 33))).toBe('BAD_POOL');
  });

  it('AddressPool hands out exactly the unit\'s addresses, each once, then null', () => {
    const pool = new AddressPool(base, 16);
    for (const u of [0, 1, 512, 1023]) {
      const expected = poolAddressesForUnit(base, 16, u);
      expect(pool.freeCount(u)).toBe(expected.length);
      const got: number[] = [];
      for (let a = pool.allocate(u); a !== null; a = pool.allocate(u)) {
        expect(pool.inUse(a)).toBe(true);
        got.push(a);
      }
      expect(got.sort((x, y) => x - y)).toEqual(expected);
      expect(pool.freeCount(u)).toBe(0);
    }
  });

  it('release returns an address for reuse; releasing a stranger is a no-op', () => {
    const pool = new AddressPool(base, 16);
    const a = pool.allocate(300)!;
    expect(pool.release(a)).toBe(true);
    expect(pool.inUse(a)).toBe(false);
    expect(pool.release(a)).toBe(false);
    expect(pool.release(parseIpv4('8.8.8.8'))).toBe(false);
    expect(pool.freeCount(300)).toBe(poolAddressesForUnit(base, 16, 300).length);
  });

  it('a /24 leaves most units empty: allocate returns null, not a foreign address', () => {
    const pool = new AddressPool(parseIpv4('10.9.8.0'), 24);
    let empty = 0;
    for (let u = 0; u < UNIT_COUNT; u++) {
      const a = pool.allocate(u);
      if (a === null) empty++;
      else expect(unitOfAddress(a)).toBe(u);
    }
    expect(empty).toBeGreaterThan(600);
  });

  it('never hands out an address twice or of the wrong unit under random allocate/release', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('alloc' as const), unit: fc.integer({ min: 0, max: 7 }) }),
      fc.record({ kind: fc.constant('release' as const), pick: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
        // A /18 gives ~16 addresses per unit, so units 0..7 run dry and refill.
        const pool = new AddressPool(base, 18);
        const held: number[] = [];
        for (const o of ops) {
          if (o.kind === 'alloc') {
            const a = pool.allocate(o.unit);
            if (a === null) {
              expect(pool.freeCount(o.unit)).toBe(0);
              continue;
            }
            expect(unitOfAddress(a)).toBe(o.unit);
            expect(held).not.toContain(a);
            held.push(a);
          } else if (held.length > 0) {
            const [a] = held.splice(o.pick % held.length, 1);
            expect(pool.release(a!)).toBe(true);
          }
        }
        for (const a of held) expect(pool.inUse(a)).toBe(true);
      }),
      { seed: 31, numRuns: 200 },
    );
  });
});
