import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { ChainVerifier, MAX_CHAIN_LENGTH, verifyMemberChain } from '../../../src/cluster/auth/verify-chain.js';
import type { ChainResult } from '../../../src/cluster/auth/verify-chain.js';
import type { CertProblem } from '../../../src/cluster/auth/trust.js';
import { ShoalError } from '../../../src/lib/errors.js';
import { parseIpv4 } from '../../../src/lib/ipv4.js';
import { issueEndpoint } from '../../../src/pki/endpoint.js';
import { WALL_NOW, issueMember, makeCa, makeIntermediate, standardFixtures, trustOf } from '../../support/pki.js';
import type { StandardFixtures } from '../../support/pki.js';

let fx: StandardFixtures;
beforeAll(async () => {
  fx = await standardFixtures();
});

function problemOf(r: ChainResult): CertProblem | 'ok' {
  return r.ok ? 'ok' : r.problem;
}

const YEAR = 365 * 24 * 3600 * 1000;

describe('verifyMemberChain: good chains', () => {
  it('accepts a member issued directly by the CA and describes it', () => {
    const m = fx.members[0];
    if (m === undefined) throw new Error('fixture');
    const r = verifyMemberChain(m.chain, fx.trust, m.memberId, WALL_NOW);
    if (!r.ok) throw new Error(`${r.problem}: ${r.detail}`);
    expect(r.peer.memberId).toBe(parseIpv4('198.18.0.1'));
    expect(r.peer.subject).toBe('member-1');
    expect(r.peer.serial).toBe(m.serial);
    expect(r.peer.fingerprint).toBe(createHash('sha256').update(m.chain[0] ?? new Uint8Array()).digest('hex'));
    expect(r.peer.publicKey.equals(m.publicKey)).toBe(true);
  });

  it('accepts certificates that are views into a larger buffer (as a frame decoder yields them)', () => {
    const m = fx.members[0];
    const leaf = m?.chain[0];
    if (m === undefined || leaf === undefined) throw new Error('fixture');
    const frame = new Uint8Array(leaf.length + 20).fill(0xaa);
    frame.set(leaf, 7);
    const r = verifyMemberChain([frame.subarray(7, 7 + leaf.length)], fx.trust, m.memberId, WALL_NOW);
    expect(r.ok && r.peer.fingerprint).toBe(createHash('sha256').update(leaf).digest('hex'));
  });

  it('accepts every standard member under the allowed list', () => {
    for (const m of fx.members) {
      expect(problemOf(verifyMemberChain(m.chain, fx.restrictedTrust, m.memberId, WALL_NOW))).toBe('ok');
    }
  });

  it('accepts a chain that includes the root', async () => {
    const m = await issueMember(fx.ca, { cn: 'member-1', ip: '198.18.0.1', includeRoot: true });
    expect(m.chain).toHaveLength(2);
    expect(problemOf(verifyMemberChain(m.chain, fx.trust, m.memberId, WALL_NOW))).toBe('ok');
  });

  it('accepts RSA: an RSA CA, an RSA member and an EC P-384 member', async () => {
    const ca = await makeCa({ keyType: 'rsa', name: 'RSA CA' });
    const rsa = await issueMember(ca, { cn: 'r1', ip: '10.0.0.1', keyType: 'rsa' });
    const p384 = await issueMember(ca, { cn: 'r2', ip: '10.0.0.2', keyType: 'ec-p384' });
    expect(problemOf(verifyMemberChain(rsa.chain, trustOf(ca), rsa.memberId, WALL_NOW))).toBe('ok');
    expect(problemOf(verifyMemberChain(p384.chain, trustOf(ca), p384.memberId, WALL_NOW))).toBe('ok');
  });

  it('accepts chains through one and two intermediates, in any order, with mixed key types', async () => {
    const root = await makeCa({ keyType: 'rsa', name: 'Root' });
    const i1 = await makeIntermediate(root, { name: 'Issuing 1', keyType: 'ec-p384' });
    const i2 = await makeIntermediate(i1, { name: 'Issuing 2' });
    const m1 = await issueMember(root, { cn: 'a', ip: '10.0.0.1', intermediate: i1 });
    const m2 = await issueMember(root, { cn: 'b', ip: '10.0.0.2', intermediate: i2, includeRoot: true });
    expect(m2.chain).toHaveLength(4);
    expect(problemOf(verifyMemberChain(m1.chain, trustOf(root), m1.memberId, WALL_NOW))).toBe('ok');
    expect(problemOf(verifyMemberChain(m2.chain, trustOf(root), m2.memberId, WALL_NOW))).toBe('ok');
    const [leaf, a, b, c] = m2.chain;
    if (leaf === undefined || a === undefined || b === undefined || c === undefined) throw new Error('chain');
    expect(problemOf(verifyMemberChain([leaf, c, b, a], trustOf(root), m2.memberId, WALL_NOW))).toBe('ok');
  });

  it('accepts when several CAs are trusted', () => {
    const trust = { caCertificates: [fx.foreignCa.der, fx.ca.der], revokedSerials: [] };
    const m = fx.members[4];
    if (m === undefined) throw new Error('fixture');
    expect(problemOf(verifyMemberChain(m.chain, trust, m.memberId, WALL_NOW))).toBe('ok');
  });
});

describe('verifyMemberChain: problems', () => {
  it('malformed: empty, garbage, truncated, too long', () => {
    const m = fx.members[0];
    const leaf = m?.chain[0];
    if (m === undefined || leaf === undefined) throw new Error('fixture');
    expect(problemOf(verifyMemberChain([], fx.trust, m.memberId, WALL_NOW))).toBe('malformed');
    expect(problemOf(verifyMemberChain([new Uint8Array([1, 2, 3])], fx.trust, m.memberId, WALL_NOW))).toBe('malformed');
    expect(problemOf(verifyMemberChain([leaf.subarray(0, leaf.length - 10)], fx.trust, m.memberId, WALL_NOW))).toBe('malformed');
    expect(problemOf(verifyMemberChain([leaf, new Uint8Array(0)], fx.trust, m.memberId, WALL_NOW))).toBe('malformed');
    // PEM text and trailing bytes parse in node, but are not exactly one DER certificate.
    const pem = `-----BEGIN CERTIFICATE-----\n${Buffer.from(leaf).toString('base64')}\n-----END CERTIFICATE-----\n`;
    expect(problemOf(verifyMemberChain([new TextEncoder().encode(pem)], fx.trust, m.memberId, WALL_NOW))).toBe('malformed');
    expect(problemOf(verifyMemberChain([Uint8Array.from([...leaf, 0, 0])], fx.trust, m.memberId, WALL_NOW))).toBe('malformed');
    const long = Array.from({ length: MAX_CHAIN_LENGTH + 1 }, () => leaf);
    expect(problemOf(verifyMemberChain(long, fx.trust, m.memberId, WALL_NOW))).toBe('malformed');
  });

  it('never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 4 }), fc.integer({ min: 0, max: 0xffffffff }), (chain, id) => {
        const r = verifyMemberChain(chain, fx.trust, id, WALL_NOW);
        expect(r.ok).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('untrusted: a foreign CA, a missing intermediate, a forged signature', async () => {
    const f = fx.foreignMember;
    expect(problemOf(verifyMemberChain(f.chain, fx.trust, f.memberId, WALL_NOW))).toBe('untrusted');
    // Including the foreign root does not help: only the configured CAs are anchors.
    expect(problemOf(verifyMemberChain([...f.chain, fx.foreignCa.der], fx.trust, f.memberId, WALL_NOW))).toBe('untrusted');

    const inter = await makeIntermediate(fx.ca);
    const viaInter = await issueMember(fx.ca, { cn: 'member-1', ip: '198.18.0.1', intermediate: inter });
    const leafOnly = viaInter.chain.slice(0, 1);
    expect(problemOf(verifyMemberChain(leafOnly, fx.trust, viaInter.memberId, WALL_NOW))).toBe('untrusted');

    const m = fx.members[0];
    const leaf = m?.chain[0];
    if (m === undefined || leaf === undefined) throw new Error('fixture');
    const forged = Uint8Array.from(leaf);
    forged[forged.length - 1] = (forged[forged.length - 1] ?? 0) ^ 0x01; // last byte of the signature
    const r = verifyMemberChain([forged], fx.trust, m.memberId, WALL_NOW);
    expect(problemOf(r)).toBe('untrusted');
  });

  it('expired / not-yet-valid: the leaf, an intermediate, the CA', async () => {
    const { expired, notYetValid } = fx;
    expect(problemOf(verifyMemberChain(expired.chain, fx.trust, expired.memberId, WALL_NOW))).toBe('expired');
    expect(problemOf(verifyMemberChain(notYetValid.chain, fx.trust, notYetValid.memberId, WALL_NOW))).toBe('not-yet-valid');
    const m = fx.members[1];
    if (m === undefined) throw new Error('fixture');
    expect(problemOf(verifyMemberChain(m.chain, fx.trust, m.memberId, WALL_NOW + 4 * YEAR))).toBe('expired');
    expect(problemOf(verifyMemberChain(m.chain, fx.trust, m.memberId, Date.UTC(2025, 11, 31)))).toBe('not-yet-valid');

    const oldInter = await makeIntermediate(fx.ca, { name: 'Old Issuing', notBefore: new Date(Date.UTC(2026, 0, 1)), notAfter: new Date(Date.UTC(2026, 5, 1)) });
    const viaOld = await issueMember(fx.ca, { cn: 'member-2', ip: '198.18.0.2', intermediate: oldInter });
    const r = verifyMemberChain(viaOld.chain, fx.trust, viaOld.memberId, WALL_NOW);
    expect(problemOf(r)).toBe('expired');
    expect(r.ok ? '' : r.detail).toContain('Old Issuing');

    const shortCa = await makeCa({ name: 'Short CA', notAfter: new Date(Date.UTC(2026, 5, 1)) });
    const underShort = await issueMember(shortCa, { cn: 'x', ip: '10.0.0.1' });
    expect(problemOf(verifyMemberChain(underShort.chain, trustOf(shortCa), underShort.memberId, WALL_NOW))).toBe('expired');
  });

  it('bad-key-usage: leaf without digitalSignature, CA without keyCertSign or cA, path length exceeded', async () => {
    const n = fx.noDigitalSignature;
    expect(problemOf(verifyMemberChain(n.chain, fx.trust, n.memberId, WALL_NOW))).toBe('bad-key-usage');

    const noSign = await makeIntermediate(fx.ca, { name: 'No CertSign', keyUsage: 'no-cert-sign' });
    const m1 = await issueMember(fx.ca, { cn: 'member-1', ip: '198.18.0.1', intermediate: noSign });
    expect(problemOf(verifyMemberChain(m1.chain, fx.trust, m1.memberId, WALL_NOW))).toBe('bad-key-usage');

    const notCa = await makeIntermediate(fx.ca, { name: 'Not A CA', isCa: false });
    const m2 = await issueMember(fx.ca, { cn: 'member-2', ip: '198.18.0.2', intermediate: notCa });
    expect(problemOf(verifyMemberChain(m2.chain, fx.trust, m2.memberId, WALL_NOW))).toBe('bad-key-usage');

    const rootNoSign = await makeCa({ name: 'Root No CertSign', keyUsage: 'no-cert-sign' });
    const m3 = await issueMember(rootNoSign, { cn: 'member-3', ip: '198.18.0.3' });
    expect(problemOf(verifyMemberChain(m3.chain, trustOf(rootNoSign), m3.memberId, WALL_NOW))).toBe('bad-key-usage');

    const leafOnlyRoot = await makeCa({ name: 'Leaf-only Root', pathLength: 0 });
    const inter = await makeIntermediate(leafOnlyRoot);
    const m4 = await issueMember(leafOnlyRoot, { cn: 'member-4', ip: '198.18.0.4', intermediate: inter });
    const direct = await issueMember(leafOnlyRoot, { cn: 'member-5', ip: '198.18.0.5' });
    expect(problemOf(verifyMemberChain(m4.chain, trustOf(leafOnlyRoot), m4.memberId, WALL_NOW))).toBe('bad-key-usage');
    expect(problemOf(verifyMemberChain(direct.chain, trustOf(leafOnlyRoot), direct.memberId, WALL_NOW))).toBe('ok');
  });

  it('not-member-certificate: a client or server certificate with the IP identity, a member certificate without the mark', async () => {
    const ip = '198.18.0.20';
    const id = parseIpv4(ip);
    const dates = { notBefore: new Date(Date.UTC(2026, 0, 1)), notAfter: new Date(Date.UTC(2030, 0, 1)) };
    const client = await issueEndpoint(fx.ca, { ...dates, commonName: 'member-20', ipAddresses: [ip], purpose: 'client' });
    const server = await issueEndpoint(fx.ca, { ...dates, commonName: 'member-20', ipAddresses: [ip], purpose: 'server' });
    const unmarked = await issueMember(fx.ca, { cn: 'member-20', ip, purpose: 'none' });
    const clientAuth = await issueMember(fx.ca, { cn: 'member-20', ip, purpose: 'client' });
    const detail = (r: ChainResult): string => (r.ok ? 'ok' : `${r.problem}: ${r.detail}`);
    expect(detail(verifyMemberChain(client.chain, fx.trust, id, WALL_NOW))).toBe(
      'not-member-certificate: member-20 is not a cluster member certificate (ExtendedKeyUsage clientAuth, iKEIntermediate; `shoal pki issue-member` issues them)',
    );
    expect(problemOf(verifyMemberChain(server.chain, fx.trust, id, WALL_NOW))).toBe('not-member-certificate');
    expect(detail(verifyMemberChain(unmarked.chain, fx.trust, id, WALL_NOW))).toMatch(/\(no ExtendedKeyUsage; /);
    expect(problemOf(verifyMemberChain(clientAuth.chain, fx.trust, id, WALL_NOW))).toBe('not-member-certificate');
    // The same CA's marked member certificate for that address passes.
    expect(problemOf(verifyMemberChain((await issueMember(fx.ca, { cn: 'member-20', ip })).chain, fx.trust, id, WALL_NOW))).toBe('ok');
  });

  it('not-allowed: a CA-issued member missing from allowedMembers', () => {
    const i = fx.intruder;
    expect(problemOf(verifyMemberChain(i.chain, fx.restrictedTrust, i.memberId, WALL_NOW))).toBe('not-allowed');
    expect(problemOf(verifyMemberChain(i.chain, fx.trust, i.memberId, WALL_NOW))).toBe('ok');
    const none = trustOf(fx.ca, { allowedMembers: [] });
    const m = fx.members[0];
    if (m === undefined) throw new Error('fixture');
    expect(problemOf(verifyMemberChain(m.chain, none, m.memberId, WALL_NOW))).toBe('not-allowed');
  });

  it('revoked: the leaf (any serial spelling) or an intermediate', async () => {
    const m = fx.members[2];
    if (m === undefined) throw new Error('fixture');
    const spelled = `00${m.serial.toUpperCase()}`;
    expect(problemOf(verifyMemberChain(m.chain, trustOf(fx.ca, { revokedSerials: [spelled] }), m.memberId, WALL_NOW))).toBe('revoked');
    expect(problemOf(verifyMemberChain(fx.members[3]?.chain ?? [], trustOf(fx.ca, { revokedSerials: [spelled] }), parseIpv4('198.18.0.4'), WALL_NOW))).toBe('ok');

    const inter = await makeIntermediate(fx.ca, { name: 'Revoked Issuing' });
    const via = await issueMember(fx.ca, { cn: 'member-1', ip: '198.18.0.1', intermediate: inter });
    const trust = trustOf(fx.ca, { revokedSerials: [inter.serial] });
    expect(problemOf(verifyMemberChain(via.chain, trust, via.memberId, WALL_NOW))).toBe('revoked');
  });

  it('identity-mismatch: another member id, or no IP subjectAltName', async () => {
    const m = fx.members[0];
    if (m === undefined) throw new Error('fixture');
    const r = verifyMemberChain(m.chain, fx.trust, parseIpv4('198.18.0.2'), WALL_NOW);
    expect(problemOf(r)).toBe('identity-mismatch');
    expect(r.ok ? '' : r.detail).toContain('198.18.0.2');
    const noIp = await issueMember(fx.ca, { cn: 'member-1', ip: '198.18.0.1', ipSan: false });
    expect(problemOf(verifyMemberChain(noIp.chain, fx.trust, noIp.memberId, WALL_NOW))).toBe('identity-mismatch');
  });

  it('unsupported-key: EC P-521 and RSA 1024 leaves', async () => {
    const p521 = await issueMember(fx.ca, { cn: 'member-1', ip: '198.18.0.1', keyType: 'ec-p521' });
    const rsa1024 = await issueMember(fx.ca, { cn: 'member-2', ip: '198.18.0.2', keyType: 'rsa-1024' });
    expect(problemOf(verifyMemberChain(p521.chain, fx.trust, p521.memberId, WALL_NOW))).toBe('unsupported-key');
    expect(problemOf(verifyMemberChain(rsa1024.chain, fx.trust, rsa1024.memberId, WALL_NOW))).toBe('unsupported-key');
  });
});

describe('ChainVerifier', () => {
  it('gives the same answers as verifyMemberChain and caches successes only', () => {
    const v = new ChainVerifier(fx.restrictedTrust);
    const cases = [...fx.members, fx.foreignMember, fx.expired, fx.notYetValid, fx.intruder, fx.noDigitalSignature];
    for (const m of cases) {
      for (let i = 0; i < 2; i++) {
        expect(v.verify(m.chain, m.memberId, WALL_NOW)).toEqual(verifyMemberChain(m.chain, fx.restrictedTrust, m.memberId, WALL_NOW));
      }
    }
    expect(v.cachedCount).toBe(fx.members.length);
  });

  it('returns the cached peer but re-checks dates against wallNow', () => {
    const v = new ChainVerifier(fx.trust);
    const m = fx.members[0];
    if (m === undefined) throw new Error('fixture');
    const first = v.verify(m.chain, m.memberId, WALL_NOW);
    const second = v.verify(m.chain, m.memberId, WALL_NOW + 1000);
    expect(first.ok && second.ok && first.peer === second.peer).toBe(true);
    expect(problemOf(v.verify(m.chain, m.memberId, WALL_NOW + 4 * YEAR))).toBe('expired');
    expect(problemOf(v.verify(m.chain, m.memberId, Date.UTC(2025, 0, 1)))).toBe('not-yet-valid');
    expect(problemOf(v.verify(m.chain, m.memberId, WALL_NOW))).toBe('ok');
  });

  it('keys the cache by member id too', () => {
    const v = new ChainVerifier(fx.trust);
    const m = fx.members[0];
    if (m === undefined) throw new Error('fixture');
    expect(problemOf(v.verify(m.chain, m.memberId, WALL_NOW))).toBe('ok');
    expect(problemOf(v.verify(m.chain, parseIpv4('198.18.0.2'), WALL_NOW))).toBe('identity-mismatch');
  });

  it('stays within its size, evicting the least recently used', () => {
    const v = new ChainVerifier(fx.trust, 3);
    for (const m of fx.members) expect(problemOf(v.verify(m.chain, m.memberId, WALL_NOW))).toBe('ok');
    expect(v.cachedCount).toBe(3);
  });

  it('refuses an unparsable CA at construction; verifyMemberChain skips it', () => {
    const trust = { caCertificates: [new Uint8Array([0x30, 0x00]), fx.ca.der], revokedSerials: [] };
    expect(() => new ChainVerifier(trust)).toThrow(ShoalError);
    const m = fx.members[0];
    if (m === undefined) throw new Error('fixture');
    expect(problemOf(verifyMemberChain(m.chain, trust, m.memberId, WALL_NOW))).toBe('ok');
  });
});
