/**
 * The file-backed CA store (src/pki/store*.ts), called as the CLI and the lab
 * call it: the files it writes, that what it issues passes the cluster's join
 * check and the IKEv2 client check (and OpenSSL's), and that revoking
 * re-signs a CRL those checks and OpenSSL honour.
 */
import { spawnSync } from 'node:child_process';
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { afterAll, describe, expect, it } from 'vitest';
import { crlSignedBy, parseCrl } from '../../src/apps/ipsec/ike/peer-auth/crl.js';
import { verifyClientChain } from '../../src/apps/ipsec/ike/peer-auth/client-cert.js';
import { verifyMemberChain } from '../../src/cluster/auth/verify-chain.js';
import { certificatesFromPem } from '../../src/daemon/credentials.js';
import { crlDerOf } from '../../src/daemon/crl-watch.js';
import { parseIpv4 } from '../../src/lib/ipv4.js';
import { ShoalError } from '../../src/lib/errors.js';
import { isDevelopmentCertificate } from '../../src/pki/development.js';
import { initCa, readIndex, revokeCertificate } from '../../src/pki/store.js';
import { issueClientCert, issueMemberCert, issueServerCert } from '../../src/pki/store-issue.js';
import type { StoreKeyType } from '../../src/pki/store-keys.js';

const NOW = new Date(Date.UTC(2026, 5, 1));
const DAY = 86_400_000;
const root = mkdtempSync(join(tmpdir(), 'shoal-pki-store-'));
let n = 0;
const freshDir = (): string => join(root, `ca${++n}`);

afterAll(() => rmSync(root, { recursive: true, force: true }));

const der = (pemFile: string): Uint8Array[] => certificatesFromPem(readFileSync(pemFile, 'utf8'), pemFile);
const caDer = (dir: string): Uint8Array => der(join(dir, 'ca.pem'))[0] ?? new Uint8Array();
const crlOf = (dir: string): Uint8Array => crlDerOf(readFileSync(join(dir, 'crl.pem')))[0] ?? new Uint8Array();
const mode = (f: string): number => statSync(f).mode & 0o777;

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return e instanceof ShoalError ? e.code : `not a ShoalError: ${String(e)}`;
  }
  return 'no error';
}

/** The extensions of a certificate as @peculiar/x509 reads them. */
function cert(file: string): x509.X509Certificate {
  return new x509.X509Certificate(readFileSync(file, 'utf8'));
}

function openssl(args: string[]): { code: number; out: string } {
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  if (r.error) throw new Error(`openssl is needed for these tests: ${r.error.message}`);
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

describe('init-ca', () => {
  it('writes ca.pem, ca.key (0600, the CA key), an empty CRL signed by the CA, and the index', async () => {
    const dir = freshDir();
    const index = await initCa(dir, { now: NOW, keyType: 'ecdsa-p384', days: 100 });
    expect(mode(dir)).toBe(0o700);
    expect(mode(join(dir, 'ca.key'))).toBe(0o600);
    expect(mode(join(dir, 'issued'))).toBe(0o700);
    const ca = new X509Certificate(caDer(dir));
    expect(ca.ca).toBe(true);
    expect(ca.subject).toBe('CN=Shoal Cluster CA\nO=Shoal');
    expect(ca.publicKey.asymmetricKeyDetails?.namedCurve).toBe('secp384r1');
    expect(createPublicKey(createPrivateKey(readFileSync(join(dir, 'ca.key')))).export({ format: 'jwk' })).toEqual(ca.publicKey.export({ format: 'jwk' }));
    expect(Date.parse(ca.validTo)).toBe(NOW.getTime() + 100 * DAY - (NOW.getTime() % 1000));
    expect(index).toMatchObject({ format: 'shoal-ca/1', development: false, crlNumber: 1, crlDays: 30, certificates: [] });
    expect(index.ca).toMatchObject({ keyType: 'ecdsa-p384', serial: ca.serialNumber.toLowerCase().replace(/^0+/, '') });
    expect(await readIndex(dir)).toEqual(index);

    const crl = parseCrl(crlOf(dir));
    if (typeof crl === 'string') throw new Error(crl);
    expect(crl.revoked.size).toBe(0);
    expect(crlSignedBy(crl, ca.publicKey)).toBe(true);
    expect(crl.nextUpdate).toBe(NOW.getTime() + 30 * DAY);
    // The issuer is the CA's subject byte for byte (verifiers match the bytes).
    expect(Buffer.from(crl.issuerDer).toString('hex')).toBe(Buffer.from(new x509.X509Certificate(caDer(dir)).subjectName.toArrayBuffer()).toString('hex'));
  });

  it('refuses to replace a CA unless forced', async () => {
    const dir = freshDir();
    const first = await initCa(dir, { now: NOW });
    expect(await codeOf(initCa(dir, { now: NOW }))).toBe('PKI_EXISTS');
    expect((await readIndex(dir)).ca.serial).toBe(first.ca.serial);
    const second = await initCa(dir, { now: NOW, force: true, keyType: 'rsa-2048' });
    expect(second.ca.serial).not.toBe(first.ca.serial);
    expect(new X509Certificate(caDer(dir)).publicKey.asymmetricKeyType).toBe('rsa');
  });

  it('--development marks the CA and everything it issues with OU "Shoal development"; a normal CA marks nothing', async () => {
    const dev = freshDir();
    expect((await initCa(dev, { now: NOW, development: true })).development).toBe(true);
    const m = await issueMemberCert(dev, { now: NOW, name: 'member-1', address: '198.18.0.1' });
    const c = await issueClientCert(dev, { now: NOW, identity: 'client1.shoal.test' });
    for (const f of [join(dev, 'ca.pem'), m.certFile, c.certFile]) expect(isDevelopmentCertificate(der(f)[0] ?? new Uint8Array()), f).toBe(true);
    expect(m.entry.subject).toBe('CN=member-1, OU=Shoal development, O=Shoal');

    const prod = freshDir();
    await initCa(prod, { now: NOW });
    const p = await issueMemberCert(prod, { now: NOW, name: 'member-1', address: '198.18.0.1' });
    for (const f of [join(prod, 'ca.pem'), p.certFile]) expect(isDevelopmentCertificate(der(f)[0] ?? new Uint8Array())).toBe(false);
  });
});

describe('issue', () => {
  const combos: [StoreKeyType, StoreKeyType][] = [
    ['ecdsa-p256', 'rsa-2048'],
    ['rsa-2048', 'ecdsa-p384'],
  ];
  for (const [caType, memberType] of combos) {
    it(`a ${memberType} member certificate from a ${caType} CA passes the join check for its address only`, async () => {
      const dir = freshDir();
      await initCa(dir, { now: NOW, keyType: caType });
      const m = await issueMemberCert(dir, { now: NOW, name: 'member-7', address: '198.18.3.17', keyType: memberType });
      expect(mode(m.keyFile)).toBe(0o600);
      expect(m.entry).toMatchObject({ kind: 'member', name: 'member-7', keyType: memberType, san: ['dns:member-7.shoal.test', 'ip:198.18.3.17'], revokedAt: null });
      expect(Date.parse(m.entry.notAfter) - NOW.getTime()).toBe(730 * DAY);
      const chain = der(m.certFile);
      const trust = { caCertificates: [caDer(dir)], revokedSerials: [] };
      const ok = verifyMemberChain(chain, trust, parseIpv4('198.18.3.17'), NOW.getTime());
      expect(ok.ok ? ok.peer.serial : ok.detail).toBe(m.entry.serial);
      const other = verifyMemberChain(chain, trust, parseIpv4('198.18.3.18'), NOW.getTime());
      expect(other.ok ? 'ok' : other.problem).toBe('identity-mismatch');
      // The key on disk is the certificate's.
      expect(createPublicKey(createPrivateKey(readFileSync(m.keyFile))).export({ format: 'jwk' })).toEqual(new X509Certificate(chain[0] ?? new Uint8Array()).publicKey.export({ format: 'jwk' }));
      expect((await readIndex(dir)).certificates).toEqual([m.entry]);
    });
  }

  it('client certificates (ECDSA P-384, RSA 3072): SAN = identity, digitalSignature, clientAuth; they pass the IKE client check', async () => {
    const dir = freshDir();
    await initCa(dir, { now: NOW });
    const cases = [
      { identity: 'alice.example.com', keyType: 'ecdsa-p384' as const, san: 'dns:alice.example.com' },
      { identity: 'bob@example.com', keyType: 'rsa-3072' as const, san: 'email:bob@example.com' },
      { identity: '198.18.16.2', keyType: 'ecdsa-p256' as const, san: 'ip:198.18.16.2' },
    ];
    for (const c of cases) {
      const r = await issueClientCert(dir, { now: NOW, identity: c.identity, keyType: c.keyType });
      expect(r.entry).toMatchObject({ kind: 'client', san: [c.san], keyType: c.keyType });
      expect(Date.parse(r.entry.notAfter) - NOW.getTime()).toBe(365 * DAY);
      const leaf = cert(r.certFile);
      expect(leaf.getExtension(x509.KeyUsagesExtension)?.usages).toBe(x509.KeyUsageFlags.digitalSignature);
      expect(leaf.getExtension(x509.KeyUsagesExtension)?.critical).toBe(true);
      expect(leaf.getExtension(x509.ExtendedKeyUsageExtension)?.usages).toEqual([x509.ExtendedKeyUsage.clientAuth, '1.3.6.1.5.5.8.2.2']);
      expect(leaf.getExtension(x509.BasicConstraintsExtension)?.ca).toBe(false);
      const check = verifyClientChain(der(r.certFile), { caCertificates: [caDer(dir)] }, NOW.getTime());
      expect(check.ok ? check.leaf.serial : check.detail).toBe(r.entry.serial);
    }
    expect(new X509Certificate(der(join(dir, 'issued', 'bob@example.com.pem'))[0] ?? new Uint8Array()).publicKey.asymmetricKeyDetails?.modulusLength).toBe(3072);
  });

  it('a server certificate: DNS and IP SANs, serverAuth; OpenSSL verifies it for the TLS server purpose', async () => {
    const dir = freshDir();
    await initCa(dir, { now: NOW, keyType: 'rsa-2048' });
    const r = await issueServerCert(dir, { now: NOW, name: 'vpn.example.com', dnsNames: ['vpn2.example.com'], addresses: ['198.18.1.10'] });
    expect(r.entry.san).toEqual(['dns:vpn.example.com', 'dns:vpn2.example.com', 'ip:198.18.1.10']);
    expect(cert(r.certFile).getExtension(x509.ExtendedKeyUsageExtension)?.usages).toEqual([x509.ExtendedKeyUsage.serverAuth, '1.3.6.1.5.5.8.2.2']);
    const at = String(NOW.getTime() / 1000 + 3600);
    expect(openssl(['verify', '-attime', at, '-purpose', 'sslserver', '-CAfile', join(dir, 'ca.pem'), r.certFile]).code).toBe(0);
    expect(openssl(['verify', '-attime', at, '-purpose', 'sslclient', '-CAfile', join(dir, 'ca.pem'), r.certFile]).code).not.toBe(0);
  });

  it('a lifetime past the CA ends with the CA', async () => {
    const dir = freshDir();
    const index = await initCa(dir, { now: NOW, days: 10 });
    const r = await issueMemberCert(dir, { now: NOW, name: 'member-1', address: '198.18.0.1' });
    expect(r.limitedByCa).toBe(true);
    expect(r.entry.notAfter).toBe(index.ca.notAfter);
    expect(await codeOf(issueMemberCert(dir, { now: new Date(NOW.getTime() + 11 * DAY), name: 'member-2', address: '198.18.0.2' }))).toBe('PKI_CA_EXPIRED');
  });

  it('refuses: no CA, existing files (unless forced), bad names, addresses and identities', async () => {
    const dir = freshDir();
    expect(await codeOf(issueMemberCert(dir, { now: NOW, name: 'member-1', address: '198.18.0.1' }))).toBe('PKI_NO_CA');
    await initCa(dir, { now: NOW });
    const first = await issueMemberCert(dir, { now: NOW, name: 'member-1', address: '198.18.0.1' });
    expect(await codeOf(issueMemberCert(dir, { now: NOW, name: 'member-1', address: '198.18.0.1' }))).toBe('PKI_EXISTS');
    const again = await issueMemberCert(dir, { now: NOW, name: 'member-1', address: '198.18.0.1', force: true });
    expect(again.entry.serial).not.toBe(first.entry.serial);
    expect((await readIndex(dir)).certificates.map((c) => c.serial)).toEqual([first.entry.serial, again.entry.serial]);
    expect(await codeOf(issueMemberCert(dir, { now: NOW, name: '../escape', address: '198.18.0.1' }))).toBe('BAD_NAME');
    expect(await codeOf(issueMemberCert(dir, { now: NOW, name: 'member-2', address: '198.18.0.300' }))).toBe('BAD_ADDRESS');
    expect(await codeOf(issueClientCert(dir, { now: NOW, identity: 'not an identity' }))).toBe('BAD_IDENTITY');
    expect(await codeOf(issueServerCert(dir, { now: NOW, name: 'vpn.example.com', addresses: ['nope'] }))).toBe('BAD_ADDRESS');
    expect(await codeOf(issueMemberCert(dir, { now: NOW, name: 'member-2', address: '198.18.0.2', days: 0 }))).toBe('BAD_DAYS');
  });
});

describe('revoke', () => {
  it('marks the entry and re-signs the CRL: the IKE client check and OpenSSL then refuse the certificate', async () => {
    const dir = freshDir();
    await initCa(dir, { now: NOW, keyType: 'rsa-2048' });
    const alice = await issueClientCert(dir, { now: NOW, identity: 'alice.example.com' });
    const bob = await issueClientCert(dir, { now: NOW, identity: 'bob.example.com' });
    const later = new Date(NOW.getTime() + DAY);
    const r = await revokeCertificate(dir, 'alice.example.com', 'key-compromise', later);
    expect(r.crlNumber).toBe(2);
    expect(r.entry).toMatchObject({ name: 'alice.example.com', serial: alice.entry.serial, revokedAt: later.toISOString(), revocationReason: 'key-compromise' });
    expect((await readIndex(dir)).certificates.map((c) => c.revokedAt)).toEqual([later.toISOString(), null]);

    const crlDer = crlOf(dir);
    const crl = new x509.X509Crl(crlDer);
    expect(crl.entries.map((e) => [e.serialNumber.toLowerCase().replace(/^0+/, ''), e.reason, e.revocationDate.getTime()])).toEqual([
      [alice.entry.serial, x509.X509CrlReason.keyCompromise, later.getTime()],
    ]);
    expect(crl.nextUpdate?.getTime()).toBe(later.getTime() + 30 * DAY);
    const trust = { caCertificates: [caDer(dir)], crls: [crlDer] };
    const refused = verifyClientChain(der(alice.certFile), trust, later.getTime() + 1000);
    expect(refused.ok ? 'ok' : refused.problem).toBe('revoked');
    expect(verifyClientChain(der(bob.certFile), trust, later.getTime() + 1000).ok).toBe(true);

    const at = String(later.getTime() / 1000 + 3600);
    const revoked = openssl(['verify', '-attime', at, '-crl_check', '-CAfile', join(dir, 'ca.pem'), '-CRLfile', join(dir, 'crl.pem'), alice.certFile]);
    expect(revoked.out).toMatch(/certificate revoked/);
    expect(openssl(['verify', '-attime', at, '-crl_check', '-CAfile', join(dir, 'ca.pem'), '-CRLfile', join(dir, 'crl.pem'), bob.certFile]).code).toBe(0);
  });

  it('by serial in any spelling; a second revoke, an unknown name and a busy directory are refused', async () => {
    const dir = freshDir();
    await initCa(dir, { now: NOW });
    const m = await issueMemberCert(dir, { now: NOW, name: 'member-1', address: '198.18.0.1' });
    const spelled = `00${m.entry.serial.toUpperCase()}`.replace(/(..)(?=.)/g, '$1:');
    expect((await revokeCertificate(dir, spelled, 'superseded', NOW)).entry.serial).toBe(m.entry.serial);
    expect(await codeOf(revokeCertificate(dir, 'member-1', 'unspecified', NOW))).toBe('PKI_ALREADY_REVOKED');
    expect(await codeOf(revokeCertificate(dir, 'member-9', 'unspecified', NOW))).toBe('PKI_UNKNOWN_CERT');
    // A re-issued member-1 is the one a second revoke by name finds.
    const again = await issueMemberCert(dir, { now: NOW, name: 'member-1', address: '198.18.0.1', force: true });
    expect((await revokeCertificate(dir, 'member-1', 'unspecified', NOW)).entry.serial).toBe(again.entry.serial);
    const entries = new x509.X509Crl(crlOf(dir)).entries;
    expect(entries.map((e) => e.serialNumber.toLowerCase().replace(/^0+/, '')).sort()).toEqual([m.entry.serial, again.entry.serial].sort());
    // 'unspecified' is left out of the CRL entry (RFC 5280 §5.3.1).
    expect(entries.find((e) => e.serialNumber.toLowerCase().endsWith(again.entry.serial))?.reason).toBeUndefined();

    writeFileSync(join(dir, '.lock'), '1\n');
    expect(await codeOf(issueMemberCert(dir, { now: NOW, name: 'member-2', address: '198.18.0.2' }))).toBe('PKI_BUSY');
    rmSync(join(dir, '.lock'));
  });

  it('refuses a tampered index or a CA key that is not the CA certificate\'s', async () => {
    const dir = freshDir();
    await initCa(dir, { now: NOW });
    const index = readFileSync(join(dir, 'index.json'), 'utf8');
    writeFileSync(join(dir, 'index.json'), index.replace('"crlNumber": 1', '"crlNumber": "one"'));
    expect(await codeOf(revokeCertificate(dir, 'x', 'unspecified', NOW))).toBe('PKI_BAD_INDEX');
    writeFileSync(join(dir, 'index.json'), index);
    const other = freshDir();
    await initCa(other, { now: NOW });
    writeFileSync(join(dir, 'ca.key'), readFileSync(join(other, 'ca.key')));
    expect(await codeOf(issueClientCert(dir, { now: NOW, identity: 'a.example.com' }))).toBe('PKI_BAD_CA');
  });
});

