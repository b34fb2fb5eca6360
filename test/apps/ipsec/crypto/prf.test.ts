import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PRF_PLUS_MAX_BLOCKS, hmac, prf, prfPlus, prfPlusMaxLength } from '../../../../src/apps/ipsec/crypto/prf.js';
import { SUPPORTED_INTEGRITIES, SUPPORTED_PRFS, prfTransform, PrfId } from '../../../../src/apps/ipsec/crypto/transforms.js';
import type { PrfTransform } from '../../../../src/apps/ipsec/crypto/transforms.js';
import { hex, toHex } from './helpers.js';
import { RFC4868_VECTORS } from './rfc4868-vectors.js';

function prfFor(hash: 'sha256' | 'sha384' | 'sha512'): PrfTransform {
  const found = SUPPORTED_PRFS.find((p) => p.hash === hash);
  if (found === undefined) throw new Error(hash);
  return found;
}

describe('prf: RFC 4868 §2.7 test vectors', () => {
  for (const v of RFC4868_VECTORS) {
    for (const hash of ['sha256', 'sha384', 'sha512'] as const) {
      const expected = v.prf[hash];
      if (expected === undefined) continue;
      it(`${v.name} PRF-HMAC-${hash.toUpperCase()}`, () => {
        expect(toHex(prf(prfFor(hash), hex(v.key), hex(v.data)))).toBe(expected);
      });
    }
    const truncated = v.truncated;
    if (truncated !== undefined) {
      it(`${v.name} truncated ICV`, () => {
        const hash = v.name.startsWith('AUTH256') ? 'sha256' : v.name.startsWith('AUTH384') ? 'sha384' : 'sha512';
        const integ = SUPPORTED_INTEGRITIES.find((i) => i.hash === hash);
        if (integ === undefined) throw new Error(hash);
        expect(truncated.length / 2).toBe(integ.icvLength);
        expect(toHex(hmac(hash, hex(v.key), hex(v.data)).subarray(0, integ.icvLength))).toBe(truncated);
      });
    }
  }

  it('takes its input in pieces as one concatenation', () => {
    const alg = prfFor('sha256');
    expect(prf(alg, hex('0102'), hex('aa'), hex('bbcc'))).toEqual(prf(alg, hex('0102'), hex('aabbcc')));
  });
});

/** prf+ written out as RFC 7296 §2.13 states it, block by block. */
function referencePrfPlus(alg: PrfTransform, key: Uint8Array, seed: Uint8Array, length: number): Uint8Array {
  const blocks: Buffer[] = [];
  let t = Buffer.alloc(0);
  for (let n = 1; Buffer.concat(blocks).length < length; n++) {
    t = createHmac(alg.hash, key).update(Buffer.concat([t, seed, Buffer.of(n)])).digest();
    blocks.push(t);
  }
  return new Uint8Array(Buffer.concat(blocks).subarray(0, length));
}

describe('prf+', () => {
  it('matches the block-by-block reference for every PRF and length', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...SUPPORTED_PRFS),
        fc.uint8Array({ maxLength: 80 }),
        fc.uint8Array({ maxLength: 120 }),
        fc.integer({ min: 0, max: 700 }),
        (alg, key, seed, length) => {
          const out = prfPlus(alg, key, seed, length);
          expect(out.ok).toBe(true);
          if (out.ok) expect(toHex(out.value)).toBe(toHex(referencePrfPlus(alg, key, seed, length)));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('is a prefix-stable stream: a shorter request is a prefix of a longer one', () => {
    const alg = prfFor('sha384');
    const long = prfPlus(alg, hex('00'), hex('11'), 500);
    const short = prfPlus(alg, hex('00'), hex('11'), 77);
    if (!long.ok || !short.ok) throw new Error('prf+ failed');
    expect(long.value.subarray(0, 77)).toEqual(short.value);
  });

  it('gives up to 255 blocks and refuses more with a typed error', () => {
    for (const alg of SUPPORTED_PRFS) {
      expect(prfPlusMaxLength(alg)).toBe(PRF_PLUS_MAX_BLOCKS * alg.outputLength);
      const max = prfPlus(alg, hex('01'), hex('02'), prfPlusMaxLength(alg));
      expect(max.ok && max.value.length).toBe(255 * alg.outputLength);
      const over = prfPlus(alg, hex('01'), hex('02'), prfPlusMaxLength(alg) + 1);
      expect(over.ok).toBe(false);
      if (!over.ok) expect(over.error.reason).toBe('prf-plus-too-long');
    }
    const negative = prfPlus(prfFor('sha256'), hex('01'), hex('02'), -1);
    expect(negative.ok).toBe(false);
  });

  it('looks PRFs up by IANA ID', () => {
    expect(prfTransform(PrfId.HMAC_SHA2_512)?.outputLength).toBe(64);
    expect(prfTransform(2)).toBeUndefined();
  });
});
