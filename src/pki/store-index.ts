/**
 * index.json of a CA directory: what the CA is and every certificate it
 * issued, revoked ones included (the CRL is rebuilt from it). Read back with
 * a check of every field, so a hand-edited or truncated index is refused with
 * the field named instead of issuing from a half-understood state.
 */
import { normaliseSerial } from '../cluster/auth/trust.js';
import { ShoalError } from '../lib/errors.js';
import { REVOCATION_REASONS, type RevocationReason } from './revocation-reasons.js';
import { isStoreKeyType, type StoreKeyType } from './store-keys.js';

export const INDEX_FORMAT = 'shoal-ca/1';

export const CERT_KINDS = ['member', 'client', 'server'] as const;
export type CertKind = (typeof CERT_KINDS)[number];

export interface IndexEntry {
  /** File name under issued/ (without .pem / .key) and the handle `revoke` takes. */
  name: string;
  kind: CertKind;
  /** Hex, normalised (see normaliseSerial). */
  serial: string;
  subject: string;
  /** "dns:…", "ip:…", "email:…". */
  san: string[];
  keyType: StoreKeyType;
  /** ISO 8601. */
  notBefore: string;
  notAfter: string;
  /** ISO 8601, or null while valid. */
  revokedAt: string | null;
  revocationReason: RevocationReason | null;
}

export interface StoreIndex {
  format: typeof INDEX_FORMAT;
  /** Made by `init-ca --development`: OU "Shoal development" on the CA and everything it issues. */
  development: boolean;
  ca: { subject: string; serial: string; keyType: StoreKeyType; notBefore: string; notAfter: string };
  /** The CRLNumber of crl.pem. */
  crlNumber: number;
  /** crl.pem's nextUpdate is this many days after its thisUpdate. */
  crlDays: number;
  certificates: IndexEntry[];
}

type Obj = Record<string, unknown>;

function bad(file: string, field: string, why: string): never {
  throw new ShoalError('PKI_BAD_INDEX', `${file}: ${field}: ${why}`);
}

function obj(v: unknown, file: string, field: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(file, field, 'must be an object');
  return v as Obj;
}

function text(o: Obj, key: string, file: string, field: string): string {
  const v = o[key];
  if (typeof v !== 'string' || v === '') bad(file, `${field}.${key}`, 'must be a non-empty string');
  return v;
}

function date(o: Obj, key: string, file: string, field: string): string {
  const v = text(o, key, file, field);
  if (Number.isNaN(Date.parse(v))) bad(file, `${field}.${key}`, `'${v}' is not a date`);
  return v;
}

function count(o: Obj, key: string, file: string, field: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) bad(file, `${field}.${key}`, 'must be a whole number ≥ 0');
  return v;
}

function keyType(o: Obj, file: string, field: string): StoreKeyType {
  const v = text(o, 'keyType', file, field);
  if (!isStoreKeyType(v)) bad(file, `${field}.keyType`, `unknown key type '${v}'`);
  return v;
}

function entry(v: unknown, file: string, field: string): IndexEntry {
  const o = obj(v, file, field);
  const kind = text(o, 'kind', file, field);
  if (!(CERT_KINDS as readonly string[]).includes(kind)) bad(file, `${field}.kind`, `unknown kind '${kind}'`);
  const san = o.san;
  if (!Array.isArray(san) || san.some((s) => typeof s !== 'string')) bad(file, `${field}.san`, 'must be a list of strings');
  const revoked = o.revokedAt === null ? null : date(o, 'revokedAt', file, field);
  const reason = o.revocationReason;
  if (reason !== null && !(REVOCATION_REASONS as readonly unknown[]).includes(reason)) bad(file, `${field}.revocationReason`, `unknown reason '${String(reason)}'`);
  return {
    name: text(o, 'name', file, field),
    kind: kind as CertKind,
    serial: normaliseSerial(text(o, 'serial', file, field)),
    subject: text(o, 'subject', file, field),
    san: san as string[],
    keyType: keyType(o, file, field),
    notBefore: date(o, 'notBefore', file, field),
    notAfter: date(o, 'notAfter', file, field),
    revokedAt: revoked,
    revocationReason: revoked === null ? null : ((reason as RevocationReason | null) ?? 'unspecified'),
  };
}

/** The index from its JSON text; `file` names it in errors. */
export function parseIndex(json: string, file: string): StoreIndex {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (e) {
    bad(file, 'JSON', e instanceof Error ? e.message : String(e));
  }
  const root = obj(raw, file, 'index');
  if (root.format !== INDEX_FORMAT) bad(file, 'format', `expected '${INDEX_FORMAT}', found '${String(root.format)}'`);
  if (typeof root.development !== 'boolean') bad(file, 'development', 'must be true or false');
  const ca = obj(root.ca, file, 'ca');
  const certs = root.certificates;
  if (!Array.isArray(certs)) bad(file, 'certificates', 'must be a list');
  return {
    format: INDEX_FORMAT,
    development: root.development,
    ca: {
      subject: text(ca, 'subject', file, 'ca'),
      serial: normaliseSerial(text(ca, 'serial', file, 'ca')),
      keyType: keyType(ca, file, 'ca'),
      notBefore: date(ca, 'notBefore', file, 'ca'),
      notAfter: date(ca, 'notAfter', file, 'ca'),
    },
    crlNumber: count(root, 'crlNumber', file, 'index'),
    crlDays: count(root, 'crlDays', file, 'index'),
    certificates: certs.map((c, i) => entry(c, file, `certificates[${i}]`)),
  };
}

export function formatIndex(index: StoreIndex): string {
  return `${JSON.stringify(index, null, 2)}\n`;
}

/** What a certificate in the index is now: revoked wins over the dates. */
export type CertStatus = 'valid' | 'revoked' | 'expired' | 'not-yet-valid';

export function statusOf(e: IndexEntry, now: Date): CertStatus {
  if (e.revokedAt !== null) return 'revoked';
  if (now.getTime() > Date.parse(e.notAfter)) return 'expired';
  if (now.getTime() < Date.parse(e.notBefore)) return 'not-yet-valid';
  return 'valid';
}
