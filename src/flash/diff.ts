/**
 * What changed between two personality images (`shoal flash diff`): versions,
 * signer, software digest, each configuration key, certificates and keys
 * (by fingerprint), member lists, policy, error-log area and files. Secret
 * values are compared but never shown: a changed pre-shared key reads
 * "(secret) → (secret, changed)".
 */
import type { ImageFrame, Personality } from '../wire/flash-image.js';
import { parseConfigDoc } from './config-files.js';
import { fileSummary, SECRET_FIELD } from './inspect.js';
import { certSummary, keySummary, type CertSummary } from './x509-text.js';

export interface Change {
  item: string;
  from: string;
  to: string;
}

export interface DiffSide {
  frame: ImageFrame;
  personality: Personality;
}

const ABSENT = '(absent)';

/** Every leaf of a JSON value as "path" → JSON text. */
function flatten(v: unknown, path: string, out: Map<string, string>): Map<string, string> {
  if (Array.isArray(v)) v.forEach((x, i) => flatten(x, `${path}[${i}]`, out));
  else if (typeof v === 'object' && v !== null) for (const [k, x] of Object.entries(v)) flatten(x, path === '' ? k : `${path}.${k}`, out);
  else out.set(path, JSON.stringify(v));
  return out;
}

function isSecretPath(path: string): boolean {
  const last = /([A-Za-z0-9_]+)(\[\d+\])*$/.exec(path)?.[1] ?? '';
  return SECRET_FIELD.test(last);
}

function configChanges(a: string, b: string): Change[] {
  const fa = flatten(parseConfigDoc(a), '', new Map());
  const fb = flatten(parseConfigDoc(b), '', new Map());
  const keys = [...new Set([...fa.keys(), ...fb.keys()])].sort();
  const out: Change[] = [];
  for (const k of keys) {
    const x = fa.get(k);
    const y = fb.get(k);
    if (x === y) continue;
    const show = (v: string | undefined, changed: boolean): string => (v === undefined ? ABSENT : isSecretPath(k) ? (changed ? '(secret, changed)' : '(secret)') : v);
    out.push({ item: `config ${k}`, from: show(x, false), to: show(y, true) });
  }
  return out;
}

const certText = (c: CertSummary): string => `${c.subject} sha256:${c.sha256.slice(0, 16)}`;
const certsText = (list: Uint8Array[]): string => list.map((d) => certText(certSummary(d))).join('; ');

export function diffImages(a: DiffSide, b: DiffSide): Change[] {
  const out: Change[] = [];
  const add = (item: string, from: string, to: string): void => {
    if (from !== to) out.push({ item, from, to });
  };
  const pa = a.personality;
  const pb = b.personality;
  const hex = (x: Uint8Array): string => Buffer.from(x).toString('hex');
  add('format version', String(a.frame.version), String(b.frame.version));
  add('signer', a.frame.signature ? `sha256:${hex(a.frame.signature.keyId).slice(0, 16)}` : 'unsigned', b.frame.signature ? `sha256:${hex(b.frame.signature.keyId).slice(0, 16)}` : 'unsigned');
  add('software digest', `sha256:${hex(pa.softwareDigest)}`, `sha256:${hex(pb.softwareDigest)}`);
  add('config version', String(pa.configVersion), String(pb.configVersion));
  out.push(...configChanges(pa.configText, pb.configText));
  add('member certificate', certsText(pa.memberChain), certsText(pb.memberChain));
  const keyText = (k: Uint8Array): string => {
    const s = keySummary(k);
    return s ? `${s.type} sha256:${s.publicKeySha256.slice(0, 16)}` : 'unreadable';
  };
  add('member key', keyText(pa.memberKey), keyText(pb.memberKey));
  add('trusted CAs', certsText(pa.trustedCas), certsText(pb.trustedCas));
  add('allowed members', JSON.stringify(pa.allowedMembers), JSON.stringify(pb.allowedMembers));
  add('revoked serials', JSON.stringify(pa.revokedSerials), JSON.stringify(pb.revokedSerials));
  for (const k of ['protocols', 'requireEncryption', 'ikeAlgorithms', 'espAlgorithms'] as const) add(`policy ${k}`, JSON.stringify(pa.policy[k]), JSON.stringify(pb.policy[k]));
  add('error-log area', JSON.stringify(pa.logArea), JSON.stringify(pb.logArea));
  const names = [...new Set([...pa.files, ...pb.files].map((f) => f.name))].sort();
  for (const name of names) {
    const fa = pa.files.find((f) => f.name === name);
    const fb = pb.files.find((f) => f.name === name);
    const text = (f: typeof fa, other: typeof fa): string => {
      if (f === undefined) return ABSENT;
      const s = fileSummary(f);
      if (s.secret) {
        const same = other !== undefined && Buffer.compare(Buffer.from(f.data), Buffer.from(other.data)) === 0;
        return `secret${s.key ? ` ${s.key.type} sha256:${s.key.publicKeySha256.slice(0, 16)}` : ''}${same || f === fa ? '' : ' (changed)'}`;
      }
      return s.certificates && s.certificates.length > 0 ? s.certificates.map(certText).join('; ') : `sha256:${(s.sha256 ?? '').slice(0, 16)}`;
    };
    add(`file ${name}`, text(fa, fb), text(fb, fa));
  }
  return out;
}
