/**
 * The typed sections of a flash personality image (flash-image/FORMAT.md §3)
 * and the personality they add up to. Each body is read with a ByteReader
 * bounded to the section, so a short body is 'truncated', never a read past
 * its end; every string is UTF-8 checked strictly.
 *
 *   section body            layout
 *   software-digest  (1)    32 bytes, SHA-256
 *   config-version   (2)    u32
 *   configuration    (3)    UTF-8 JSON object (the daemon's config document)
 *   member-chain     (4)    certs: u16 count, then per cert u32 length + DER (leaf first)
 *   member-key       (5)    PKCS#8 DER
 *   trusted-cas      (6)    certs, as member-chain
 *   member-lists     (7)    u8 has-allowed, strings allowed, strings revoked
 *   security-policy  (8)    u8 flags, u8 protocols, strings IKE algorithms, strings ESP algorithms
 *   log-area         (9)    string path, u64 offset, u64 length
 *   file            (10)    string name, u8 kind (0 public, 1 secret), content to the end
 * strings = u16 count, then per string u16 length + UTF-8.
 */
import type { ByteReader } from './byte-reader.js';
import { ByteWriter } from './byte-writer.js';
import { DecodeError } from './decode-error.js';

export const SECTION = {
  SOFTWARE_DIGEST: 1,
  CONFIG_VERSION: 2,
  CONFIGURATION: 3,
  MEMBER_CHAIN: 4,
  MEMBER_KEY: 5,
  TRUSTED_CAS: 6,
  MEMBER_LISTS: 7,
  SECURITY_POLICY: 8,
  LOG_AREA: 9,
  FILE: 10,
  SIGNATURE: 0xff,
} as const;
export type SectionType = (typeof SECTION)[keyof typeof SECTION];

export const SECTION_NAMES: Record<number, string> = {
  [SECTION.SOFTWARE_DIGEST]: 'software-digest',
  [SECTION.CONFIG_VERSION]: 'config-version',
  [SECTION.CONFIGURATION]: 'configuration',
  [SECTION.MEMBER_CHAIN]: 'member-chain',
  [SECTION.MEMBER_KEY]: 'member-key',
  [SECTION.TRUSTED_CAS]: 'trusted-cas',
  [SECTION.MEMBER_LISTS]: 'member-lists',
  [SECTION.SECURITY_POLICY]: 'security-policy',
  [SECTION.LOG_AREA]: 'log-area',
  [SECTION.FILE]: 'file',
  [SECTION.SIGNATURE]: 'signature',
};

export function sectionName(type: number): string {
  return SECTION_NAMES[type] ?? `type ${type}`;
}

/** Every section but `file` (repeatable) and the signature must appear exactly once. */
export const REQUIRED_SECTIONS: readonly number[] = [
  SECTION.SOFTWARE_DIGEST,
  SECTION.CONFIG_VERSION,
  SECTION.CONFIGURATION,
  SECTION.MEMBER_CHAIN,
  SECTION.MEMBER_KEY,
  SECTION.TRUSTED_CAS,
  SECTION.MEMBER_LISTS,
  SECTION.SECURITY_POLICY,
  SECTION.LOG_AREA,
];

export const TUNNEL_PROTOCOLS = ['ipsec', 'l2tp', 'pptp'] as const;
export type TunnelProtocol = (typeof TUNNEL_PROTOCOLS)[number];

/** Which tunnels and IPsec algorithms this box may run. Algorithms are proposal tokens ("aes256gcm16", "prfsha256", "x25519"). */
export interface SecurityPolicy {
  /** In TUNNEL_PROTOCOLS order. */
  protocols: TunnelProtocol[];
  requireEncryption: boolean;
  ikeAlgorithms: string[];
  espAlgorithms: string[];
}

export interface LogArea {
  path: string;
  offset: number;
  length: number;
}

/** A file the configuration names (the IPsec certificate, client CAs, CRLs…), materialised beside it at boot. */
export interface PersonalityFile {
  name: string;
  /** Secret files (private keys) are written 0600 and never printed. */
  secret: boolean;
  data: Uint8Array;
}

export interface Personality {
  softwareDigest: Uint8Array;
  configVersion: number;
  /** The daemon's JSON configuration, as text. */
  configText: string;
  /** Leaf first, then intermediates. */
  memberChain: Uint8Array[];
  /** PKCS#8 DER. */
  memberKey: Uint8Array;
  trustedCas: Uint8Array[];
  /** null: every member the trusted CAs certify may join. */
  allowedMembers: string[] | null;
  revokedSerials: string[];
  policy: SecurityPolicy;
  logArea: LogArea;
  files: PersonalityFile[];
}

export const SOFTWARE_DIGEST_BYTES = 32;
/** A file name is one path component: no separators, no leading dot. */
export const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

const POLICY_REQUIRE_ENCRYPTION = 0x01;
const MEMBER_LISTS_HAS_ALLOWED = 0x01;
const FILE_KIND_PUBLIC = 0;
const FILE_KIND_SECRET = 1;

const utf8 = new TextDecoder('utf-8', { fatal: true });

function text16(r: ByteReader, what: string): string {
  const b = r.bytes16(what);
  try {
    return utf8.decode(b);
  } catch {
    throw new DecodeError('bad-value', `${what}: not UTF-8`);
  }
}

function strings(r: ByteReader, what: string): string[] {
  const n = r.u16(`${what} count`);
  return Array.from({ length: n }, (_, i) => text16(r, `${what}[${i}]`));
}

function writeStrings(w: ByteWriter, list: readonly string[]): void {
  if (list.length > 0xffff) throw new RangeError(`too many strings: ${list.length}`);
  w.u16(list.length);
  for (const s of list) w.utf8_16(s);
}

function certs(r: ByteReader, what: string): Uint8Array[] {
  const n = r.u16(`${what} count`);
  if (n === 0) throw new DecodeError('bad-value', `${what}: holds no certificate`);
  return Array.from({ length: n }, (_, i) => {
    const der = r.bytes(r.u32(`${what}[${i}] length`), `${what}[${i}]`);
    if (der.length === 0) throw new DecodeError('bad-value', `${what}[${i}]: empty`);
    return der.slice();
  });
}

function writeCerts(w: ByteWriter, list: readonly Uint8Array[]): void {
  if (list.length > 0xffff) throw new RangeError(`too many certificates: ${list.length}`);
  w.u16(list.length);
  for (const der of list) w.u32(der.length).bytes(der);
}

/** One section's body, encoded. */
export interface SectionBody {
  type: SectionType;
  body: Uint8Array;
}

/** The personality as sections, in type order (files in the order given). */
export function encodeSections(p: Personality): SectionBody[] {
  if (p.softwareDigest.length !== SOFTWARE_DIGEST_BYTES) throw new RangeError(`software digest must be ${SOFTWARE_DIGEST_BYTES} bytes`);
  const out: SectionBody[] = [];
  const add = (type: SectionType, write: (w: ByteWriter) => void): void => {
    const w = new ByteWriter();
    write(w);
    out.push({ type, body: w.finish() });
  };
  add(SECTION.SOFTWARE_DIGEST, (w) => w.bytes(p.softwareDigest));
  add(SECTION.CONFIG_VERSION, (w) => w.u32(p.configVersion));
  add(SECTION.CONFIGURATION, (w) => w.bytes(new TextEncoder().encode(p.configText)));
  add(SECTION.MEMBER_CHAIN, (w) => writeCerts(w, p.memberChain));
  add(SECTION.MEMBER_KEY, (w) => w.bytes(p.memberKey));
  add(SECTION.TRUSTED_CAS, (w) => writeCerts(w, p.trustedCas));
  add(SECTION.MEMBER_LISTS, (w) => {
    w.u8(p.allowedMembers === null ? 0 : MEMBER_LISTS_HAS_ALLOWED);
    writeStrings(w, p.allowedMembers ?? []);
    writeStrings(w, p.revokedSerials);
  });
  add(SECTION.SECURITY_POLICY, (w) => {
    w.u8(p.policy.requireEncryption ? POLICY_REQUIRE_ENCRYPTION : 0);
    w.u8(TUNNEL_PROTOCOLS.reduce((bits, name, i) => (p.policy.protocols.includes(name) ? bits | (1 << i) : bits), 0));
    writeStrings(w, p.policy.ikeAlgorithms);
    writeStrings(w, p.policy.espAlgorithms);
  });
  add(SECTION.LOG_AREA, (w) => w.utf8_16(p.logArea.path).u64(p.logArea.offset).u64(p.logArea.length));
  for (const f of p.files) add(SECTION.FILE, (w) => w.utf8_16(f.name).u8(f.secret ? FILE_KIND_SECRET : FILE_KIND_PUBLIC).bytes(f.data));
  return out;
}

/** The section bodies of a framed image, by type; `file` may repeat. Throws DecodeError (the caller names the section). */
export type SectionReader = (type: number) => ByteReader;

function configText(r: ByteReader): string {
  let text: string;
  try {
    text = utf8.decode(r.rest());
  } catch {
    throw new DecodeError('bad-value', 'not UTF-8');
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new DecodeError('bad-value', `not JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new DecodeError('bad-value', 'not a JSON object');
  return text;
}

function policy(r: ByteReader): SecurityPolicy {
  const flags = r.u8('flags');
  if ((flags & ~POLICY_REQUIRE_ENCRYPTION) !== 0) throw new DecodeError('bad-value', `unknown flag bits 0x${flags.toString(16)}`);
  const bits = r.u8('protocols');
  if (bits >> TUNNEL_PROTOCOLS.length !== 0) throw new DecodeError('bad-value', `unknown protocol bits 0x${bits.toString(16)}`);
  return {
    protocols: TUNNEL_PROTOCOLS.filter((_, i) => (bits & (1 << i)) !== 0),
    requireEncryption: (flags & POLICY_REQUIRE_ENCRYPTION) !== 0,
    ikeAlgorithms: strings(r, 'IKE algorithms'),
    espAlgorithms: strings(r, 'ESP algorithms'),
  };
}

export function decodeFile(r: ByteReader): PersonalityFile {
  const name = text16(r, 'name');
  if (!FILE_NAME.test(name)) throw new DecodeError('bad-value', `file name '${name}' is not one plain path component`);
  const kind = r.u8('kind');
  if (kind !== FILE_KIND_PUBLIC && kind !== FILE_KIND_SECRET) throw new DecodeError('bad-value', `file '${name}': unknown kind ${kind}`);
  return { name, secret: kind === FILE_KIND_SECRET, data: r.rest().slice() };
}

/** Reads one required section completely (trailing bytes are an error). */
function whole<T>(read: SectionReader, type: number, parse: (r: ByteReader) => T): T {
  const r = read(type);
  const v = parse(r);
  r.expectEnd(sectionName(type));
  return v;
}

/** The personality from its single-instance sections; `files` already decoded by the caller. */
export function decodeSingles(read: SectionReader, files: PersonalityFile[]): Personality {
  return {
    softwareDigest: whole(read, SECTION.SOFTWARE_DIGEST, (r) => r.bytes(SOFTWARE_DIGEST_BYTES, 'SHA-256').slice()),
    configVersion: whole(read, SECTION.CONFIG_VERSION, (r) => r.u32('version')),
    configText: whole(read, SECTION.CONFIGURATION, configText),
    memberChain: whole(read, SECTION.MEMBER_CHAIN, (r) => certs(r, 'member chain')),
    memberKey: whole(read, SECTION.MEMBER_KEY, (r) => {
      const der = r.rest().slice();
      if (der.length === 0) throw new DecodeError('bad-value', 'empty key');
      return der;
    }),
    trustedCas: whole(read, SECTION.TRUSTED_CAS, (r) => certs(r, 'trusted CAs')),
    ...whole(read, SECTION.MEMBER_LISTS, (r) => {
      const flags = r.u8('flags');
      if ((flags & ~MEMBER_LISTS_HAS_ALLOWED) !== 0) throw new DecodeError('bad-value', `unknown flag bits 0x${flags.toString(16)}`);
      const allowed = strings(r, 'allowed members');
      if (flags === 0 && allowed.length > 0) throw new DecodeError('bad-value', 'allowed members listed but the list is marked absent');
      return { allowedMembers: flags === 0 ? null : allowed, revokedSerials: strings(r, 'revoked serials') };
    }),
    policy: whole(read, SECTION.SECURITY_POLICY, policy),
    logArea: whole(read, SECTION.LOG_AREA, (r) => {
      const path = text16(r, 'path');
      if (path.length === 0) throw new DecodeError('bad-value', 'empty path');
      return { path, offset: r.u64('offset'), length: r.u64('length') };
    }),
    files,
  };
}
