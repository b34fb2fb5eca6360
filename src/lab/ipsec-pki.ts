/**
 * The lab's IPsec credentials, from the lab's development CA: the cluster's
 * VPN server certificate (vpn.shoal.test and the outside cluster address)
 * and two road-warrior clients, one ECDSA and one RSA, plus a pre-shared key
 * identity. Made once per lab, next to the member certificates.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { CaBundle } from '../pki/ca.js';
import { writePrivate, writePublic } from './members-files.js';
import { CLUSTER } from './plan.js';

export const LAB_IPSEC = {
  serverName: 'vpn.shoal.test',
  serverCert: 'vpn.pem',
  serverKey: 'vpn.key',
  clients: [
    { name: 'client1.shoal.test', cert: 'client-ec.pem', key: 'client-ec.key', keyType: 'ec-p256' },
    { name: 'client2.shoal.test', cert: 'client-rsa.pem', key: 'client-rsa.key', keyType: 'rsa' },
  ],
  pskIdentity: 'fqdn:psk1.shoal.test',
  pskSecret: 'shoal-lab-pre-shared-key',
  /** 65,534 virtual addresses: 64 for each work unit. */
  pool: '198.19.0.0/16',
} as const;

const DAY_MS = 86_400_000;
const VALID_DAYS = 30;

export async function ensureIpsecPki(pkiDir: string, loadCa: (certFile: string, keyFile: string) => Promise<CaBundle>): Promise<void> {
  const wanted = [LAB_IPSEC.serverCert, ...LAB_IPSEC.clients.map((c) => c.cert)];
  if (wanted.every((f) => existsSync(join(pkiDir, f)))) return;
  const ca = await loadCa(join(pkiDir, 'ca.pem'), join(pkiDir, 'ca.key'));
  const { issueEndpoint } = await import('../pki/endpoint.js');
  const notBefore = new Date(Date.now() - DAY_MS);
  const notAfter = new Date(Date.now() + VALID_DAYS * DAY_MS);
  const server = await issueEndpoint(ca, { commonName: LAB_IPSEC.serverName, dnsNames: [LAB_IPSEC.serverName], ipAddresses: [CLUSTER.outsideAddress], notBefore, notAfter });
  await writePrivate(join(pkiDir, LAB_IPSEC.serverKey), server.keyPem);
  await writePublic(join(pkiDir, LAB_IPSEC.serverCert), server.certPem);
  for (const c of LAB_IPSEC.clients) {
    const b = await issueEndpoint(ca, { commonName: c.name, dnsNames: [c.name], keyType: c.keyType, notBefore, notAfter });
    await writePrivate(join(pkiDir, c.key), b.keyPem);
    await writePublic(join(pkiDir, c.cert), b.certPem);
  }
}
