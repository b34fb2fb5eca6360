import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { signBytes, verifyBytes } from '../../../src/cluster/auth/signing.js';
import { ShoalError } from '../../../src/lib/errors.js';
import { issueMember, standardFixtures } from '../../support/pki.js';
import type { StandardFixtures, TestKeyType, TestMember } from '../../support/pki.js';

let fx: StandardFixtures;
const byType = new Map<TestKeyType, TestMember>();
beforeAll(async () => {
  fx = await standardFixtures();
  for (const t of ['ec-p256', 'ec-p384', 'rsa'] as const) {
    byType.set(t, await issueMember(fx.ca, { cn: `signer-${t}`, ip: '10.0.0.1', keyType: t }));
  }
});

function member(t: TestKeyType): TestMember {
  const m = byType.get(t);
  if (m === undefined) throw new Error(`no ${t} fixture`);
  return m;
}

const data = new TextEncoder().encode('JOIN_REQUEST from 198.18.0.1');

describe.each(['ec-p256', 'ec-p384', 'rsa'] as const)('signBytes / verifyBytes with %s', (t) => {
  it('verifies its own signature with the certificate key', () => {
    const m = member(t);
    const sig = signBytes(m.privateKey, data);
    expect(verifyBytes(m.publicKey, data, sig)).toBe(true);
  });

  it('refuses altered data, an altered signature, another key', () => {
    const m = member(t);
    const sig = signBytes(m.privateKey, data);
    const otherData = Uint8Array.from(data);
    otherData[0] = (otherData[0] ?? 0) ^ 1;
    expect(verifyBytes(m.publicKey, otherData, sig)).toBe(false);
    const badSig = Uint8Array.from(sig);
    badSig[badSig.length - 1] = (badSig[badSig.length - 1] ?? 0) ^ 1;
    expect(verifyBytes(m.publicKey, data, badSig)).toBe(false);
    const other = fx.members[1];
    if (other === undefined) throw new Error('fixture');
    expect(verifyBytes(other.publicKey, data, sig)).toBe(false);
  });
});

describe('signing details', () => {
  it('RSA signatures are deterministic (PKCS#1 v1.5) and modulus-sized', () => {
    const m = member('rsa');
    const a = signBytes(m.privateKey, data);
    expect(a).toEqual(signBytes(m.privateKey, data));
    expect(a.length).toBe(256);
  });

  it('ECDSA signatures are DER SEQUENCEs', () => {
    expect(signBytes(member('ec-p256').privateKey, data)[0]).toBe(0x30);
    expect(signBytes(member('ec-p384').privateKey, data)[0]).toBe(0x30);
  });

  it('signs the empty message', () => {
    const m = member('ec-p256');
    expect(verifyBytes(m.publicKey, new Uint8Array(), signBytes(m.privateKey, new Uint8Array()))).toBe(true);
  });

  it('refuses to sign with keys members may not use', () => {
    const ed = generateKeyPairSync('ed25519');
    expect(() => signBytes(ed.privateKey, data)).toThrow(ShoalError);
    expect(() => signBytes(member('ec-p256').publicKey, data)).toThrow(ShoalError);
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
    expect(() => signBytes(small.privateKey, data)).toThrow(ShoalError);
    // ...and verifies nothing under them.
    expect(verifyBytes(ed.publicKey, data, new Uint8Array(64))).toBe(false);
  });

  it('verifyBytes never throws on garbage signatures', () => {
    const keys = [member('ec-p256').publicKey, member('ec-p384').publicKey, member('rsa').publicKey];
    fc.assert(
      fc.property(fc.constantFrom(...keys), fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 64 }), (key, sig, msg) => {
        expect(verifyBytes(key, msg, sig)).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});
