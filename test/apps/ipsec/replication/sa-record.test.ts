import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AddressPool, poolAddressesForUnit } from '../../../../src/cluster/session-id.js';
import { parseIkeSuite, protectionSuite, encryptionTransform, integrityTransform } from '../../../../src/apps/ipsec/crypto/transforms.js';
import { decodeSaSnapshot, encodeSaSnapshot, type SaSnapshot } from '../../../../src/apps/ipsec/replication/sa-record.js';
import { SeededRandom } from '../../../../src/lib/random.js';

const rng = new SeededRandom(11);
const bytes = (n: number): Uint8Array => rng.bytes(n);

function snapshot(): SaSnapshot {
  const suite = parseIkeSuite('aes256-sha256-modp2048');
  if (!suite.ok) throw suite.error;
  const gcm = protectionSuite(encryptionTransform(20, 256)!, null);
  const cbc = protectionSuite(encryptionTransform(12, 128)!, integrityTransform(12)!);
  if (!gcm.ok || !cbc.ok) throw new Error('suite');
  const esp = (withIntegrity: boolean) => ({ encryptionKey: bytes(withIntegrity ? 16 : 32), salt: bytes(withIntegrity ? 0 : 4), integrityKey: bytes(withIntegrity ? 32 : 0) });
  return {
    halfOpen: false,
    initRequest: new Uint8Array(0),
    initResponse: new Uint8Array(0),
    initKey: 'a1b2c3d4e5f60718/3323072522:500',
    unit: 517,
    spiI: bytes(8),
    spiR: bytes(8),
    suite: suite.value,
    keys: { skD: bytes(32), skAi: bytes(32), skAr: bytes(32), skEi: bytes(32), skEr: bytes(32), skPi: bytes(32), skPr: bytes(32) },
    nonceI: bytes(32),
    nonceR: bytes(32),
    peerIp: 0xc6121002,
    peerPort: 4500,
    localPort: 4500,
    natPeer: true,
    natSelf: false,
    fragmentation: true,
    peerSignatureHashes: [2, 3, 4],
    peerId: { idType: 2, data: new Uint8Array(Buffer.from('client1.shoal.test')) },
    peerName: 'fqdn:client1.shoal.test',
    virtualAddress: 0xc6130b19,
    nextRequestId: 6,
    ourNextId: 2,
    lastResponse: { messageId: 5, datagrams: [bytes(80), bytes(1200)] },
    ageMs: 12_345,
    children: [
      {
        spiIn: 0x41111ca4,
        spiOut: 0xa193a546,
        protection: gcm.value,
        esn: false,
        dhGroup: 0,
        i2r: esp(false),
        r2i: esp(false),
        tsi: [{ family: 'ipv4', protocol: 0, startPort: 0, endPort: 65535, start: 0xc6130b19, end: 0xc6130b19 }],
        tsr: [{ family: 'ipv4', protocol: 0, startPort: 0, endPort: 65535, start: 0xc6120200, end: 0xc61202ff }],
        outSequence: 1000,
        outRate: 250,
        inHighest: 998,
        ageMs: 500,
      },
      {
        spiIn: 0x0befcca4,
        spiOut: 0xde216532,
        protection: cbc.value,
        esn: true,
        dhGroup: 31,
        i2r: esp(true),
        r2i: esp(true),
        tsi: [],
        tsr: [],
        outSequence: 2 ** 40,
        outRate: 0,
        inHighest: 2 ** 33,
        ageMs: 0,
      },
    ],
  };
}

describe('IKE SA replication record', () => {
  it('round-trips every essential field', () => {
    const s = snapshot();
    const d = decodeSaSnapshot(encodeSaSnapshot(s));
    expect(d.ok).toBe(true);
    if (!d.ok) return;
    expect(d.value).toEqual(s);
  });

  it('round-trips a half-open SA with the IKE_SA_INIT pair both AUTH payloads sign', () => {
    const s = { ...snapshot(), halfOpen: true, initRequest: bytes(264), initResponse: bytes(279), children: [], virtualAddress: null, nextRequestId: 1, lastResponse: null };
    const d = decodeSaSnapshot(encodeSaSnapshot(s));
    expect(d.ok && d.value).toEqual(s);
  });

  it('rejects truncated, extended and random records with a typed error', () => {
    const good = encodeSaSnapshot(snapshot());
    for (let i = 0; i < good.length; i += 7) expect(decodeSaSnapshot(good.subarray(0, i)).ok).toBe(false);
    expect(decodeSaSnapshot(Uint8Array.of(...good, 1)).ok).toBe(false);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), (junk) => {
      expect(typeof decodeSaSnapshot(junk).ok).toBe('boolean');
    }));
  });
});

describe('AddressPool.claim', () => {
  it('takes a specific free address of its unit once, and allocate never hands it out again', () => {
    const pool = new AddressPool(0xc6130000, 16);
    const unit = 77;
    const addrs = poolAddressesForUnit(0xc6130000, 16, unit);
    const target = addrs[5]!;
    expect(pool.claim(target)).toBe(true);
    expect(pool.claim(target)).toBe(false);
    expect(pool.claim(0x0a000001)).toBe(false);
    const handed = new Set<number>();
    for (let a = pool.allocate(unit); a !== null; a = pool.allocate(unit)) handed.add(a);
    expect(handed.has(target)).toBe(false);
    expect(handed.size).toBe(addrs.length - 1);
    expect(pool.release(target)).toBe(true);
    expect(pool.allocate(unit)).toBe(target);
  });
});
