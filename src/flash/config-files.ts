/**
 * How the daemon's configuration and the image's sections meet. In the image
 * the configuration names its files by plain names; at boot they are written
 * beside config.json, so the daemon, which resolves relative paths against
 * the configuration's directory, reads them unchanged.
 *
 *   runtime dir/                    from section
 *     config.json        0600       configuration (+ member lists, fixed names below)
 *     member.pem                    member-chain
 *     member.key         0600       member-key
 *     trusted-cas.pem               trusted-cas
 *     member-crl-0.crl, metrics-token, ipsec-*.pem …   file sections, named by the configuration (0600 if secret)
 */
import type { Personality } from '../wire/flash-image-sections.js';

export const CONFIG_FILE = 'config.json';
export const MEMBER_CERT_FILE = 'member.pem';
export const MEMBER_KEY_FILE = 'member.key';
export const TRUSTED_CAS_FILE = 'trusted-cas.pem';
export const RESERVED_FILES: readonly string[] = [CONFIG_FILE, MEMBER_CERT_FILE, MEMBER_KEY_FILE, TRUSTED_CAS_FILE];

export type ConfigDoc = Record<string, unknown>;

/** A configuration field that names a file the personality must carry. */
export interface FileRef {
  /** e.g. "ipsec.clientCa[0]". */
  field: string;
  /** The value in the configuration (a path at build, a file name in the image). */
  value: string;
  /** The name it has in the image. */
  name: string;
  secret: boolean;
  /** Points the field at `name`. */
  rename(name: string): void;
}

function isObject(v: unknown): v is ConfigDoc {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The files the configuration names besides the member's own: the member CRLs (trust.crl), the metrics token and the `ipsec` section's certificate, key, client CAs and CRLs. */
export function fileRefs(doc: ConfigDoc): FileRef[] {
  const refs: FileRef[] = [];
  const single = (o: ConfigDoc, field: string, key: string, name: string, secret: boolean): void => {
    const v = o[key];
    if (typeof v === 'string') refs.push({ field: `${field}.${key}`, value: v, name, secret, rename: (n) => (o[key] = n) });
  };
  const list = (o: ConfigDoc, field: string, key: string, name: (i: number) => string): void => {
    const v = o[key];
    if (!Array.isArray(v)) return;
    v.forEach((item: unknown, i) => {
      if (typeof item === 'string') refs.push({ field: `${field}.${key}[${i}]`, value: item, name: name(i), secret: false, rename: (n) => (v[i] = n) });
    });
  };
  if (isObject(doc.trust)) list(doc.trust, 'trust', 'crl', (i) => `member-crl-${i}.crl`);
  if (isObject(doc.metrics)) single(doc.metrics, 'metrics', 'bearerTokenFile', 'metrics-token', true);
  const ipsec = doc.ipsec;
  if (isObject(ipsec)) {
    single(ipsec, 'ipsec', 'certificate', 'ipsec-certificate.pem', false);
    single(ipsec, 'ipsec', 'key', 'ipsec-key.pem', true);
    list(ipsec, 'ipsec', 'clientCa', (i) => `ipsec-client-ca-${i}.pem`);
    list(ipsec, 'ipsec', 'crl', (i) => `ipsec-crl-${i}.crl`);
  }
  return refs;
}

export function parseConfigDoc(text: string): ConfigDoc {
  const doc: unknown = JSON.parse(text);
  if (!isObject(doc)) throw new SyntaxError('not a JSON object');
  return doc;
}

/** The configuration version the document states (the daemon's default is 1). */
export function statedConfigVersion(doc: ConfigDoc): unknown {
  const cluster = doc.cluster;
  return isObject(cluster) ? (cluster.configVersion ?? 1) : undefined;
}

/** config.json as the daemon reads it at boot: the stored document with the fixed file names and the member lists. */
export function materialisedConfig(p: Personality): ConfigDoc {
  const doc = parseConfigDoc(p.configText);
  const member = isObject(doc.member) ? doc.member : {};
  const trust = isObject(doc.trust) ? doc.trust : {};
  return {
    ...doc,
    member: { ...member, certificate: MEMBER_CERT_FILE, key: MEMBER_KEY_FILE },
    trust: {
      ...trust,
      ca: [TRUSTED_CAS_FILE],
      ...(p.allowedMembers === null ? {} : { allowedMembers: p.allowedMembers }),
      revokedSerials: p.revokedSerials,
    },
  };
}

/** The stored document's form: fixed file names, and no member lists (they live in their own section). */
export function storedConfig(doc: ConfigDoc): ConfigDoc {
  const member = isObject(doc.member) ? doc.member : {};
  const trust = isObject(doc.trust) ? { ...doc.trust } : {};
  delete trust.allowedMembers;
  delete trust.revokedSerials;
  return { ...doc, member: { ...member, certificate: MEMBER_CERT_FILE, key: MEMBER_KEY_FILE }, trust: { ...trust, ca: [TRUSTED_CAS_FILE] } };
}
