/**
 * What a lab member daemon needs on disk before it can start: a certificate
 * from the lab's throwaway development CA, and its configuration file.
 *
 * The lab's pki/ directory is a CA store (src/pki/store.ts, the one
 * `shoal pki` uses), made on first use with the development mark, so a lab
 * that grows (`shoal lab add`) issues the new member's certificate from the
 * same CA the running members trust, and `shoal pki revoke --dir <lab>/pki`
 * works on a lab. The store's issued/<name> files are also written under the
 * lab's own names (m<i>.pem …), which the configurations and tests use. Each
 * member's configuration names its certificate, the CA, the interconnect,
 * its admin socket and how frames for the cluster address reach it.
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MEMBER_EKU } from '../cluster/auth/member-purpose.js';
import { ShoalError } from '../lib/errors.js';
import type { CaBundle } from '../pki/ca.js';
import { ensureIpsecPki, LAB_IPSEC } from './ipsec-pki.js';
import { mkdirPrivate, writePrivate, writePublic, type MemberLayout } from './members-files.js';
import { CLUSTER, LAB_ADDRESSES, MEMBER_DEVICES, memberAddress } from './plan.js';

/** The delivery modes the lab can run (all three of the patent's). */
export const LAB_MODES = ['unicast', 'multicast', 'forwarding'] as const;
export type LabMode = (typeof LAB_MODES)[number];
export const DEFAULT_LAB_MODE: LabMode = 'unicast';

/** Lifetime of the lab's CA and of everything it issues. */
export const LAB_PKI_DAYS = 30;
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
  const now = new Date();
  const report = await ensureMemberPki(layout, name, members, now);
  await ensureIpsecPki(layout.pkiDir(name), now);
  return report;
}

async function ensureMemberPki(layout: MemberLayout, name: string, members: number, now: Date): Promise<PkiReport> {
  const dir = layout.pkiDir(name);
  await mkdirPrivate(layout.labDir(name));
  await mkdirPrivate(dir);
  const caPem = join(dir, 'ca.pem');
  const report: PkiReport = { dir, ca: caPem, createdCa: false, issued: [] };
  // Loaded here, not at start-up: the certificate library takes a while to load.
  const { initCa, refreshCrl } = await import('../pki/store.js');
  const { storePaths } = await import('../pki/store-files.js');
  const { issueMemberCert } = await import('../pki/store-issue.js');
  const paths = storePaths(dir);
  if (!existsSync(paths.caCert) || !existsSync(paths.caKey)) {
    await initCa(dir, { now, development: true, keyType: 'ecdsa-p256', days: LAB_PKI_DAYS, name: DEV_CA_NAME, force: true });
    report.createdCa = true;
  } else if (!existsSync(paths.index)) {
    throw new ShoalError('LAB_PKI_OLD', `${dir} holds a CA from an older Shoal (no index.json): run \`shoal lab down --name ${name}\` and build the lab again`);
  } else {
    // A kept lab's crl.pem may be past its nextUpdate, which refuses every IKE client: sign it afresh.
    await refreshCrl(dir, now);
  }
  for (let i = 1; i <= members; i++) {
    // A certificate from before member certificates carried the member mark would be refused at join: issue it again.
    if (!report.createdCa && layout.pkiFiles(name, i) !== null && hasMemberMark(layout.files(name, i).certificate)) continue;
    const m = await issueMemberCert(dir, { now, name: `member-${i}`, address: memberAddress(i), keyType: 'ecdsa-p256', days: LAB_PKI_DAYS, force: true });
    const f = layout.files(name, i);
    await writePrivate(f.key, m.keyPem);
    await writePublic(f.certificate, m.certPem);
    report.issued.push(i);
  }
  return report;
}

/** Whether the PEM certificate file carries the member ExtendedKeyUsage the join check requires. */
function hasMemberMark(certFile: string): boolean {
  try {
    return new X509Certificate(readFileSync(certFile)).keyUsage?.includes(MEMBER_EKU) ?? false;
  } catch {
    return false;
  }
}

/** Member-i's daemon configuration: `<labdir>/m<i>.json`. */
export async function writeConfig(layout: MemberLayout, name: string, i: number, mode: string = DEFAULT_LAB_MODE, espKeysFile?: string): Promise<string> {
  const lm = parseLabMode(mode);
  const f = layout.files(name, i);
  const crl = join(layout.pkiDir(name), 'crl.pem');
  await mkdirPrivate(layout.labDir(name));
  const config = {
    cluster: { name: `lab-${name}`, configVersion: 1 },
    member: { address: memberAddress(i), certificate: f.certificate, key: f.key },
    // The CA store's own crl.pem: `shoal pki revoke --dir <lab>/pki` takes effect at the next join or IKE_AUTH.
    trust: { ca: [f.ca], crl: [crl] },
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
      crl: [crl],
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

/** The lab's CA back from its PEM files, able to issue more certificates (tests issue extra clients with it). */
export async function loadCa(certFile: string, keyFile: string): Promise<CaBundle> {
  const { caFromPem } = await import('../pki/ca-files.js');
  return caFromPem(await readFile(certFile, 'utf8'), await readFile(keyFile, 'utf8'), certFile, keyFile);
}
