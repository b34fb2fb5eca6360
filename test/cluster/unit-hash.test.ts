import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UNIT_COUNT } from '../../src/cluster/types.js';
import { fmix32, unitOfAddress, unitOfAddressPair, unitOfAddressPort } from '../../src/cluster/unit-hash.js';
import { parseIpv4 } from '../../src/lib/ipv4.js';
import { SeededRandom } from '../../src/lib/random.js';

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const port = fc.integer({ min: 0, max: 0xffff });

function chiSquare(counts: number[], total: number): number {
  const expected = total / counts.length;
  let chi = 0;
  for (const c of counts) chi += ((c - expected) * (c - expected)) / expected;
  return chi;
}

describe('fmix32', () => {
  it('matches murmur3 reference values', () => {
    expect(fmix32(0)).toBe(0);
    expect(fmix32(1)).toBe(0x514e28b7);
    expect(fmix32(0xffffffff)).toBe(0x81f16f39);
  });
});

describe('unit hash', () => {
  it('always yields an integer unit 0..1023', () => {
    fc.assert(
      fc.property(u32, u32, port, (a, b, p) => {
        for (const u of [unitOfAddress(a), unitOfAddressPort(a, p), unitOfAddressPair(a, b)]) {
          expect(Number.isInteger(u)).toBe(true);
          expect(u).toBeGreaterThanOrEqual(0);
          expect(u).toBeLessThan(UNIT_COUNT);
        }
      }),
      { seed: 1, numRuns: 2000 },
    );
  });

  it('treats a signed int32 view of an address like the unsigned value', () => {
    fc.assert(
      fc.property(u32, u32, port, (a, b, p) => {
        expect(unitOfAddress(a | 0)).toBe(unitOfAddress(a));
        expect(unitOfAddressPort(a | 0, p)).toBe(unitOfAddressPort(a, p));
        expect(unitOfAddressPair(a | 0, b | 0)).toBe(unitOfAddressPair(a, b));
      }),
      { seed: 2, numRuns: 500 },
    );
  });

  it('is pinned: changing it would reshuffle sessions in a mixed-version cluster', () => {
    const a = parseIpv4('198.51.100.7');
    const b = parseIpv4('192.0.2.10');
    expect([unitOfAddress(a), unitOfAddressPort(a, 500), unitOfAddressPair(a, b)]).toEqual([218, 425, 76]);
  });

  it('orders address pairs: (src, dst) and (dst, src) are different keys', () => {
    const rng = new SeededRandom(3);
    let same = 0;
    for (let i = 0; i < 10_000; i++) {
      const a = rng.u32();
      const b = rng.u32();
      if (unitOfAddressPair(a, b) === unitOfAddressPair(b, a)) same++;
    }
    // A random coincidence rate is 1/1024, about 10 of 10,000.
    expect(same).toBeLessThan(40);
  });

  it('spreads structured addresses that XOR-and-mask would pile up', () => {
    // Every 10.a.b.1 gateway shares its low 8 bits; (addr & 1023) puts 4096 of them in 4 units.
    const counts = new Array<number>(UNIT_COUNT).fill(0);
    let distinct = 0;
    for (let a = 0; a < 16; a++) {
      for (let b = 0; b < 256; b++) {
        const u = unitOfAddress(((10 << 24) | (a << 16) | (b << 8) | 1) >>> 0);
        if (counts[u] === 0) distinct++;
        counts[u] = (counts[u] ?? 0) + 1;
      }
    }
    expect(distinct).toBeGreaterThan(900);
    expect(chiSquare(counts, 4096)).toBeLessThan(1023 + 6 * Math.sqrt(2 * 1023));
  });

  it('spreads one address over sequential ports, and a /16 over one port', () => {
    const nat = parseIpv4('203.0.113.1');
    const byPort = new Array<number>(UNIT_COUNT).fill(0);
    for (let p = 0; p < 65536; p++) byPort[unitOfAddressPort(nat, p)]! += 1;
    expect(chiSquare(byPort, 65536)).toBeLessThan(1023 + 6 * Math.sqrt(2 * 1023));
    const byAddr = new Array<number>(UNIT_COUNT).fill(0);
    const base = parseIpv4('100.64.0.0');
    for (let i = 0; i < 65536; i++) byAddr[unitOfAddressPort(base + i, 1701)]! += 1;
    expect(chiSquare(byAddr, 65536)).toBeLessThan(1023 + 6 * Math.sqrt(2 * 1023));
  });

  it('avalanches: each input bit flips each unit bit about half the time', () => {
    const rng = new SeededRandom(4);
    const samples = 2000;
    const flips = (f: (x: number) => number, bits: number): number[] => {
      const worst: number[] = [];
      for (let bit = 0; bit < bits; bit++) {
        const perOut = new Array<number>(10).fill(0);
        for (let i = 0; i < samples; i++) {
          const x = bits === 32 ? rng.u32() : rng.u32() & 0xffff;
          const d = f(x) ^ f((x ^ (1 << bit)) >>> 0);
          for (let o = 0; o < 10; o++) if ((d >>> o) & 1) perOut[o]! += 1;
        }
        worst.push(Math.max(...perOut.map((c) => Math.abs(c / samples - 0.5))));
      }
      return worst;
    };
    const addr = parseIpv4('198.51.100.7');
    for (const bias of [
      ...flips(unitOfAddress, 32),
      ...flips((a) => unitOfAddressPort(a, 4500), 32),
      ...flips((p) => unitOfAddressPort(addr, p), 16),
      ...flips((b) => unitOfAddressPair(addr, b), 32),
    ]) {
      expect(bias).toBeLessThan(0.06);
    }
  });
});
