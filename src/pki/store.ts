/**
 * A cluster CA kept in a directory (layout: certs/README.md, store-files.ts):
 * what `shoal pki` and the lab's development PKI both call.
 *
 *   initCa ─► ca.pem ca.key(0600) crl.pem(empty) index.json
 *   issue* ─► issued/<name>.pem + .key(0600), an index entry  (store-issue.ts)
 *   revokeCertificate ─► index entry marked ─► crl.pem re-signed (CRLNumber + 1)
 *
 * src/pki never reads the clock: every call takes `now`. Every change holds the
 * directory's lock and writes files atomically; crl.pem is written before the
 * index, so a crash in between leaves a CRL that says at least as much.
 */
import { KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { normaliseSerial } from '../cluster/auth/trust.js';
import { ShoalError } from '../lib/errors.js';
import { makeCa, type CaBundle } from './ca.js';
import { caFromPem } from './ca-files.js';
import { crlPem, signCrl } from './crl.js';
import { DEVELOPMENT_OU } from './development.js';
import { certificatePem, privateKeyPem } from './pem.js';
import type { RevocationReason } from './revocation-reasons.js';
import { INDEX_FORMAT, formatIndex, parseIndex, type IndexEntry, type StoreIndex } from './store-index.js';
import { makePrivateDir, readStoreFile, requireCa, storePaths, withStoreLock, writeAtomic, type StorePaths } from './store-files.js';
import { DEFAULT_STORE_KEY_TYPE, generatedKeyType, type StoreKeyType } from './store-keys.js';
import { validityFrom } from './validity.js';

export const DEFAULT_DAYS = { ca: 3650, member: 730, client: 365, server: 730 } as const;
export const DEFAULT_CRL_DAYS = 30;
export const DEFAULT_STORE_CA_NAME = 'Shoal Cluster CA';
export const DEFAULT_DEV_CA_NAME = 'Shoal Development CA';
const DAY_MS = 86_400_000;

export interface InitCaOptions {
  now: Date;
  keyType?: StoreKeyType;
  /** CA lifetime. Default 3650. */
  days?: number;
  /** Subject CN. Default "Shoal Cluster CA" ("Shoal Development CA" with `development`). */
  name?: string;
  /** Subject O. Default "Shoal". */
  organization?: string;
  /** OU "Shoal development" on the CA and on everything it issues. */
  development?: boolean;
  /** crl.pem's nextUpdate after each signing. Default 30. */
  crlDays?: number;
  /** Replace an existing CA (its index too; files under issued/ are left). */
  force?: boolean;
}

/** An open CA directory: the CA able to sign, and its index. */
export interface OpenStore {
  paths: StorePaths;
  ca: CaBundle;
  index: StoreIndex;
}

function checkDays(days: number, what: string): number {
  if (!Number.isInteger(days) || days < 1 || days > 36_500) throw new ShoalError('BAD_DAYS', `${what}: days must be a whole number from 1 to 36500, not ${days}`);
  return days;
}

/** Make a new CA in `dir` (created 0700 if missing); refuses to replace one unless `force`. */
export async function initCa(dir: string, o: InitCaOptions): Promise<StoreIndex> {
  const days = checkDays(o.days ?? DEFAULT_DAYS.ca, 'CA lifetime');
  const crlDays = checkDays(o.crlDays ?? DEFAULT_CRL_DAYS, 'CRL lifetime');
  const keyType = o.keyType ?? DEFAULT_STORE_KEY_TYPE;
  const p = storePaths(dir);
  await makePrivateDir(dir);
  await makePrivateDir(p.issuedDir);
  return withStoreLock(dir, async () => {
    const existing = [p.caCert, p.caKey, p.index].filter((f) => existsSync(f));
    if (existing.length > 0 && o.force !== true) {
      throw new ShoalError('PKI_EXISTS', `a CA exists in ${dir} (${existing.join(', ')}): --force replaces it`);
    }
    const development = o.development === true;
    const ca = await makeCa({
      ...validityFrom(o.now, days),
      name: o.name ?? (development ? DEFAULT_DEV_CA_NAME : DEFAULT_STORE_CA_NAME),
      ...(o.organization === undefined ? {} : { organization: o.organization }),
      ...(development ? { organizationalUnit: DEVELOPMENT_OU } : {}),
      keyType: generatedKeyType(keyType),
    });
    const index: StoreIndex = {
      format: INDEX_FORMAT,
      development,
      ca: {
        subject: ca.cert.subject,
        serial: normaliseSerial(ca.serial),
        keyType,
        notBefore: ca.cert.notBefore.toISOString(),
        notAfter: ca.cert.notAfter.toISOString(),
      },
      crlNumber: 0,
      crlDays,
      certificates: [],
    };
    await writeAtomic(p.caKey, privateKeyPem(KeyObject.from(ca.keys.privateKey)), 0o600);
    await writeAtomic(p.caCert, certificatePem(ca.der), 0o644);
    return saveWithCrl({ paths: p, ca, index }, index, o.now);
  });
}

/** The CA in `dir`, ready to issue; throws PKI_NO_CA, PKI_BAD_CA or PKI_BAD_INDEX naming what is wrong. */
export async function openStore(dir: string): Promise<OpenStore> {
  const paths = requireCa(dir);
  const index = parseIndex(await readStoreFile(paths.index, 'CA index'), paths.index);
  const ca = await caFromPem(await readStoreFile(paths.caCert, 'CA certificate'), await readStoreFile(paths.caKey, 'CA key'), paths.caCert, paths.caKey);
  if (normaliseSerial(ca.serial) !== index.ca.serial) {
    throw new ShoalError('PKI_BAD_INDEX', `${paths.index} describes CA serial ${index.ca.serial}, but ${paths.caCert} has serial ${normaliseSerial(ca.serial)}`);
  }
  return { paths, ca, index };
}

/** The index only (no private key is read): for listing. */
export async function readIndex(dir: string): Promise<StoreIndex> {
  const paths = requireCa(dir);
  return parseIndex(await readStoreFile(paths.index, 'CA index'), paths.index);
}

/**
 * Sign a CRL of everything `next` marks revoked (CRLNumber one above the last),
 * write it, then the index: the CRL never says less than the index.
 */
export async function saveWithCrl(store: OpenStore, next: StoreIndex, now: Date): Promise<StoreIndex> {
  const number = next.crlNumber + 1;
  const revoked = next.certificates
    .filter((c) => c.revokedAt !== null)
    .map((c) => ({ serial: c.serial, revokedAt: new Date(c.revokedAt ?? now), reason: c.revocationReason ?? 'unspecified' }));
  const der = await signCrl(store.ca, revoked, { thisUpdate: now, nextUpdate: new Date(now.getTime() + next.crlDays * DAY_MS), number });
  await writeAtomic(store.paths.crl, crlPem(der), 0o644);
  const saved = { ...next, crlNumber: number };
  await writeAtomic(store.paths.index, formatIndex(saved), 0o644);
  return saved;
}

/** The index entry `ref` (a name or a serial) points at, for revoking: one that is not yet revoked. */
export function findForRevoke(index: StoreIndex, ref: string): IndexEntry {
  const byName = index.certificates.filter((c) => c.name === ref);
  const serial = /^[0-9a-fA-F:]+$/.test(ref) ? normaliseSerial(ref.replace(/:/g, '')) : null;
  const matches = byName.length > 0 ? byName : index.certificates.filter((c) => c.serial === serial);
  if (matches.length === 0) throw new ShoalError('PKI_UNKNOWN_CERT', `no certificate named or numbered '${ref}' in this CA (see \`shoal pki list\`)`);
  const live = matches.filter((c) => c.revokedAt === null);
  const [first] = live;
  if (first === undefined) throw new ShoalError('PKI_ALREADY_REVOKED', `'${ref}' (serial ${matches.map((c) => c.serial).join(', ')}) is already revoked`);
  if (live.length > 1) throw new ShoalError('PKI_AMBIGUOUS', `'${ref}' names ${live.length} valid certificates (serials ${live.map((c) => c.serial).join(', ')}): revoke by serial`);
  return first;
}

/** Revoke the certificate `ref` names (name or serial) and re-sign crl.pem; the revoked entry and the new CRL's number. */
export async function revokeCertificate(dir: string, ref: string, reason: RevocationReason, now: Date): Promise<{ entry: IndexEntry; crlNumber: number }> {
  return withStoreLock(dir, async () => {
    const store = await openStore(dir);
    const target = findForRevoke(store.index, ref);
    const revoked: IndexEntry = { ...target, revokedAt: now.toISOString(), revocationReason: reason };
    const certificates = store.index.certificates.map((c) => (c === target ? revoked : c));
    const saved = await saveWithCrl(store, { ...store.index, certificates }, now);
    return { entry: revoked, crlNumber: saved.crlNumber };
  });
}

/** Re-sign crl.pem with a fresh nextUpdate (nothing else changes). */
export async function refreshCrl(dir: string, now: Date): Promise<StoreIndex> {
  return withStoreLock(dir, async () => {
    const store = await openStore(dir);
    return saveWithCrl(store, store.index, now);
  });
}
