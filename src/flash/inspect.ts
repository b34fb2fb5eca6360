/**
 * What `shoal flash inspect` shows of an image: every section, with
 * certificates as subject/issuer/serial/fingerprint and private keys only as
 * their type and the fingerprint of their public half. Secrets inside the
 * configuration (pre-shared keys) are redacted. Nothing here returns key
 * material, so the JSON form is as safe to print as the text.
 */
import type { ImageFrame, LogArea, Personality, SecurityPolicy } from '../wire/flash-image.js';
import { sectionName } from '../wire/flash-image.js';
import { parseConfigDoc } from './config-files.js';
import { algorithmName, type AdminKeyType } from './signing.js';
import { certificatesInFile, certSummary, keySummary, sha256Hex, type CertSummary, type KeySummary } from './x509-text.js';

export interface FileSummary {
  name: string;
  secret: boolean;
  bytes: number;
  /** Secret files: the key they hold, if it is one. */
  key?: KeySummary | null;
  /** Public files: the certificates they hold, and their digest. */
  certificates?: CertSummary[];
  sha256?: string;
}

export interface ImageSummary {
  formatVersion: number;
  bytes: number;
  signature: { algorithm: AdminKeyType; keyId: string } | null;
  softwareDigest: string;
  configVersion: number;
  config: unknown;
  memberChain: CertSummary[];
  memberKey: KeySummary | null;
  trustedCas: CertSummary[];
  allowedMembers: string[] | null;
  revokedSerials: string[];
  policy: SecurityPolicy;
  logArea: LogArea;
  files: FileSummary[];
  /** Unknown non-critical sections that were skipped. */
  skippedSections: string[];
}

/** Field names whose string values are secrets. */
export const SECRET_FIELD = /secret|password|passphrase/i;

/** The JSON value with every secret string replaced by a note of its length. */
export function redact(v: unknown, key = ''): unknown {
  if (typeof v === 'string' && SECRET_FIELD.test(key)) return `(redacted, ${v.length} characters)`;
  if (Array.isArray(v)) return v.map((x) => redact(x, key));
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, redact(x, k)]));
  return v;
}

export function fileSummary(f: Personality['files'][number]): FileSummary {
  if (f.secret) return { name: f.name, secret: true, bytes: f.data.length, key: keySummary(f.data) };
  return { name: f.name, secret: false, bytes: f.data.length, certificates: certificatesInFile(f.data).map(certSummary), sha256: sha256Hex(f.data) };
}

export function summarise(frame: ImageFrame, p: Personality): ImageSummary {
  const sig = frame.signature;
  return {
    formatVersion: frame.version,
    bytes: frame.length,
    signature: sig === null ? null : { algorithm: algorithmName(sig.algorithm), keyId: Buffer.from(sig.keyId).toString('hex') },
    softwareDigest: Buffer.from(p.softwareDigest).toString('hex'),
    configVersion: p.configVersion,
    config: redact(parseConfigDoc(p.configText)),
    memberChain: p.memberChain.map(certSummary),
    memberKey: keySummary(p.memberKey),
    trustedCas: p.trustedCas.map(certSummary),
    allowedMembers: p.allowedMembers,
    revokedSerials: p.revokedSerials,
    policy: p.policy,
    logArea: p.logArea,
    files: p.files.map(fileSummary),
    skippedSections: frame.skipped.map(sectionName),
  };
}

const cert = (c: CertSummary): string => `${c.subject} (issuer ${c.issuer}; serial ${c.serial}; until ${c.notAfter.slice(0, 10)}; sha256:${c.sha256.slice(0, 16)})`;
const key = (k: KeySummary | null | undefined): string => (k ? `${k.type} private key (public key sha256:${k.publicKeySha256.slice(0, 16)})` : 'unreadable private key');

/** The summary as text lines. */
export function summaryLines(s: ImageSummary): string[] {
  const list = (xs: string[] | null, none: string): string => (xs === null ? none : xs.length === 0 ? 'none' : xs.join(', '));
  const lines = [
    `format version ${s.formatVersion}, ${s.bytes} bytes, ${s.signature ? `signed (${s.signature.algorithm}, key sha256:${s.signature.keyId.slice(0, 16)})` : 'unsigned'}`,
    `software digest   sha256:${s.softwareDigest}`,
    `config version    ${s.configVersion}`,
    ...s.memberChain.map((c, i) => `${i === 0 ? 'member cert      ' : 'member chain     '} ${cert(c)}`),
    `member key        ${key(s.memberKey)}`,
    ...s.trustedCas.map((c) => `trusted CA        ${cert(c)}`),
    `allowed members   ${list(s.allowedMembers, 'any certified by the trusted CAs')}`,
    `revoked serials   ${list(s.revokedSerials, 'none')}`,
    `protocols         ${s.policy.protocols.join(', ') || 'none'}; encryption ${s.policy.requireEncryption ? 'required' : 'optional'}`,
    `IKE algorithms    ${s.policy.ikeAlgorithms.join(' ')}`,
    `ESP algorithms    ${s.policy.espAlgorithms.join(' ')}`,
    `error-log area    ${s.logArea.path} offset ${s.logArea.offset} length ${s.logArea.length}`,
    ...s.files.map((f) =>
      `file              ${f.name}: ${f.secret ? `secret, ${key(f.key)}` : f.certificates && f.certificates.length > 0 ? f.certificates.map(cert).join('; ') : `${f.bytes} bytes, sha256:${(f.sha256 ?? '').slice(0, 16)}`}`,
    ),
    ...(s.skippedSections.length > 0 ? [`skipped sections  ${s.skippedSections.join(', ')}`] : []),
    'configuration:',
    ...JSON.stringify(s.config, null, 2).split('\n').map((l) => `  ${l}`),
  ];
  return lines;
}
