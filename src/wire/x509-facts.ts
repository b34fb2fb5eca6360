/**
 * The facts about an X.509 certificate that chain checks and identity
 * matching need and that node:crypto's X509Certificate does not expose:
 * validity dates, KeyUsage bits, BasicConstraints, subjectAltNames and the
 * subject CN, read straight from the DER (RFC 5280 §4.1, §4.2.1.3, §4.2.1.6,
 * §4.2.1.9). A schema library re-parsed every certificate at ~3 ms each;
 * this walk takes microseconds. Returns a string naming the problem instead
 * of throwing.
 *
 *   Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signature }
 *   TBSCertificate ::= SEQUENCE { [0] version OPTIONAL, serialNumber, signature, issuer,
 *                                 validity, subject, subjectPublicKeyInfo, [1]?, [2]?, [3] extensions OPTIONAL }
 */
import { TAG, oidText, readChildren, readOnly, readTlv, smallInteger, type Tlv } from './der.js';

export interface X509Facts {
  notBefore: number;
  notAfter: number;
  /** Bit i = KeyUsage bit i (digitalSignature = 1, nonRepudiation = 2, …, keyCertSign = 32); undefined when absent. */
  keyUsage: number | undefined;
  isCa: boolean;
  pathLength: number | undefined;
  dnsNames: string[];
  /** Dotted IPv4 or RFC 5952-ish IPv6 text. */
  ipAddresses: string[];
  emails: string[];
  cn: string | undefined;
  /** The subject Name exactly as encoded. */
  subjectDer: Uint8Array;
}

const OID = { KEY_USAGE: '2.5.29.15', BASIC_CONSTRAINTS: '2.5.29.19', SUBJECT_ALT_NAME: '2.5.29.17', CN: '2.5.4.3' } as const;

function time(t: Tlv | undefined): number | undefined {
  if (t === undefined) return undefined;
  const s = Buffer.from(t.value).toString('latin1');
  const m = t.tag === TAG.UTC_TIME ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s) : t.tag === TAG.GENERALIZED_TIME ? /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s) : null;
  if (!m) return undefined;
  let year = Number(m[1]);
  if (t.tag === TAG.UTC_TIME) year += year >= 50 ? 1900 : 2000; // RFC 5280 §4.1.2.5.1
  return Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}

function keyUsageBits(ext: Uint8Array): number | undefined {
  const bits = readOnly(ext, TAG.BIT_STRING);
  if (!bits || bits.value.length < 1) return undefined;
  let flags = 0;
  for (let i = 0; i < 9; i++) {
    const byte = bits.value[1 + (i >> 3)];
    if (byte !== undefined && (byte & (0x80 >> (i & 7))) !== 0) flags |= 1 << i;
  }
  return flags;
}

function ipText(b: Uint8Array): string | undefined {
  if (b.length === 4) return [...b].join('.');
  if (b.length !== 16) return undefined;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((b[i] ?? 0) << 8) | (b[i + 1] ?? 0)).toString(16));
  return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

function commonName(subject: Tlv): string | undefined {
  for (const rdn of readChildren(subject.value) ?? []) {
    for (const atv of readChildren(rdn.value) ?? []) {
      const [type, value] = readChildren(atv.value) ?? [];
      if (type?.tag === TAG.OID && oidText(type.value) === OID.CN && value) return Buffer.from(value.value).toString('utf8');
    }
  }
  return undefined;
}

export function x509Facts(der: Uint8Array): X509Facts | string {
  const cert = readOnly(der, TAG.SEQUENCE);
  const tbs = cert && readChildren(cert.value)?.[0];
  const f = tbs?.tag === TAG.SEQUENCE ? readChildren(tbs.value) : undefined;
  if (!f) return 'not a DER certificate';
  const at = f[0]?.tag === TAG.context(0) ? 1 : 0;
  const validity = f[at + 3];
  const subject = f[at + 4];
  if (validity?.tag !== TAG.SEQUENCE || subject?.tag !== TAG.SEQUENCE) return 'certificate without validity or subject';
  const [nb, na] = readChildren(validity.value) ?? [];
  const notBefore = time(nb);
  const notAfter = time(na);
  if (notBefore === undefined || notAfter === undefined) return 'unreadable validity dates';
  const facts: X509Facts = { notBefore, notAfter, keyUsage: undefined, isCa: false, pathLength: undefined, dnsNames: [], ipAddresses: [], emails: [], cn: commonName(subject), subjectDer: subject.whole };
  const extensions = f.slice(at + 6).find((t) => t.tag === TAG.context(3));
  const list = extensions && readTlv(extensions.value);
  for (const ext of list?.tag === TAG.SEQUENCE ? (readChildren(list.value) ?? []) : []) {
    const parts = readChildren(ext.value) ?? [];
    const id = parts[0]?.tag === TAG.OID ? oidText(parts[0].value) : undefined;
    const value = parts.at(-1);
    if (value?.tag !== TAG.OCTET_STRING) continue;
    if (id === OID.KEY_USAGE) {
      facts.keyUsage = keyUsageBits(value.value);
      if (facts.keyUsage === undefined) return 'unreadable KeyUsage';
    } else if (id === OID.BASIC_CONSTRAINTS) {
      const bc = readOnly(value.value, TAG.SEQUENCE);
      if (!bc) return 'unreadable BasicConstraints';
      for (const item of readChildren(bc.value) ?? []) {
        if (item.tag === TAG.BOOLEAN) facts.isCa = item.value[0] !== 0;
        else if (item.tag === TAG.INTEGER) facts.pathLength = smallInteger(item.value);
      }
    } else if (id === OID.SUBJECT_ALT_NAME) {
      const names = readOnly(value.value, TAG.SEQUENCE);
      if (!names) return 'unreadable subjectAltName';
      for (const n of readChildren(names.value) ?? []) {
        const text = Buffer.from(n.value).toString('latin1');
        if (n.tag === 0x82) facts.dnsNames.push(text);
        else if (n.tag === 0x81) facts.emails.push(text);
        else if (n.tag === 0x87) {
          const ip = ipText(n.value);
          if (ip !== undefined) facts.ipAddresses.push(ip);
        }
      }
    }
  }
  return facts;
}
