/**
 * A cluster member's configuration on disk, as src/lab/members-pki.ts writes
 * one, for the personality tests: a (non-development) cluster CA, member-1's
 * chain and key, the VPN server certificate and key, and m1.json naming them
 * by relative paths. `controlPlaneOnly` leaves out outer/inner/ipsec, so a
 * daemon started from it needs no namespace (it binds 127.0.0.1).
 * Also: administrator keys and a development-marked CA for refusal tests.
 */
import { generateKeyPairSync, webcrypto, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { makeCa, issueMember, issueEndpoint, type CaBundle } from '../../src/pki/dev-pki.js';
import { certificatePem, privateKeyPem } from '../../src/pki/pem.js';

export const VALIDITY = { notBefore: new Date(Date.now() - 86_400_000), notAfter: new Date(Date.now() + 30 * 86_400_000) };

export interface MemberOnDisk {
  dir: string;
  configPath: string;
  config: Record<string, unknown>;
  ca: CaBundle;
  /** PEM texts written, to check nothing secret leaks. */
  memberKeyPem: string;
  vpnKeyPem: string;
}

export interface MemberOptions {
  controlPlaneOnly?: boolean;
  configVersion?: number;
  port?: number;
  /** Replaces/extends the ipsec section. */
  ipsec?: Record<string, unknown>;
  ca?: CaBundle;
  /** Add an (empty) member CRL from the CA as trust.crl. */
  crl?: boolean;
}

export const PSK_SECRET = 'flash-test-pre-shared-key';

export async function writeMember(dir: string, o: MemberOptions = {}): Promise<MemberOnDisk> {
  const ca = o.ca ?? (await makeCa({ ...VALIDITY, name: 'Shoal Flash Test CA' }));
  const address = o.controlPlaneOnly ? '127.0.0.1' : '198.18.3.11';
  const member = await issueMember(ca, { ...VALIDITY, cn: 'member-1', ip: address });
  const vpn = await issueEndpoint(ca, { ...VALIDITY, commonName: 'vpn.shoal.test', dnsNames: ['vpn.shoal.test'], ipAddresses: ['198.18.1.10'] });
  const memberKeyPem = privateKeyPem(member.privateKey);
  writeFileSync(join(dir, 'ca.pem'), certificatePem(ca.rootDer));
  writeFileSync(join(dir, 'm1.pem'), member.chain.map(certificatePem).join(''));
  writeFileSync(join(dir, 'm1.key'), memberKeyPem, { mode: 0o600 });
  writeFileSync(join(dir, 'vpn.pem'), vpn.certPem);
  writeFileSync(join(dir, 'vpn.key'), vpn.keyPem, { mode: 0o600 });
  if (o.crl === true) writeFileSync(join(dir, 'members.crl'), await emptyCrl(ca));
  const base = {
    cluster: { name: 'flash-test', configVersion: o.configVersion ?? 1 },
    member: { address, certificate: 'm1.pem', key: 'm1.key' },
    trust: { ca: ['ca.pem'], allowedMembers: ['member-1', 'member-2'], revokedSerials: ['0badc0de'], ...(o.crl === true ? { crl: ['members.crl'] } : {}) },
    interconnect: { group: '239.255.83.72', port: o.port ?? 5400 },
    admin: { socket: 'm1.sock' },
    log: { level: 'warn' },
  };
  const config: Record<string, unknown> = o.controlPlaneOnly
    ? base
    : {
        ...base,
        outer: { tap: 'tapo', mode: 'unicast', address: '198.18.1.10', subnet: '198.18.1.0/24', gateway: '198.18.1.1', mtu: 1500 },
        inner: { tap: 'tapi', address: '198.18.2.1', subnet: '198.18.2.0/24', mtu: 1500 },
        ipsec: {
          certificate: 'vpn.pem',
          key: 'vpn.key',
          clientCa: ['ca.pem'],
          pool: '198.19.0.0/16',
          psk: [{ identity: 'fqdn:psk1.shoal.test', secret: PSK_SECRET }],
          ...o.ipsec,
        },
      };
  const configPath = join(dir, 'm1.json');
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  return { dir, configPath, config, ca, memberKeyPem, vpnKeyPem: vpn.keyPem };
}

/** An administrator key pair; the public half as PEM (the trust root). */
export function adminKey(type: 'ec' | 'ed25519' = 'ec'): { privateKey: KeyObject; publicPem: string } {
  const k = type === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey: k.privateKey, publicPem: k.publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

/** A CA whose subject carries OU=Shoal development, as the lab's development CA does. */
export async function developmentCa(): Promise<CaBundle> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256' };
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=Shoal Lab Dev CA, OU=Shoal development, O=Shoal',
    ...VALIDITY,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    keys,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true)],
  });
  const der = new Uint8Array(cert.rawData);
  return { name: 'Shoal Lab Dev CA', der, cert, keys, keyType: 'ec-p256', serial: '01', organization: 'Shoal', rootDer: der, chainAboveLeaf: [] };
}

/** A CRL from `ca` revoking nothing, DER. */
async function emptyCrl(ca: CaBundle): Promise<Uint8Array> {
  const crl = await x509.X509CrlGenerator.create({
    issuer: ca.cert.subjectName,
    thisUpdate: new Date(Date.now() - 3_600_000),
    nextUpdate: new Date(Date.now() + 7 * 86_400_000),
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    signingKey: ca.keys.privateKey,
  });
  return new Uint8Array(crl.rawData);
}
