import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  concat,
  deriveChildSaKeys,
  deriveIkeSaKeys,
  espKeyMaterialLength,
  ikeSaKeyLengths,
  rekeyedSkeyseed,
  skeyseed,
} from '../../../../src/apps/ipsec/crypto/keys.js';
import { prf, prfPlus } from '../../../../src/apps/ipsec/crypto/prf.js';
import { parseIkeSuite } from '../../../../src/apps/ipsec/crypto/transforms.js';
import type { IkeSuite } from '../../../../src/apps/ipsec/crypto/transforms.js';
import { SeededRandom } from '../../../../src/lib/random.js';
import { hex, toHex } from './helpers.js';
import { ALL_SUITE_NAMES } from './suites.js';

function suite(name: string): IkeSuite {
  const s = parseIkeSuite(name);
  if (!s.ok) throw s.error;
  return s.value;
}

function stream(s: IkeSuite, key: Uint8Array, seed: Uint8Array, length: number): Uint8Array {
  const out = prfPlus(s.prf, key, seed, length);
  if (!out.ok) throw out.error;
  return out.value;
}

const rng = new SeededRandom(2296);
const ni = rng.bytes(32);
const nr = rng.bytes(32);
const spiI = rng.bytes(8);
const spiR = rng.bytes(8);
const gir = rng.bytes(32);

describe('SKEYSEED', () => {
  it('is prf(Ni | Nr, g^ir)', () => {
    const s = suite('aes256gcm16-prfsha256-ecp256');
    expect(skeyseed(s.prf, ni, nr, gir)).toEqual(prf(s.prf, concat(ni, nr), gir));
  });

  it('for a rekeyed IKE SA is prf(SK_d (old), g^ir (new) | Ni | Nr)', () => {
    const s = suite('aes256-sha384-modp2048');
    const oldSkD = rng.bytes(48);
    expect(rekeyedSkeyseed(s.prf, oldSkD, gir, ni, nr)).toEqual(prf(s.prf, oldSkD, concat(gir, ni, nr)));
  });
});

// A NIST CAVS IKEv2 KDF sample (PRF-HMAC-SHA-256), as carried in NSS's gtests (ike_sha256_vectors.h, cases 6-8).
const CAVS = {
  gir: '0f4d257d7a58fc4545c7d7a88119eee5d5c9690c5b4c989171d3abbfd99d1d29',
  girNew: '25f3b12d6f282739256e39bf54eda53b60ffcf379bb7bcc90c27b4c4c578616c',
  ni: '3f302be1abcb28e1',
  nr: '8c332ee006064c9b',
  spiI: '40dac39e1e1a8640',
  spiR: '8619a1cf9a6e4c07',
  skeyseed: '5f00d1bd2c58ec224b1e6b71fa0f19a1faa7a193952c444411b47c1a9d8ba6fe',
  dkm:
    '0b137d669b0947d7d026d593f0305ad401ff0c471357d695778a9c7f4b4869ece98aca531' +
    '188d16041b3bb936d2dbb3b4993a6e768a809160de45d0283f273a6cdf6854379e31be72b' +
    '8d3d1fa990cf9c5b015ca9f918a7df6253c958114a09d4e1c19bdcd4db14b29d98db1a74a' +
    'd405c588662c14a04d0d36aa4ab55e90f8986d12d4aad',
  rekeyedSkeyseed: '2d63f6debc92048b4fef3889c4c99ca67d6496e0fac14a2bca9a2d6566ff2398',
};

describe('NIST CAVS IKEv2 KDF sample (SHA-256)', () => {
  it('SKEYSEED, 132 bytes of DKM, and the rekeyed SKEYSEED from its SK_d', () => {
    const s = suite('aes256-sha256-modp2048');
    const seed = skeyseed(s.prf, hex(CAVS.ni), hex(CAVS.nr), hex(CAVS.gir));
    expect(toHex(seed)).toBe(CAVS.skeyseed);
    const dkm = stream(s, seed, concat(hex(CAVS.ni), hex(CAVS.nr), hex(CAVS.spiI), hex(CAVS.spiR)), 132);
    expect(toHex(dkm)).toBe(CAVS.dkm);
    const keys = deriveIkeSaKeys(s, seed, hex(CAVS.ni), hex(CAVS.nr), hex(CAVS.spiI), hex(CAVS.spiR));
    if (!keys.ok) throw keys.error;
    expect(toHex(keys.value.skD)).toBe(CAVS.dkm.slice(0, 64));
    expect(toHex(rekeyedSkeyseed(s.prf, keys.value.skD, hex(CAVS.girNew), hex(CAVS.ni), hex(CAVS.nr)))).toBe(CAVS.rekeyedSkeyseed);
  });
});

describe('IKE SA keys', () => {
  for (const name of ALL_SUITE_NAMES) {
    it(`${name}: seven keys of the right sizes, taken in order from prf+`, () => {
      const s = suite(name);
      const seed = skeyseed(s.prf, ni, nr, gir);
      const keys = deriveIkeSaKeys(s, seed, ni, nr, spiI, spiR);
      if (!keys.ok) throw keys.error;
      const k = keys.value;
      const len = ikeSaKeyLengths(s);
      expect(len.d).toBe(s.prf.outputLength);
      expect(len.p).toBe(s.prf.outputLength);
      expect(len.a).toBe(s.integrity === null ? 0 : s.integrity.keyLength);
      expect(len.e).toBe(s.encryption.keyLength + (s.encryption.kind === 'aead' ? 4 : 0));
      const all = concat(k.skD, k.skAi, k.skAr, k.skEi, k.skEr, k.skPi, k.skPr);
      expect([k.skD, k.skAi, k.skAr, k.skEi, k.skEr, k.skPi, k.skPr].map((x) => x.length)).toEqual([len.d, len.a, len.a, len.e, len.e, len.p, len.p]);
      expect(all).toEqual(stream(s, seed, concat(ni, nr, spiI, spiR), all.length));
    });
  }

  it('refuses SPIs that are not 8 bytes', () => {
    const s = suite('aes128gcm16-prfsha256-x25519');
    const r = deriveIkeSaKeys(s, new Uint8Array(32), ni, nr, new Uint8Array(4), spiR);
    expect(r.ok).toBe(false);
  });
});

describe('child SA KEYMAT', () => {
  for (const name of ALL_SUITE_NAMES) {
    it(`${name}: i→r before r→i, encryption key (then salt) before integrity key`, () => {
      const s = suite(name);
      const skD = rng.bytes(s.prf.outputLength);
      const keys = deriveChildSaKeys(s.prf, skD, s, ni, nr);
      if (!keys.ok) throw keys.error;
      const per = espKeyMaterialLength(s);
      const keymat = stream(s, skD, concat(ni, nr), 2 * per);
      const saltLength = s.encryption.kind === 'aead' ? s.encryption.saltLength : 0;
      const integLength = s.integrity === null ? 0 : s.integrity.keyLength;
      for (const [index, sa] of [keys.value.initiatorToResponder, keys.value.responderToInitiator].entries()) {
        expect(sa.encryptionKey).toHaveLength(s.encryption.keyLength);
        expect(sa.salt).toHaveLength(saltLength);
        expect(sa.integrityKey).toHaveLength(integLength);
        expect(concat(sa.encryptionKey, sa.salt, sa.integrityKey)).toEqual(keymat.subarray(index * per, (index + 1) * per));
      }
    });
  }

  it('with PFS uses prf+(SK_d, g^ir (new) | Ni | Nr)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ALL_SUITE_NAMES), fc.uint8Array({ minLength: 32, maxLength: 256 }), (name, newGir) => {
        const s = suite(name);
        const skD = new Uint8Array(s.prf.outputLength).fill(7);
        const pfs = deriveChildSaKeys(s.prf, skD, s, ni, nr, newGir);
        const plain = deriveChildSaKeys(s.prf, skD, s, ni, nr);
        if (!pfs.ok || !plain.ok) throw new Error('derivation failed');
        const i2r = pfs.value.initiatorToResponder;
        const expected = stream(s, skD, concat(newGir, ni, nr), espKeyMaterialLength(s));
        expect(concat(i2r.encryptionKey, i2r.salt, i2r.integrityKey)).toEqual(expected);
        expect(i2r.encryptionKey).not.toEqual(plain.value.initiatorToResponder.encryptionKey);
      }),
      { numRuns: 40 },
    );
  });
});
