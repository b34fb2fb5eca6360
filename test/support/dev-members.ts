/**
 * A development PKI and member configuration files for tests that run real
 * `shoal run` daemons: a throwaway CA (ca.pem), a chain and key per member
 * (m<i>.pem, m<i>.key; valid from a day ago to a day ahead) and each
 * member's configuration (m<i>.json), all in one directory. The caller says
 * what goes into each configuration; the PEM names it gets are relative to
 * `dir`, where the configuration file lives.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeDevCluster } from '../../src/pki/dev-pki.js';
import { certificatePem, privateKeyPem } from '../../src/pki/pem.js';

/** Member-i's PEM files, named relative to the directory holding its configuration. */
export interface DevMemberPem {
  ca: string;
  certificate: string;
  key: string;
}

/**
 * Members 1..count with consecutive addresses from `firstIp`: writes their PKI
 * and `configFor(i, pem)` as m<i>.json; returns the configuration paths (index i-1).
 */
export async function writeDevMembers(dir: string, count: number, firstIp: string, configFor: (i: number, pem: DevMemberPem) => object): Promise<string[]> {
  const dev = await makeDevCluster({ count, firstIp, notBefore: new Date(Date.now() - 86_400_000), notAfter: new Date(Date.now() + 86_400_000) });
  writeFileSync(join(dir, 'ca.pem'), certificatePem(dev.ca.rootDer));
  return dev.members.map((m, k) => {
    const i = k + 1;
    writeFileSync(join(dir, `m${i}.pem`), m.chain.map(certificatePem).join(''));
    writeFileSync(join(dir, `m${i}.key`), privateKeyPem(m.privateKey), { mode: 0o600 });
    const config = join(dir, `m${i}.json`);
    writeFileSync(config, JSON.stringify(configFor(i, { ca: 'ca.pem', certificate: `m${i}.pem`, key: `m${i}.key` }), null, 2));
    return config;
  });
}
