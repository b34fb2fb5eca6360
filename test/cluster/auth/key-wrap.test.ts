import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { newClusterKey } from '../../../src/cluster/auth/cluster-key.js';
import { unwrapKey, wrapKey } from '../../../src/cluster/auth/key-wrap.js';
import { ShoalError } from '../../../src/lib/errors.js';
import { SeededRandom } from '../../../src/lib/random.js';
import { issueMember, standardFixtures } from '../../support/pki.js';
import type { TestKeyType, TestMember } from '../../support/pki.js';

const TYPES = ['ec-p256', 'ec-p384', 'rsa'] as const;
/** Two members per key type: a recipient and a bystander whose key must not open the wrap. */
const members = new Map<TestKeyType, [TestMember, TestMember]>();

beforeAll(async () => {
  const fx = await standardFixtures();
  for (const t of TYPES) {
    const a = await issueMember(fx.ca, { cn: `a-${t}`, ip: '10.0.0.1', keyType: t });
    const b = await issueMember(fx.ca, { cn: `b-${t}`, ip: '10.0.0.2', keyType: t });
    members.set(t, [a, b]);
  }
});

function pair(t: TestKeyType): [TestMember, TestMember] {
  const p = members.get(t);
  if (p === undefined) throw new Error(`no ${t} fixture`);
  return p;
}

const EXPECTED_LENGTH = { 'ec-p256': 1 + 1 + 65 + 32 + 16, 'ec-p384': 1 + 1 + 97 + 32 + 16, rsa: 1 + 256 } as const;

describe.each(TYPES)('wrapKey / unwrapKey with %s', (t) => {
  it('round-trips the cluster key, with the documented length', () => {
    const [a] = pair(t);
    const rng = new SeededRandom(1);
    const { key } = newClusterKey(rng, 1);
    const wrapped = wrapKey(key, a.publicKey, rng);
    expect(wrapped).toHaveLength(EXPECTED_LENGTH[t]);
    expect(unwrapKey(wrapped, a.privateKey)).toEqual(key);
  });

  it('unwraps from a view into a larger buffer', () => {
    const [a] = pair(t);
    const rng = new SeededRandom(6);
    const { key } = newClusterKey(rng, 1);
    const wrapped = wrapKey(key, a.publicKey, rng);
    const frame = new Uint8Array(wrapped.length + 9).fill(0x55);
    frame.set(wrapped, 5);
    expect(unwrapKey(frame.subarray(5, 5 + wrapped.length), a.privateKey)).toEqual(key);
  });

  it('another member cannot unwrap it', () => {
    const [a, b] = pair(t);
    const rng = new SeededRandom(2);
    const wrapped = wrapKey(newClusterKey(rng, 1).key, a.publicKey, rng);
    expect(unwrapKey(wrapped, b.privateKey)).toBeNull();
  });

  it('any truncation, extension or single flipped bit gives null', () => {
    const [a] = pair(t);
    const rng = new SeededRandom(3);
    const wrapped = wrapKey(newClusterKey(rng, 1).key, a.publicKey, rng);
    expect(unwrapKey(wrapped.subarray(0, wrapped.length - 1), a.privateKey)).toBeNull();
    expect(unwrapKey(Uint8Array.from([...wrapped, 0]), a.privateKey)).toBeNull();
    expect(unwrapKey(new Uint8Array(0), a.privateKey)).toBeNull();
    fc.assert(
      fc.property(fc.nat(wrapped.length * 8 - 1), (bit) => {
        const flipped = Uint8Array.from(wrapped);
        flipped[bit >> 3] = (flipped[bit >> 3] ?? 0) ^ (1 << (bit & 7));
        expect(unwrapKey(flipped, a.privateKey)).toBeNull();
      }),
      { numRuns: t === 'rsa' ? 100 : 300 },
    );
  });

  it('never throws on random bytes', () => {
    const [a] = pair(t);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.constantFrom(0x01, 0x02), (bytes, version) => {
        const withVersion = Uint8Array.from([version, ...bytes]);
        expect(unwrapKey(bytes, a.privateKey)).toBeNull();
        expect(unwrapKey(withVersion, a.privateKey)).toBeNull();
      }),
      { numRuns: 200 },
    );
  });
});

describe('key wrap details', () => {
  it('EC wraps are reproducible from the seeded source (the ephemeral key comes from it)', () => {
    const [a] = pair('ec-p256');
    const key = newClusterKey(new SeededRandom(9), 1).key;
    const w1 = wrapKey(key, a.publicKey, new SeededRandom(10));
    const w2 = wrapKey(key, a.publicKey, new SeededRandom(10));
    const w3 = wrapKey(key, a.publicKey, new SeededRandom(11));
    expect(w1).toEqual(w2);
    expect(w1).not.toEqual(w3);
  });

  it('refuses a key of the wrong length or an unsupported recipient', () => {
    const [a] = pair('ec-p256');
    const rng = new SeededRandom(4);
    expect(() => wrapKey(new Uint8Array(16), a.publicKey, rng)).toThrow(ShoalError);
    const ed = generateKeyPairSync('ed25519');
    expect(() => wrapKey(new Uint8Array(32), ed.publicKey, rng)).toThrow(ShoalError);
    const p521 = generateKeyPairSync('ec', { namedCurve: 'secp521r1' });
    expect(() => wrapKey(new Uint8Array(32), p521.publicKey, rng)).toThrow(ShoalError);
  });

  it('gives null for a public key, a key of the other scheme, or a foreign curve', () => {
    const [ec] = pair('ec-p256');
    const [rsa] = pair('rsa');
    const [p384] = pair('ec-p384');
    const rng = new SeededRandom(5);
    const key = newClusterKey(rng, 1).key;
    const toEc = wrapKey(key, ec.publicKey, rng);
    const toRsa = wrapKey(key, rsa.publicKey, rng);
    expect(unwrapKey(toEc, ec.publicKey)).toBeNull();
    expect(unwrapKey(toEc, rsa.privateKey)).toBeNull();
    expect(unwrapKey(toRsa, ec.privateKey)).toBeNull();
    expect(unwrapKey(toEc, p384.privateKey)).toBeNull();
  });
});
