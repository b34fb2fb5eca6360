/**
 * The lab's IPsec credentials, from the lab's development CA store: the
 * cluster's VPN server certificate (vpn.shoal.test and the outside cluster
 * address) and two road-warrior clients, one ECDSA and one RSA, plus a
 * pre-shared key identity. Made once per lab, next to the member certificates,
 * by the store functions `shoal pki issue-server | issue-client` call, and
 * written under the lab's file names too (vpn.pem, client-ec.pem …).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { writePrivate, writePublic } from './members-files.js';
import { CLUSTER } from './plan.js';

export const LAB_IPSEC = {
  serverName: 'vpn.shoal.test',
  serverCert: 'vpn.pem',
  serverKey: 'vpn.key',
  clients: [
    { name: 'client1.shoal.test', cert: 'client-ec.pem', key: 'client-ec.key', keyType: 'ecdsa-p256' },
    { name: 'client2.shoal.test', cert: 'client-rsa.pem', key: 'client-rsa.key', keyType: 'rsa-2048' },
  ],
  pskIdentity: 'fqdn:psk1.shoal.test',
  pskSecret: 'shoal-lab-pre-shared-key',
  /** 65,534 virtual addresses: 64 for each work unit. */
  pool: '198.19.0.0/16',
} as const;

/** Lifetime of the lab's IPsec certificates (the lab's CA lives as long). */
const VALID_DAYS = 30;

/** Issue what is missing from the CA store in `pkiDir` (which must hold the lab's CA). */
export async function ensureIpsecPki(pkiDir: string, now: Date): Promise<void> {
  const wanted = [LAB_IPSEC.serverCert, ...LAB_IPSEC.clients.map((c) => c.cert)];
  if (wanted.every((f) => existsSync(join(pkiDir, f)))) return;
  const { issueClientCert, issueServerCert } = await import('../pki/store-issue.js');
  const server = await issueServerCert(pkiDir, { now, name: LAB_IPSEC.serverName, addresses: [CLUSTER.outsideAddress], days: VALID_DAYS, force: true });
  await writePrivate(join(pkiDir, LAB_IPSEC.serverKey), server.keyPem);
  await writePublic(join(pkiDir, LAB_IPSEC.serverCert), server.certPem);
  for (const c of LAB_IPSEC.clients) {
    const b = await issueClientCert(pkiDir, { now, identity: c.name, keyType: c.keyType, days: VALID_DAYS, force: true });
    await writePrivate(join(pkiDir, c.key), b.keyPem);
    await writePublic(join(pkiDir, c.cert), b.certPem);
  }
}
