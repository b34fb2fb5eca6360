/**
 * What a lab member daemon needs on disk before it can start: a certificate
 * from the lab's throwaway development CA, and its configuration file.
 *
 * The CA is made on first use and its key kept (pki/ca.key), so a lab that
 * grows (`shoal lab add`) issues the new member's certificate from the same CA
 * the running members trust. Each member's configuration names its
 * certificate, the CA, the interconnect, its admin socket and how frames for
 * the cluster address reach it (the lab mode).
 */
import { createPrivateKey, KeyObject, webcrypto } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { certificatesFromPem } from '../daemon/credentials.js';
import { ShoalError } from '../lib/errors.js';
import type { CaBundle, MemberBundle } from '../pki/dev-pki.js';
import { ensureIpsecPki, LAB_IPSEC } from './ipsec-pki.js';
import { mkdirPrivate, writePrivate, writePublic, type MemberLayout } from './members-files.js';
import { CLUSTER, LAB_ADDRESSES, MEMBER_DEVICES, memberAddress } from './plan.js';

/** The delivery modes the lab can run (all three of the patent's). */
export const LAB_MODES = ['unicast', 'multicast', 'forwarding'] as const;
export type LabMode = (typeof LAB_MODES)[number];
export const DEFAULT_LAB_MODE: LabMode = 'unicast';

const DAY_MS = 86_400_000;
const PKI_VALID_DAYS = 30;
const DEV_KEY_TYPE = 'ec-p256';
const DEV_CA_NAME = 'Shoal Lab Dev CA';

/** Throws BAD_LAB_MODE unless `mode` is one the lab can run. */
export function parseLabMode(mode: string): LabMode {
  if ((LAB_MODES as readonly string[]).includes(mode)) return mode as LabMode;
  throw new ShoalError('BAD_LAB_MODE', `mode '${mode}': expected one of ${LAB_MODES.join(', ')}`);
}

export interface PkiReport {
  dir: string;
  ca: string;
  /** True when this call made the CA. */
  createdCa: boolean;
  /** Members whose certificate this call issued. */
  issued: number[];
}

/**
 * A development CA on first use, and a certificate for every member 1..members
 * that has none yet (the CA key stays in pki/ca.key so a growing lab can issue more).
 */
export async function ensurePki(layout: MemberLayout, name: string, members: number): Promise<PkiReport> {
  const report = await ensureMemberPki(layout, name, members);
  await ensureIpsecPki(layout.pkiDir(name), (certFile, keyFile) => loadCa(certFile, keyFile));
  return report;
}

async function ensureMemberPki(layout: MemberLayout, name: string, members: number): Promise<PkiReport> {
  const dir = layout.pkiDir(name);
  await mkdirPrivate(layout.labDir(name));
  await mkdirPrivate(dir);
  const caPem = join(dir, 'ca.pem');
  const caKey = join(dir, 'ca.key');
  const notBefore = new Date(Date.now() - DAY_MS);
  const notAfter = new Date(Date.now() + PKI_VALID_DAYS * DAY_MS);
  const report: PkiReport = { dir, ca: caPem, createdCa: false, issued: [] };
  const missing = Array.from({ length: members }, (_, k) => k + 1).filter((i) => layout.pkiFiles(name, i) === null);

  // Loaded here, not at start-up: the certificate library takes a while to load.
  const { issueMember, makeDevCluster } = await import('../pki/dev-pki.js');
  const { certificatePem, privateKeyPem } = await import('../pki/pem.js');
  if (!existsSync(caPem) || !existsSync(caKey)) {
    const dev = await makeDevCluster({ count: members, firstIp: memberAddress(1), notBefore, notAfter, caName: DEV_CA_NAME, keyType: DEV_KEY_TYPE });
    await writePrivate(caKey, privateKeyPem(KeyObject.from(dev.ca.keys.privateKey)));
    await writePublic(caPem, certificatePem(dev.ca.rootDer));
    for (const [k, m] of dev.members.entries()) await writeMember(layout, name, k + 1, m);
    return { ...report, createdCa: true, issued: dev.members.map((_, k) => k + 1) };
  }
  if (missing.length === 0) return report;
  const ca = await loadCa(caPem, caKey);
  for (const i of missing) {
    const m = await issueMember(ca, { cn: `member-${i}`, ip: memberAddress(i), notBefore, notAfter, keyType: DEV_KEY_TYPE });
    await writeMember(layout, name, i, m);
    report.issued.push(i);
  }
  return report;
}

/** Member-i's daemon configuration: `<labdir>/m<i>.json`. */
export async function writeConfig(layout: MemberLayout, name: string, i: number, mode: string = DEFAULT_LAB_MODE, espKeysFile?: string): Promise<string> {
  const lm = parseLabMode(mode);
  const f = layout.files(name, i);
  await mkdirPrivate(layout.labDir(name));
  const config = {
    cluster: { name: `lab-${name}`, configVersion: 1 },
    member: { address: memberAddress(i), certificate: f.certificate, key: f.key },
    trust: { ca: [f.ca] },
    interconnect: { group: CLUSTER.controlGroup, port: CLUSTER.controlPort },
    admin: { socket: f.socket },
    outer: {
      tap: MEMBER_DEVICES.outerTap,
      mode: lm,
      address: CLUSTER.outsideAddress,
      subnet: LAB_ADDRESSES.outerNetwork,
      gateway: LAB_ADDRESSES.routerOuter,
      mtu: 1500,
    },
    inner: {
      tap: MEMBER_DEVICES.innerTap,
      address: CLUSTER.insideGateway,
      subnet: LAB_ADDRESSES.innerNetwork,
      mtu: 1500,
    },
    ipsec: {
      certificate: join(layout.pkiDir(name), LAB_IPSEC.serverCert),
      key: join(layout.pkiDir(name), LAB_IPSEC.serverKey),
      clientCa: [f.ca],
      pool: LAB_IPSEC.pool,
      psk: [{ identity: LAB_IPSEC.pskIdentity, secret: LAB_IPSEC.pskSecret }],
      ...(espKeysFile ? { espKeysFile } : {}),
    },
  };
  await writePrivate(f.config, `${JSON.stringify(config, null, 2)}\n`);
  return f.config;
}

/** The mode in member-i's configuration file, or null when it has none. */
export function configuredMode(layout: MemberLayout, name: string, i: number): LabMode | null {
  try {
    const c = JSON.parse(readFileSync(layout.files(name, i).config, 'utf8')) as { outer?: { mode?: string } };
    const mode = c.outer?.mode;
    return mode !== undefined && (LAB_MODES as readonly string[]).includes(mode) ? (mode as LabMode) : null;
  } catch {
    return null;
  }
}

async function writeMember(layout: MemberLayout, name: string, i: number, m: MemberBundle): Promise<void> {
  const { certificatePem, privateKeyPem } = await import('../pki/pem.js');
  const f = layout.files(name, i);
  await writePrivate(f.key, privateKeyPem(m.privateKey));
  await writePublic(f.certificate, m.chain.map(certificatePem).join(''));
}

/** The dev CA back from its PEM files, able to issue more member certificates. */
export async function loadCa(certFile: string, keyFile: string): Promise<CaBundle> {
  const [der] = certificatesFromPem(await readFile(certFile, 'utf8'), certFile);
  if (der === undefined) throw new ShoalError('LAB_PKI_BAD', `${certFile} holds no certificate`);
  const x509 = await import('@peculiar/x509');
  const { DEFAULT_ORGANIZATION } = await import('../pki/dev-pki.js');
  const cert = new x509.X509Certificate(der);
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256' };
  const pkcs8 = createPrivateKey(await readFile(keyFile, 'utf8')).export({ type: 'pkcs8', format: 'der' });
  const privateKey = await webcrypto.subtle.importKey('pkcs8', pkcs8, algorithm, true, ['sign']);
  const publicKey = await webcrypto.subtle.importKey('spki', cert.publicKey.rawData, algorithm, true, ['verify']);
  return {
    name: DEV_CA_NAME,
    der,
    cert,
    keys: { privateKey, publicKey },
    keyType: DEV_KEY_TYPE,
    serial: cert.serialNumber,
    organization: DEFAULT_ORGANIZATION,
    rootDer: der,
    chainAboveLeaf: [],
  };
}
