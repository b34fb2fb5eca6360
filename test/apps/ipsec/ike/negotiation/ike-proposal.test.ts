import { describe, expect, it } from 'vitest';
import { ikeSuiteName, selectIkeProposal, type IkeSelection } from '../../../../../src/apps/ipsec/ike/negotiation/ike-proposal.js';
import { parseIkeSuite, type IkeSuite } from '../../../../../src/apps/ipsec/crypto/transforms.js';
import { DH_GROUP, ENCR, INTEG, PRF, PROTOCOL, TRANSFORM_TYPE } from '../../../../../src/wire/ike/constants.js';
import { encodeSa, readSa, type SaPayload } from '../../../../../src/wire/ike/sa.js';
import { ALL_SUITE_NAMES, NAMED_SUITES } from '../../crypto/suites.js';
import { CONFIGURED_IKE, LEGACY_IKE, defaultIkeAead, ikeProposal, strongSwanIkeSa, t } from './strongswan-proposals.js';

const { ENCR: E, PRF: P, INTEG: I, DH: D } = TRANSFORM_TYPE;

function suite(name: string): IkeSuite {
  const r = parseIkeSuite(name);
  if (!r.ok) throw r.error;
  return r.value;
}

const ALLOWED = NAMED_SUITES.map(suite);

function chosen(r: IkeSelection): Extract<IkeSelection, { kind: 'chosen' }> {
  if (r.kind !== 'chosen') throw new Error(`expected chosen, got ${JSON.stringify(r)}`);
  return r;
}

describe('selectIkeProposal: strongSwan clients', () => {
  it.each(NAMED_SUITES)('accepts a client configured with only %s, and replies with exactly that suite', (name) => {
    const s = suite(name);
    const offered: SaPayload = { proposals: [ikeProposal(1, CONFIGURED_IKE[name] ?? [])] };
    const r = chosen(selectIkeProposal(offered, ALLOWED, s.dhGroup.group));
    expect(ikeSuiteName(r.suite)).toBe(ikeSuiteName(s));
    expect(r.reply.proposals).toHaveLength(1);
    const p = r.reply.proposals[0];
    expect(p).toMatchObject({ number: 1, protocolId: PROTOCOL.IKE });
    expect(p?.spi).toHaveLength(0);
    // one transform of each type the client sent, Key Length only on AES
    expect([...(p?.transforms ?? [])].sort((a, b) => a.type - b.type)).toEqual([...(CONFIGURED_IKE[name] ?? [])].sort((a, b) => a.type - b.type));
    // the reply survives the codec
    expect(readSa(encodeSa(r.reply))).toEqual(r.reply);
  });

  it.each(NAMED_SUITES)('with `proposals = %s, default` picks our first allowed suite from proposal 1', (name) => {
    const s = suite(name);
    const r = chosen(selectIkeProposal(strongSwanIkeSa(name), [s, ...ALLOWED], s.dhGroup.group));
    expect(ikeSuiteName(r.suite)).toBe(ikeSuiteName(s));
    expect(r.reply.proposals[0]?.number).toBe(1);
  });

  it('with only the default proposals, our preference order decides', () => {
    const r = chosen(selectIkeProposal(strongSwanIkeSa(), ALLOWED, DH_GROUP.ECP_256));
    expect(ikeSuiteName(r.suite)).toBe('aes256gcm16-prfsha256-ecp256');
    expect(r.reply.proposals[0]?.number).toBe(1); // the default AEAD proposal
    const cbcFirst = chosen(selectIkeProposal(strongSwanIkeSa(), [suite('aes256-sha256-modp2048'), ...ALLOWED], DH_GROUP.MODP_2048));
    expect(ikeSuiteName(cbcFirst.suite)).toBe('aes256-sha256-prfsha256-modp2048');
    expect(cbcFirst.reply.proposals[0]?.number).toBe(2); // the classic proposal
    expect(cbcFirst.reply.proposals[0]?.transforms).toEqual([t(E, ENCR.AES_CBC, 256), t(P, PRF.HMAC_SHA2_256), t(I, INTEG.HMAC_SHA2_256_128), t(D, DH_GROUP.MODP_2048)]);
  });

  it('breaks ties between proposals by the initiator order', () => {
    const offered: SaPayload = { proposals: [ikeProposal(1, CONFIGURED_IKE['aes128gcm16-prfsha256-x25519'] ?? []), ikeProposal(2, defaultIkeAead()), ikeProposal(3, defaultIkeAead())] };
    const r = chosen(selectIkeProposal(offered, ALLOWED, DH_GROUP.ECP_256));
    expect(r.reply.proposals[0]?.number).toBe(2);
  });
});

describe('selectIkeProposal: INVALID_KE_PAYLOAD', () => {
  it('asks for the group of the best match, even when a worse match fits the KE sent', () => {
    // strongSwan sends KE for its first group; with `x25519` first and ours preferring ecp256
    const r = selectIkeProposal(strongSwanIkeSa('aes128gcm16-prfsha256-x25519'), ALLOWED, DH_GROUP.CURVE25519);
    expect(r).toEqual({ kind: 'invalid-ke', group: DH_GROUP.ECP_256 });
  });

  it('accepts the retry with the group asked for', () => {
    const r = chosen(selectIkeProposal(strongSwanIkeSa('aes128gcm16-prfsha256-x25519'), ALLOWED, DH_GROUP.ECP_256));
    expect(r.suite.dhGroup.group).toBe(DH_GROUP.ECP_256);
  });
});

describe('selectIkeProposal: NO_PROPOSAL_CHOSEN', () => {
  it('refuses 3DES and aes128-sha1-modp1024', () => {
    const r = selectIkeProposal(LEGACY_IKE, ALLOWED, 2);
    expect(r.kind).toBe('no-proposal-chosen');
    if (r.kind === 'no-proposal-chosen') expect(r.detail).toContain('#2 proto 1: 1.12/128');
  });

  it('refuses a suite the client offers but we do not allow', () => {
    const offered: SaPayload = { proposals: [ikeProposal(1, CONFIGURED_IKE['aes256-sha256-modp2048'] ?? [])] };
    expect(selectIkeProposal(offered, [suite('aes256gcm16-prfsha256-ecp256')], DH_GROUP.MODP_2048).kind).toBe('no-proposal-chosen');
    expect(selectIkeProposal(offered, [], DH_GROUP.MODP_2048).kind).toBe('no-proposal-chosen');
  });

  it('needs the Key Length attribute on AES and none on ChaCha20-Poly1305', () => {
    const noLength = [t(E, ENCR.AES_GCM_16), t(P, PRF.HMAC_SHA2_256), t(D, DH_GROUP.ECP_256)];
    const chachaWithLength = [t(E, ENCR.CHACHA20_POLY1305, 256), t(P, PRF.HMAC_SHA2_256), t(D, DH_GROUP.CURVE25519)];
    expect(selectIkeProposal({ proposals: [ikeProposal(1, noLength)] }, ALLOWED, DH_GROUP.ECP_256).kind).toBe('no-proposal-chosen');
    expect(selectIkeProposal({ proposals: [ikeProposal(1, chachaWithLength)] }, ALLOWED, DH_GROUP.CURVE25519).kind).toBe('no-proposal-chosen');
  });

  it('takes an AEAD with no INTEG or INTEG NONE only, and echoes NONE', () => {
    const base = CONFIGURED_IKE['aes256gcm16-prfsha256-ecp256'] ?? [];
    const withNone = chosen(selectIkeProposal({ proposals: [ikeProposal(1, [...base, t(I, INTEG.NONE)])] }, ALLOWED, DH_GROUP.ECP_256));
    expect(withNone.reply.proposals[0]?.transforms).toContainEqual(t(I, INTEG.NONE));
    const withSha = { proposals: [ikeProposal(1, [...base, t(I, INTEG.HMAC_SHA2_256_128)])] };
    expect(selectIkeProposal(withSha, ALLOWED, DH_GROUP.ECP_256).kind).toBe('no-proposal-chosen');
    const cbcNoInteg = [t(E, ENCR.AES_CBC, 256), t(P, PRF.HMAC_SHA2_256), t(D, DH_GROUP.MODP_2048)];
    expect(selectIkeProposal({ proposals: [ikeProposal(1, cbcNoInteg)] }, ALLOWED, DH_GROUP.MODP_2048).kind).toBe('no-proposal-chosen');
    const cbcIntegNone = [...cbcNoInteg, t(I, INTEG.NONE)];
    expect(selectIkeProposal({ proposals: [ikeProposal(1, cbcIntegNone)] }, ALLOWED, DH_GROUP.MODP_2048).kind).toBe('no-proposal-chosen');
  });
});

describe('selectIkeProposal: RFC 7296 §3.3.6 robustness', () => {
  const good = CONFIGURED_IKE['aes256gcm16-prfsha256-ecp256'] ?? [];

  it('ignores unknown transform IDs and transforms with unknown attributes', () => {
    const offered = { proposals: [ikeProposal(1, [t(E, 1234, 256), { type: E, id: ENCR.AES_GCM_16, attributes: [{ format: 'tv' as const, type: 99, value: 1 }] }, ...good, t(D, 9999)])] };
    const r = chosen(selectIkeProposal(offered, ALLOWED, DH_GROUP.ECP_256));
    expect(r.reply.proposals[0]?.transforms).toHaveLength(3);
  });

  it('drops a proposal with an unknown transform type but keeps the others', () => {
    const offered = { proposals: [ikeProposal(1, [...good, t(6, 0)]), ikeProposal(2, good)] };
    expect(chosen(selectIkeProposal(offered, ALLOWED, DH_GROUP.ECP_256)).reply.proposals[0]?.number).toBe(2);
    expect(selectIkeProposal({ proposals: [ikeProposal(1, [...good, t(TRANSFORM_TYPE.ESN, 0)])] }, ALLOWED, DH_GROUP.ECP_256).kind).toBe('no-proposal-chosen');
  });

  it('drops proposals for another protocol or with an SPI', () => {
    const esp = { ...ikeProposal(1, good), protocolId: PROTOCOL.ESP };
    const withSpi = { ...ikeProposal(2, good), spi: new Uint8Array(8) };
    expect(selectIkeProposal({ proposals: [esp, withSpi] }, ALLOWED, DH_GROUP.ECP_256).kind).toBe('no-proposal-chosen');
  });

  it('refuses more than 64 proposals or 256 transforms', () => {
    const many = { proposals: Array.from({ length: 65 }, (_, i) => ikeProposal(i + 1, good)) };
    expect(selectIkeProposal(many, ALLOWED, DH_GROUP.ECP_256)).toMatchObject({ kind: 'no-proposal-chosen', detail: expect.stringContaining('65 proposals') });
    const wide = { proposals: [ikeProposal(1, [...good, ...Array.from({ length: 254 }, () => t(D, 9999))])] };
    expect(selectIkeProposal(wide, ALLOWED, DH_GROUP.ECP_256)).toMatchObject({ kind: 'no-proposal-chosen', detail: expect.stringContaining('257 transforms') });
    const exactly = { proposals: Array.from({ length: 64 }, (_, i) => ikeProposal(i + 1, good)) };
    expect(selectIkeProposal(exactly, ALLOWED, DH_GROUP.ECP_256).kind).toBe('chosen');
  });
});

describe('ikeSuiteName', () => {
  it('prints every supported suite the way parseIkeSuite reads it', () => {
    for (const name of ALL_SUITE_NAMES) expect(ikeSuiteName(suite(name))).toBe(name);
    expect(ikeSuiteName(suite('aes256-sha256-modp2048'))).toBe('aes256-sha256-prfsha256-modp2048');
  });
});
