import { X509Certificate as NodeCertificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { createAuth, verifyAuth } from '../../../../../src/apps/ipsec/ike/peer-auth/auth-payload.js';
import {
  ClientTrustStore,
  MAX_CLIENT_CHAIN,
  verifyClientChain,
  type ClientTrust,
} from '../../../../../src/apps/ipsec/ike/peer-auth/client-cert.js';
import { identityMatches, identityPayload } from '../../../../../src/apps/ipsec/ike/peer-auth/identity.js';
import {
  issueEndpoint,
  makeCa,
  makeIntermediate,
  signingAlgorithm,
  validityFrom,
  type CaBundle,
  type EndpointBundle,
} from '../../../../../src/pki/dev-pki.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const DAY = 24 * 3600 * 1000;
const valid = validityFrom(NOW, 365);

let root: CaBundle;
let other: CaBundle;
let inter: CaBundle;
let noSign: CaBundle;
let client: EndpointBundle;
let viaInter: EndpointBundle;
let rsaClient: EndpointBundle;
let p521Client: EndpointBundle;
let expired: EndpointBundle;
let future: EndpointBundle;
let noDigitalSignature: EndpointBundle;
let revokedByCrl: EndpointBundle;
let fromOther: EndpointBundle;
let fromNoSign: EndpointBundle;
let crl: Uint8Array;
let otherCrl: Uint8Array;
let trust: ClientTrust;

async function makeCrl(ca: CaBundle, serials: string[], nextUpdate = NOW + 7 * DAY): Promise<Uint8Array> {
  const c = await x509.X509CrlGenerator.create({
    issuer: ca.cert.subjectName.toString(),
    thisUpdate: new Date(NOW - DAY),
    nextUpdate: new Date(nextUpdate),
    entries: serials.map((serialNumber) => ({ serialNumber, revocationDate: new Date(NOW - DAY) })),
    signingAlgorithm: signingAlgorithm(ca.keyType),
    signingKey: ca.keys.privateKey,
  });
  return new Uint8Array(c.rawData);
}

beforeAll(async () => {
  [root, other] = await Promise.all([
    makeCa({ ...valid, name: 'Shoal Client CA' }),
    makeCa({ ...valid, name: 'Somebody Else CA' }),
  ]);
  [inter, noSign] = await Promise.all([
    makeIntermediate(root, { ...valid, name: 'Shoal Client Sub CA' }),
    makeIntermediate(root, { ...valid, name: 'No Cert Sign CA', keyUsage: 'no-cert-sign' }),
  ]);
  const base = { ...valid, commonName: 'client1', dnsNames: ['client1.shoal.test'], emails: ['client1@shoal.test'], ipAddresses: ['198.18.0.5'] };
  [client, viaInter, rsaClient, p521Client, expired, future, noDigitalSignature, revokedByCrl, fromOther, fromNoSign] = await Promise.all([
    issueEndpoint(root, base),
    issueEndpoint(root, { ...base, commonName: 'client2', intermediate: inter }),
    issueEndpoint(root, { ...base, commonName: 'rsa-client', keyType: 'rsa-2048' }),
    issueEndpoint(root, { ...base, commonName: 'p521-client', keyType: 'ec-p521' }),
    issueEndpoint(root, { ...base, notBefore: new Date(NOW - 30 * DAY), notAfter: new Date(NOW - DAY) }),
    issueEndpoint(root, { ...base, notBefore: new Date(NOW + DAY), notAfter: new Date(NOW + 30 * DAY) }),
    issueEndpoint(root, { ...base, keyUsage: 'key-encipherment-only' }),
    issueEndpoint(root, { ...base, commonName: 'lost-laptop' }),
    issueEndpoint(other, base),
    issueEndpoint(root, { ...base, intermediate: noSign }),
  ]);
  [crl, otherCrl] = await Promise.all([makeCrl(root, ['0badc0de', revokedByCrl.serial]), makeCrl(other, [client.serial])]);
  trust = { caCertificates: [root.der], crls: [crl] };
});

describe('issueEndpoint', () => {
  it('issues a TLS-style leaf: digitalSignature (critical), SANs, EKU', () => {
    const cert = new x509.X509Certificate(client.certDer);
    const ku = cert.getExtension(x509.KeyUsagesExtension);
    expect(ku?.critical).toBe(true);
    expect(ku?.usages).toBe(x509.KeyUsageFlags.digitalSignature);
    expect(cert.getExtension(x509.BasicConstraintsExtension)?.ca).toBe(false);
    expect(cert.getExtension(x509.ExtendedKeyUsageExtension)?.usages).toContain(x509.ExtendedKeyUsage.serverAuth);
    expect(new NodeCertificate(client.certPem).raw.equals(client.certDer)).toBe(true);
    expect(client.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(viaInter.chain).toHaveLength(2);
  });
});

describe('ClientTrustStore.verify', () => {
  let store: ClientTrustStore;
  beforeAll(() => {
    store = new ClientTrustStore(trust);
  });

  it('accepts a leaf issued by a configured CA and reports what identity matching needs', () => {
    const r = store.verify([client.certDer], NOW);
    if (!r.ok) throw new Error(r.detail);
    expect(r.leaf).toMatchObject({
      subjectDn: 'CN=client1, O=Shoal',
      dnsNames: ['client1.shoal.test'],
      emails: ['client1@shoal.test'],
      ipAddresses: ['198.18.0.5'],
      serial: client.serial,
      keyType: 'ec-p256',
    });
    expect(identityMatches(identityPayload('CN=client1, O=Shoal'), r.leaf)).toBe(true);
    // The key verifies the client's AUTH.
    const octets = Uint8Array.of(1, 2, 3);
    const auth = createAuth(octets, { kind: 'private-key', key: client.privateKey, peerHashes: [2] });
    expect(verifyAuth(auth, octets, { kind: 'public-key', key: r.leaf.publicKey }).ok).toBe(true);
  });

  it('follows a path through an intermediate the client sent, with or without the root', () => {
    expect(store.verify(viaInter.chain, NOW)).toMatchObject({ ok: true, leaf: { subjectDn: 'CN=client2, O=Shoal' } });
    expect(store.verify([...viaInter.chain, root.der], NOW).ok).toBe(true);
    expect(store.verify([viaInter.certDer], NOW)).toMatchObject({ ok: false, problem: 'untrusted' });
  });

  it('reports RSA and P-521 keys', () => {
    expect(store.verify([rsaClient.certDer], NOW)).toMatchObject({ ok: true, leaf: { keyType: 'rsa' } });
    expect(store.verify([p521Client.certDer], NOW)).toMatchObject({ ok: true, leaf: { keyType: 'ec-p521' } });
  });

  it('no-certificate and malformed', () => {
    expect(store.verify([], NOW)).toMatchObject({ ok: false, problem: 'no-certificate' });
    expect(store.verify([Uint8Array.of(0x30, 0x03, 1, 2, 3)], NOW)).toMatchObject({ ok: false, problem: 'malformed' });
    const long = Array.from({ length: MAX_CLIENT_CHAIN + 1 }, () => client.certDer);
    expect(store.verify(long, NOW)).toMatchObject({ ok: false, problem: 'malformed' });
  });

  it('untrusted: another CA, or a self-signed certificate', () => {
    expect(store.verify([fromOther.certDer], NOW)).toMatchObject({ ok: false, problem: 'untrusted' });
    expect(store.verify([other.der], NOW)).toMatchObject({ ok: false, problem: 'untrusted' });
  });

  it('expired and not-yet-valid, for the leaf and for the CA', () => {
    expect(store.verify([expired.certDer], NOW)).toMatchObject({ ok: false, problem: 'expired' });
    expect(store.verify([future.certDer], NOW)).toMatchObject({ ok: false, problem: 'not-yet-valid' });
    expect(store.verify([client.certDer], NOW + 400 * DAY)).toMatchObject({ ok: false, problem: 'expired' });
    expect(store.verify([client.certDer], NOW - 2 * DAY)).toMatchObject({ ok: false, problem: 'not-yet-valid' });
  });

  it('revoked by a CRL from the issuing CA, and by serial', () => {
    expect(store.verify([revokedByCrl.certDer], NOW)).toMatchObject({ ok: false, problem: 'revoked' });
    const bySerial = new ClientTrustStore({ caCertificates: [root.der], revokedSerials: [`00${client.serial.toUpperCase()}`] });
    expect(bySerial.verify([client.certDer], NOW)).toMatchObject({ ok: false, problem: 'revoked' });
    // An intermediate's serial revokes everything below it.
    const interRevoked = new ClientTrustStore({ caCertificates: [root.der], revokedSerials: [inter.serial] });
    expect(interRevoked.verify(viaInter.chain, NOW)).toMatchObject({ ok: false, problem: 'revoked' });
  });

  it('crl-stale: once every CRL of the issuing CA is past its nextUpdate, its clients are refused, a remembered success too', () => {
    expect(store.verify([client.certDer], NOW)).toMatchObject({ ok: true }); // remembered
    expect(store.verify([client.certDer], NOW + 7 * DAY)).toMatchObject({ ok: true });
    expect(store.verify([client.certDer], NOW + 7 * DAY + 1)).toEqual({
      ok: false,
      problem: 'crl-stale',
      detail: "Shoal Client CA's CRL is past its nextUpdate 2026-06-08T00:00:00.000Z: its clients are refused until a fresh CRL is installed",
    });
    expect(store.verify(viaInter.chain, NOW + 8 * DAY)).toMatchObject({ ok: false, problem: 'crl-stale' });
    // What the stale list revokes stays revoked.
    expect(store.verify([revokedByCrl.certDer], NOW + 8 * DAY)).toMatchObject({ ok: false, problem: 'revoked' });
    // A CA without CRLs has nothing to go stale.
    expect(new ClientTrustStore({ caCertificates: [root.der] }).verify([client.certDer], NOW + 8 * DAY)).toMatchObject({ ok: true });
  });

  it('a fresh CRL next to a stale one keeps the CA usable', async () => {
    const fresh = await makeCrl(root, [], NOW + 30 * DAY);
    const both = new ClientTrustStore({ caCertificates: [root.der], crls: [crl, fresh] });
    expect(both.verify([client.certDer], NOW + 8 * DAY)).toMatchObject({ ok: true });
    expect(both.verify([revokedByCrl.certDer], NOW + 8 * DAY)).toMatchObject({ ok: false, problem: 'revoked' });
    expect(both.verify([client.certDer], NOW + 31 * DAY)).toMatchObject({ ok: false, problem: 'crl-stale' });
  });

  it('key-usage: a leaf without digitalSignature, an issuer without keyCertSign', () => {
    expect(store.verify([noDigitalSignature.certDer], NOW)).toMatchObject({ ok: false, problem: 'key-usage' });
    expect(store.verify(fromNoSign.chain, NOW)).toMatchObject({ ok: false, problem: 'key-usage' });
  });

  it('never throws on random chains', () => {
    const der = fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      fc.integer({ min: 0, max: 400 }).map((n) => client.certDer.subarray(0, n)),
      fc.integer({ min: 0, max: 400 }).map((n) => {
        const b = Uint8Array.from(client.certDer);
        b[n % b.length]! ^= 0x20;
        return b;
      }),
    );
    fc.assert(
      fc.property(fc.array(der, { maxLength: 3 }), (chain) => {
        const r = store.verify(chain, NOW);
        return typeof r.ok === 'boolean';
      }),
      { numRuns: 200 },
    );
  });
});

describe('ClientTrustStore configuration', () => {
  it('refuses an unparseable CA, an unparseable CRL, and a CRL no configured CA signed', () => {
    expect(() => new ClientTrustStore({ caCertificates: [Uint8Array.of(1, 2, 3)] })).toThrow(/CA certificate #0/);
    expect(() => new ClientTrustStore({ caCertificates: [root.der], crls: [Uint8Array.of(0x30, 0)] })).toThrow(RangeError);
    expect(() => new ClientTrustStore({ caCertificates: [root.der], crls: [otherCrl] })).toThrow(/bad-crl/);
    expect(() => new ClientTrustStore({ caCertificates: [] })).toThrow(RangeError);
  });

  it('the one-off check skips a CRL that does not verify', () => {
    // other's CRL lists client's serial, but other is not the issuer: it must not count.
    expect(verifyClientChain([client.certDer], { caCertificates: [root.der], crls: [otherCrl] }, NOW).ok).toBe(true);
    expect(verifyClientChain([revokedByCrl.certDer], trust, NOW)).toMatchObject({ ok: false, problem: 'revoked' });
  });

  it('a CRL with the issuer name of a configured CA but another key is refused', async () => {
    const impostor = await makeCa({ ...valid, name: 'Shoal Client CA' });
    const forged = await makeCrl(impostor, [client.serial]);
    expect(() => new ClientTrustStore({ caCertificates: [root.der], crls: [forged] })).toThrow(/bad-crl/);
    expect(verifyClientChain([client.certDer], { caCertificates: [root.der], crls: [forged] }, NOW).ok).toBe(true);
  });
});
