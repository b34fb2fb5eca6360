import { getDiffieHellman } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createKeyExchange, keyExchangeFromPrivate } from '../../../../src/apps/ipsec/crypto/dh.js';
import type { KeyExchange } from '../../../../src/apps/ipsec/crypto/dh.js';
import { DhGroup, SUPPORTED_DH_GROUPS } from '../../../../src/apps/ipsec/crypto/transforms.js';
import { SeededRandom } from '../../../../src/lib/random.js';
import { FixedBytes, hex, toHex } from './helpers.js';

function unwrap<T>(r: { ok: true; value: T } | { ok: false; error: Error }): T {
  if (!r.ok) throw r.error;
  return r.value;
}

// RFC 5903 §8 (not in the shared RFC folder; values as published, cross-checked by the agreement below).
const P256 = {
  i: 'C88F01F510D9AC3F70A292DAA2316DE544E9AAB8AFE84049C62A9C57862D1433',
  gi: 'DAD0B65394221CF9B051E1FECA5787D098DFE637FC90B9EF945D0C3772581180' + '5271A0461CDB8252D61F1C456FA3E59AB1F45B33ACCF5F58389E0577B8990BB3',
  r: 'C6EF9C5D78AE012A011164ACB397CE2088685D8F06BF9BE0B283AB46476BEE53',
  gr: 'D12DFB5289C8D4F81208B70270398C342296970A0BCCB74C736FC7554494BF63' + '56FBF3CA366CC23E8157854C13C58D6AAC23F046ADA30F8353E74F33039872AB',
  girx: 'D6840F6B42F6EDAFD13116E0E12565202FEF8E9ECE7DCE03812464D04B9442DE',
};
const P384 = {
  i: '099F3C7034D4A2C699884D73A375A67F7624EF7C6B3C0F160647B67414DCE655E35B538041E649EE3FAEF896783AB194',
  gi:
    '667842D7D180AC2CDE6F74F37551F55755C7645C20EF73E31634FE72B4C55EE6DE3AC808ACB4BDB4C88732AEE95F41AA' +
    '9482ED1FC0EEB9CAFC4984625CCFC23F65032149E0E144ADA024181535A0F38EEB9FCFF3C2C947DAE69B4C634573A81C',
  r: '41CB0779B4BDB85D47846725FBEC3C9430FAB46CC8DC5060855CC9BDA0AA2942E0308312916B8ED2960E4BD55A7448FC',
  gr:
    'E558DBEF53EECDE3D3FCCFC1AEA08A89A987475D12FD950D83CFA41732BC509D0D1AC43A0336DEF96FDA41D0774A3571' +
    'DCFBEC7AACF3196472169E838430367F66EEBE3C6E70C416DD5F0C68759DD1FFF83FA40142209DFF5EAAD96DB9E6386C',
  girx: '11187331C279962D93D604243FD592CB9D0A926F422E47187521287E7156C5C4D603135569B9E9D09CF5D4A270F59746',
};
// RFC 7748 §6.1 (not in the shared RFC folder).
const X25519 = {
  alicePrivate: '77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a',
  alicePublic: '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a',
  bobPrivate: '5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb',
  bobPublic: 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f',
  shared: '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742',
};

describe('ECP groups 19 and 20: RFC 5903 §8 vectors', () => {
  for (const [group, v] of [
    [DhGroup.ECP_256, P256],
    [DhGroup.ECP_384, P384],
  ] as const) {
    it(`group ${group}: KE data is x | y without 0x04, g^ir is x only`, () => {
      const initiator = unwrap(createKeyExchange(group, new FixedBytes(hex(v.i))));
      const responder = unwrap(keyExchangeFromPrivate(group, hex(v.r)));
      expect(toHex(initiator.publicValue)).toBe(v.gi.toLowerCase());
      expect(toHex(responder.publicValue)).toBe(v.gr.toLowerCase());
      expect(toHex(unwrap(initiator.computeShared(responder.publicValue)))).toBe(v.girx.toLowerCase());
      expect(toHex(unwrap(responder.computeShared(initiator.publicValue)))).toBe(v.girx.toLowerCase());
    });

    it(`group ${group}: refuses wrong lengths, the 0x04-prefixed form and points off the curve`, () => {
      const kx = unwrap(keyExchangeFromPrivate(group, hex(v.i)));
      const peer = hex(v.gr);
      const offCurve = Uint8Array.from(peer);
      offCurve[offCurve.length - 1] = (offCurve[offCurve.length - 1] ?? 0) ^ 1;
      for (const bad of [peer.subarray(1), Uint8Array.of(4, ...peer), offCurve, new Uint8Array(peer.length)]) {
        const r = kx.computeShared(bad);
        expect(r.ok).toBe(false);
        if (!r.ok) expect(r.error.reason).toBe('bad-peer-public');
      }
    });
  }

  it('redraws a scalar the curve refuses (zero, not below the order) from the injected source', () => {
    const kx = unwrap(createKeyExchange(DhGroup.ECP_256, new FixedBytes(new Uint8Array(32), new Uint8Array(32).fill(0xff), hex(P256.i))));
    expect(toHex(kx.publicValue)).toBe(P256.gi.toLowerCase());
  });
});

describe('Curve25519, group 31', () => {
  it('RFC 7748 §6.1 vector, private keys through the injected source', () => {
    const alice = unwrap(createKeyExchange(DhGroup.CURVE25519, new FixedBytes(hex(X25519.alicePrivate))));
    const bob = unwrap(createKeyExchange(DhGroup.CURVE25519, new FixedBytes(hex(X25519.bobPrivate))));
    expect(toHex(alice.publicValue)).toBe(X25519.alicePublic);
    expect(toHex(bob.publicValue)).toBe(X25519.bobPublic);
    expect(toHex(unwrap(alice.computeShared(bob.publicValue)))).toBe(X25519.shared);
    expect(toHex(unwrap(bob.computeShared(alice.publicValue)))).toBe(X25519.shared);
  });

  it('masks the top bit of the peer value (RFC 8031 §3.2)', () => {
    const alice = unwrap(keyExchangeFromPrivate(DhGroup.CURVE25519, hex(X25519.alicePrivate)));
    const flagged = hex(X25519.bobPublic);
    flagged[31] = (flagged[31] ?? 0) | 0x80;
    expect(toHex(unwrap(alice.computeShared(flagged)))).toBe(X25519.shared);
  });

  it('refuses wrong lengths and small-order points (all-zero secret)', () => {
    const alice = unwrap(keyExchangeFromPrivate(DhGroup.CURVE25519, hex(X25519.alicePrivate)));
    expect(alice.computeShared(new Uint8Array(31)).ok).toBe(false);
    expect(alice.computeShared(new Uint8Array(33)).ok).toBe(false);
    const one = new Uint8Array(32);
    one[0] = 1;
    for (const smallOrder of [new Uint8Array(32), one]) {
      const r = alice.computeShared(smallOrder);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.reason).toBe('bad-shared-secret');
    }
  });
});

describe('MODP-2048, group 14', () => {
  const p = getDiffieHellman('modp14').getPrime();

  it('two parties agree; values are padded to the 256-byte prime', () => {
    const rng = new SeededRandom(14);
    const a = unwrap(createKeyExchange(DhGroup.MODP_2048, rng));
    const b = unwrap(createKeyExchange(DhGroup.MODP_2048, rng));
    expect(a.publicValue).toHaveLength(256);
    expect(b.publicValue).toHaveLength(256);
    const ab = unwrap(a.computeShared(b.publicValue));
    expect(ab).toHaveLength(256);
    expect(toHex(ab)).toBe(toHex(unwrap(b.computeShared(a.publicValue))));
  });

  it('uses the RFC 3526 prime and generator 2', () => {
    expect(p.toString('hex').startsWith('ffffffffffffffffc90fdaa22168c234')).toBe(true);
    expect(p.toString('hex').endsWith('ffffffffffffffff')).toBe(true);
    const small = unwrap(keyExchangeFromPrivate(DhGroup.MODP_2048, Uint8Array.of(10)));
    // 2^10 = 0x400, left-padded to the prime length.
    expect(toHex(small.publicValue)).toBe('00'.repeat(254) + '0400');
  });

  it('refuses y outside 1 < y < p-1 and wrong lengths', () => {
    const kx = unwrap(createKeyExchange(DhGroup.MODP_2048, new SeededRandom(1)));
    const pMinus1 = Uint8Array.from(p);
    pMinus1[255] = (pMinus1[255] ?? 0) - 1;
    const one = new Uint8Array(256);
    one[255] = 1;
    for (const bad of [new Uint8Array(256), one, pMinus1, Uint8Array.from(p), new Uint8Array(256).fill(0xff), new Uint8Array(255)]) {
      const r = kx.computeShared(bad);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.reason).toBe('bad-peer-public');
    }
  });
});

describe('every group', () => {
  it('is deterministic under a seeded source and agrees with itself', () => {
    for (const info of SUPPORTED_DH_GROUPS) {
      const make = (seed: number): KeyExchange => unwrap(createKeyExchange(info.group, new SeededRandom(seed)));
      expect(make(5).publicValue).toEqual(make(5).publicValue);
      const a = make(5);
      const b = make(6);
      expect(a.publicValue).toHaveLength(info.publicLength);
      const shared = unwrap(a.computeShared(b.publicValue));
      expect(shared).toHaveLength(info.sharedLength);
      expect(shared).toEqual(unwrap(b.computeShared(a.publicValue)));
    }
  });

  it('refuses an unknown group with a typed error', () => {
    const r = createKeyExchange(2, new SeededRandom(1));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.reason).toBe('bad-suite');
  });
});
