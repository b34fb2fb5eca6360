import { describe, expect, it } from 'vitest';
import {
  espSuiteName,
  espTransformSpec,
  parseEspSuite,
  selectEspProposal,
  type EspSelection,
} from '../../../../../src/apps/ipsec/ike/negotiation/esp-proposal.js';
import { createEspTransform } from '../../../../../src/apps/ipsec/esp/ciphers.js';
import { SeededRandom } from '../../../../../src/lib/random.js';
import { DH_GROUP, ENCR, ESN, INTEG, PROTOCOL, TRANSFORM_TYPE } from '../../../../../src/wire/ike/constants.js';
import { encodeSa, readSa, type SaPayload, type Transform } from '../../../../../src/wire/ike/sa.js';
import { CONFIGURED_ESP, espProposal, strongSwanEspSa, t } from './strongswan-proposals.js';

const { ENCR: E, INTEG: I, DH: D, ESN: N } = TRANSFORM_TYPE;
const OUR_NAMES = ['aes256gcm16', 'aes128gcm16', 'aes256-sha256', 'aes128-sha256', 'chacha20poly1305'] as const;
const ALLOWED = OUR_NAMES.map(parseEspSuite);
const PEER_SPI = 0xc1a2b3c4;
const OUR_SPI = 0x8000_0101;

function chosen(r: EspSelection): Extract<EspSelection, { kind: 'chosen' }> {
  if (r.kind !== 'chosen') throw new Error(`expected chosen, got ${JSON.stringify(r)}`);
  return r;
}

const one = (transforms: Transform[]): SaPayload => ({ proposals: [espProposal(1, PEER_SPI, transforms)] });
const byType = (ts: readonly Transform[]): Transform[] => [...ts].sort((a, b) => a.type - b.type || a.id - b.id);

describe('selectEspProposal: strongSwan IKE_AUTH child SAs', () => {
  it.each(OUR_NAMES)('accepts `esp_proposals = %s` and replies with our SPI and the same transforms', (name) => {
    const r = chosen(selectEspProposal(one(CONFIGURED_ESP[name] ?? []), ALLOWED, {}));
    expect(r.suite.protection.encryption.name).toBe(parseEspSuite(name).protection.encryption.name);
    expect(r).toMatchObject({ peerSpi: PEER_SPI, proposalNumber: 1, suite: { esn: false, dhGroup: null } });
    const reply = r.reply(OUR_SPI);
    expect(reply.proposals).toHaveLength(1);
    expect(reply.proposals[0]).toMatchObject({ number: 1, protocolId: PROTOCOL.ESP, spi: new Uint8Array([0x80, 0, 1, 1]) });
    expect(byType(reply.proposals[0]?.transforms ?? [])).toEqual(byType(CONFIGURED_ESP[name] ?? []));
    expect(readSa(encodeSa(reply))).toEqual(reply);
  });

  it('with `esp_proposals = aes128-sha256, default` takes our first choice wherever it is', () => {
    const offered = strongSwanEspSa(PEER_SPI, 'aes128-sha256');
    const r = chosen(selectEspProposal(offered, ALLOWED, {}));
    expect(espSuiteName(r.suite)).toBe('aes256gcm16-noesn'); // default AEAD proposal 2 carries aes256gcm16
    expect(r.proposalNumber).toBe(2);
    const cbcOnly = chosen(selectEspProposal(offered, [parseEspSuite('aes128-sha256')], {}));
    expect(cbcOnly.proposalNumber).toBe(1);
    expect(cbcOnly.reply(OUR_SPI).proposals[0]?.transforms).toEqual([t(E, ENCR.AES_CBC, 128), t(I, INTEG.HMAC_SHA2_256_128), t(N, ESN.NO)]);
  });

  it('refuses aes128-sha1 / 3DES children', () => {
    const legacy = one([t(E, 3), t(E, ENCR.AES_CBC, 128), t(I, INTEG.HMAC_SHA1_96), t(N, ESN.NO)]);
    expect(selectEspProposal(legacy, ALLOWED, {})).toMatchObject({ kind: 'no-proposal-chosen', detail: expect.stringContaining('#1 proto 3') });
  });

  it('takes the proposal for ESP with a 4-byte SPI only', () => {
    const gcm = CONFIGURED_ESP['aes256gcm16'] ?? [];
    const ah = { ...espProposal(1, PEER_SPI, gcm), protocolId: PROTOCOL.AH };
    const longSpi = { ...espProposal(2, PEER_SPI, gcm), spi: new Uint8Array(8) };
    expect(selectEspProposal({ proposals: [ah, longSpi] }, ALLOWED, {}).kind).toBe('no-proposal-chosen');
    expect(chosen(selectEspProposal({ proposals: [ah, longSpi, espProposal(3, 0x1000, gcm)] }, ALLOWED, {})).peerSpi).toBe(0x1000);
  });

  it('refuses a PRF (not an ESP transform, §3.3.3) and more than 64 proposals', () => {
    expect(selectEspProposal(one([...(CONFIGURED_ESP['aes256gcm16'] ?? []), t(TRANSFORM_TYPE.PRF, 5)]), ALLOWED, {}).kind).toBe('no-proposal-chosen');
    const many = { proposals: Array.from({ length: 65 }, (_, i) => espProposal(i + 1, PEER_SPI, CONFIGURED_ESP['aes256gcm16'] ?? [])) };
    expect(selectEspProposal(many, ALLOWED, {}).kind).toBe('no-proposal-chosen');
  });

  it('refuses a reserved SPI of ours (a programming error)', () => {
    const r = chosen(selectEspProposal(one(CONFIGURED_ESP['aes256gcm16'] ?? []), ALLOWED, {}));
    expect(() => r.reply(255)).toThrow(RangeError);
    expect(() => r.reply(2 ** 32)).toThrow(RangeError);
  });
});

describe('selectEspProposal: ESN', () => {
  const gcm = [t(E, ENCR.AES_GCM_16, 256)];

  it('prefers ESN when offered and our suite allows both', () => {
    const r = chosen(selectEspProposal(one([...gcm, t(N, ESN.NO), t(N, ESN.YES)]), [parseEspSuite('aes256gcm16')], {}));
    expect(r.suite.esn).toBe(true);
    expect(r.reply(OUR_SPI).proposals[0]?.transforms).toEqual([...gcm, t(N, ESN.YES)]);
  });

  it('follows an explicit esn / noesn', () => {
    const both = one([...gcm, t(N, ESN.YES), t(N, ESN.NO)]);
    expect(chosen(selectEspProposal(both, [parseEspSuite('aes256gcm16-noesn')], {})).suite.esn).toBe(false);
    expect(chosen(selectEspProposal(both, [parseEspSuite('aes256gcm16-noesn-esn')], {})).suite.esn).toBe(false);
    expect(selectEspProposal(one([...gcm, t(N, ESN.YES)]), [parseEspSuite('aes256gcm16-noesn')], {}).kind).toBe('no-proposal-chosen');
    expect(selectEspProposal(one([...gcm, t(N, ESN.NO)]), [parseEspSuite('aes256gcm16-esn')], {}).kind).toBe('no-proposal-chosen');
    expect(chosen(selectEspProposal(one([...gcm, t(N, ESN.YES)]), [parseEspSuite('aes256gcm16')], {})).suite.esn).toBe(true);
  });

  it('reads a missing ESN transform as "no ESN" and echoes none', () => {
    const r = chosen(selectEspProposal(one(gcm), [parseEspSuite('aes256gcm16')], {}));
    expect(r.suite.esn).toBe(false);
    expect(r.reply(OUR_SPI).proposals[0]?.transforms).toEqual(gcm);
    expect(selectEspProposal(one(gcm), [parseEspSuite('aes256gcm16-esn')], {}).kind).toBe('no-proposal-chosen');
  });
});

describe('selectEspProposal: D-H and PFS', () => {
  const gcmNoEsn = CONFIGURED_ESP['aes256gcm16'] ?? [];
  const pfsSuite = parseEspSuite('aes256gcm16-ecp256');

  it('ignores D-H without a KE (IKE_AUTH), echoing NONE only when it was offered', () => {
    const withGroup = chosen(selectEspProposal(one([...gcmNoEsn, t(D, DH_GROUP.ECP_256)]), [pfsSuite], {}));
    expect(withGroup.suite.dhGroup).toBeNull();
    expect(withGroup.reply(OUR_SPI).proposals[0]?.transforms.some((x) => x.type === D)).toBe(false);
    const withNone = chosen(selectEspProposal(one([...gcmNoEsn, t(D, 0)]), ALLOWED, {}));
    expect(withNone.reply(OUR_SPI).proposals[0]?.transforms).toContainEqual(t(D, 0));
  });

  it('with a KE, picks the PFS group and echoes it', () => {
    const offered = one([...gcmNoEsn, t(D, DH_GROUP.ECP_256), t(D, DH_GROUP.CURVE25519)]);
    const r = chosen(selectEspProposal(offered, [pfsSuite], { pfsGroup: DH_GROUP.ECP_256 }));
    expect(r.suite.dhGroup?.group).toBe(DH_GROUP.ECP_256);
    expect(espSuiteName(r.suite)).toBe('aes256gcm16-ecp256-noesn');
    expect(byType(r.reply(OUR_SPI).proposals[0]?.transforms ?? [])).toEqual(byType([...gcmNoEsn, t(D, DH_GROUP.ECP_256)]));
  });

  it('answers a KE in another group with INVALID_KE_PAYLOAD for ours', () => {
    const offered = one([...gcmNoEsn, t(D, DH_GROUP.CURVE25519), t(D, DH_GROUP.ECP_256)]);
    expect(selectEspProposal(offered, [pfsSuite], { pfsGroup: DH_GROUP.CURVE25519 })).toEqual({ kind: 'invalid-ke', group: DH_GROUP.ECP_256 });
  });

  it('with a KE, a suite without PFS needs D-H NONE or no D-H (the KE is then ignored)', () => {
    const noPfs = parseEspSuite('aes256gcm16');
    expect(selectEspProposal(one([...gcmNoEsn, t(D, DH_GROUP.ECP_256)]), [noPfs], { pfsGroup: DH_GROUP.ECP_256 }).kind).toBe('no-proposal-chosen');
    const r = chosen(selectEspProposal(one([...gcmNoEsn, t(D, DH_GROUP.ECP_256), t(D, 0)]), [noPfs], { pfsGroup: DH_GROUP.ECP_256 }));
    expect(r.suite.dhGroup).toBeNull();
    expect(r.reply(OUR_SPI).proposals[0]?.transforms).toContainEqual(t(D, 0));
  });

  it('with a KE, refuses a PFS suite against a proposal without D-H', () => {
    expect(selectEspProposal(one(gcmNoEsn), [pfsSuite], { pfsGroup: DH_GROUP.ECP_256 }).kind).toBe('no-proposal-chosen');
  });
});

describe('parseEspSuite', () => {
  it('reads strongSwan ESP proposal names', () => {
    expect(espSuiteName(parseEspSuite('aes256gcm16'))).toBe('aes256gcm16-esn-noesn');
    expect(espSuiteName(parseEspSuite('AES128-SHA256-modp2048-noesn'))).toBe('aes128-sha256-modp2048-noesn');
    expect(parseEspSuite('chacha20poly1305-curve25519-esn')).toMatchObject({ esn: true, esnOnly: true, dhGroup: { group: DH_GROUP.CURVE25519 } });
    expect(parseEspSuite('aes128gcm16-x25519').dhGroup?.group).toBe(DH_GROUP.CURVE25519);
    expect(parseEspSuite('aes256-sha384').protection.integrity?.id).toBe(INTEG.HMAC_SHA2_384_192);
  });

  it.each(['', 'aes128-sha1', '3des-sha256', 'aes256gcm16-sha256', 'aes256', 'aes256gcm16-ecp256-x25519', 'aes256gcm16-esn-esn', 'sha256', 'aes256gcm16-modp1024'])(
    'throws RangeError on "%s"',
    (name) => expect(() => parseEspSuite(name)).toThrow(RangeError),
  );
});

describe('espTransformSpec', () => {
  const bytes = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill);
  const random = new SeededRandom(7);

  it('gives AEAD ciphers key ‖ salt, accepted by the ESP transform', () => {
    const gcm = espTransformSpec(parseEspSuite('aes256gcm16').protection, { encryptionKey: bytes(32, 1), salt: bytes(4, 2), integrityKey: bytes(0, 0) });
    expect(gcm).toEqual({ encryption: 'aes-gcm-16', key: new Uint8Array([...bytes(32, 1), ...bytes(4, 2)]) });
    expect(createEspTransform(gcm, random).name).toBe('aes-256-gcm-16');
    const chacha = espTransformSpec(parseEspSuite('chacha20poly1305').protection, { encryptionKey: bytes(32, 1), salt: bytes(4, 2), integrityKey: bytes(0, 0) });
    expect(chacha.encryption).toBe('chacha20-poly1305');
    expect(createEspTransform(chacha, random).name).toBe('chacha20-poly1305');
  });

  it('maps CBC integrity to its HMAC', () => {
    const spec = espTransformSpec(parseEspSuite('aes128-sha512').protection, { encryptionKey: bytes(16, 1), salt: bytes(0, 0), integrityKey: bytes(64, 3) });
    expect(spec).toEqual({ encryption: 'aes-cbc', key: bytes(16, 1), integrity: 'hmac-sha2-512-256', integrityKey: bytes(64, 3) });
    expect(createEspTransform(spec, random).name).toBe('aes-128-cbc/hmac-sha2-512-256');
  });
});
