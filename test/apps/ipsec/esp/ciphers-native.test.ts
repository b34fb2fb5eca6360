/**
 * The espcrypto addon's transforms against the node:crypto ones: each seals
 * what the other opens, byte for byte the same output where the IV is
 * deterministic, and both refuse the same tampering. The addon is part of
 * the build (binding.gyp), so a missing one fails here rather than quietly
 * leaving the slow engine in the packet path.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { espCryptoAddon, NativeAeadTransform, NativeCbcHmacTransform } from '../../../../src/apps/ipsec/esp/ciphers-native.js';
import { createEspTransform, type EspTransform } from '../../../../src/apps/ipsec/esp/ciphers.js';
import { SeededRandom, type RandomSource } from '../../../../src/lib/random.js';
import { TRANSFORM_NAMES, transformSpec } from './support.js';

/** An ESP packet laid out for `t`: header, room for the IV, text of whole alignment units, room for the ICV. */
function blank(t: EspTransform, text: Uint8Array, seqLow: number): Uint8Array {
  const p = new Uint8Array(8 + t.ivLength + text.length + t.icvLength);
  new DataView(p.buffer).setUint32(0, 0x01020304);
  new DataView(p.buffer).setUint32(4, seqLow);
  p.set(text, 8 + t.ivLength);
  return p;
}

function hexOf(b: Uint8Array | null): string | null {
  return b === null ? null : Buffer.from(b).toString('hex');
}

function sameIv(seed: number): RandomSource {
  return new SeededRandom(seed);
}

const arbCase = fc.record({
  name: fc.constantFrom(...TRANSFORM_NAMES),
  blocks: fc.integer({ min: 1, max: 100 }),
  esn: fc.boolean(),
  seqHigh: fc.integer({ min: 0, max: 0xffffffff }),
  seqLow: fc.integer({ min: 0, max: 0xffffffff }),
  seed: fc.integer({ min: 1, max: 2 ** 31 }),
  ivTag: fc.integer({ min: 0, max: 0xffff }),
});

describe('ESP transforms: the addon and node:crypto agree', () => {
  it('the addon is built and is the default engine', () => {
    expect(espCryptoAddon()).not.toBeNull();
    const rng = new SeededRandom(3);
    expect(createEspTransform(transformSpec('aes-256-gcm-16', rng), rng)).toBeInstanceOf(NativeAeadTransform);
    expect(createEspTransform(transformSpec('aes-128-cbc/hmac-sha2-256-128', rng), rng)).toBeInstanceOf(NativeCbcHmacTransform);
    expect(createEspTransform(transformSpec('aes-256-gcm-16', rng), rng, 'node')).not.toBeInstanceOf(NativeAeadTransform);
  });

  it('same bytes sealed; each opens what the other sealed; a flipped bit is refused by both', () => {
    fc.assert(
      fc.property(arbCase, fc.nat(), ({ name, blocks, esn, seqHigh, seqLow, seed, ivTag }, flipAt) => {
        const keys = transformSpec(name, new SeededRandom(seed));
        const native = createEspTransform(keys, sameIv(seed), 'native', ivTag);
        const node = createEspTransform(keys, sameIv(seed), 'node', ivTag);
        const text = new SeededRandom(seed + 1).bytes(blocks * native.alignment);
        const a = blank(native, text, seqLow);
        const b = blank(node, text, seqLow);
        native.seal(a, seqHigh, seqLow, esn);
        node.seal(b, seqHigh, seqLow, esn);
        expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
        expect(hexOf(node.open(a, seqHigh, esn))).toBe(hexOf(text));
        expect(hexOf(native.open(b, seqHigh, esn))).toBe(hexOf(text));
        // a different ESN high half is a different ICV input
        if (esn) expect(native.open(a, (seqHigh + 1) >>> 0, esn)).toBeNull();
        const bad = a.slice();
        bad[flipAt % bad.length]! ^= 1 << (flipAt % 8);
        expect(native.open(bad, seqHigh, esn)).toBeNull();
        expect(node.open(bad, seqHigh, esn)).toBeNull();
      }),
      { numRuns: 300 },
    );
  });

  it('short or misaligned packets are refused without reaching the addon', () => {
    const rng = new SeededRandom(9);
    for (const name of TRANSFORM_NAMES) {
      const t = createEspTransform(transformSpec(name, rng), rng, 'native');
      for (let length = 0; length < 8 + t.ivLength + t.icvLength; length++) expect(t.open(new Uint8Array(length), 0, false)).toBeNull();
      if (t.alignment > 4) expect(t.open(new Uint8Array(8 + t.ivLength + 5 + t.icvLength), 0, false)).toBeNull();
    }
  });

  it('the addon checks its arguments: offsets that do not fit the packet are a TypeError, not memory', () => {
    const addon = espCryptoAddon()!;
    const rng = new SeededRandom(4);
    const gcm = createEspTransform(transformSpec('aes-128-gcm-16', rng), rng, 'native') as unknown as { handle: unknown };
    const seal = addon.seal as unknown as (...args: unknown[]) => void;
    expect(() => seal(gcm.handle, new Uint8Array(40), 16, 40, -1)).toThrow(TypeError);
    expect(() => seal(gcm.handle, new Uint8Array(40), 12, 24, -1)).toThrow(TypeError);
    expect(() => seal({}, new Uint8Array(40), 16, 24, -1)).toThrow(TypeError);
    expect(() => addon.createAead('aes-128-gcm', new Uint8Array(5), new Uint8Array(4))).toThrow(TypeError);
    expect(() => addon.createCbcHmac('aes-128-cbc', new Uint8Array(16), 'sha256', new Uint8Array(32), 64)).toThrow(TypeError);
  });
});
