/**
 * Throwaway PKI for tests: a cluster CA, intermediates and member
 * certificates made with @peculiar/x509 on node's WebCrypto. Keys are fresh
 * per process, so nothing secret is checked in. standardFixtures() builds the
 * usual set once per process (each vitest file runs in its own fork).
 */
import { KeyObject, randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { normaliseSerial } from '../../src/cluster/auth/trust.js';
import type { MemberCredentials, TrustConfig } from '../../src/cluster/auth/trust.js';
import { parseIpv4 } from '../../src/lib/ipv4.js';

x509.cryptoProvider.set(webcrypto);

/** The simulator's wall clock starts here (ManualClock's default). */
export const WALL_NOW = Date.UTC(2026, 10, 28);
export const DEFAULT_NOT_BEFORE = new Date(Date.UTC(2026, 0, 1));
export const DEFAULT_NOT_AFTER = new Date(Date.UTC(2030, 0, 1));

/** ec-p521 and rsa-1024 exist to exercise the verifier's 'unsupported-key'. */
export type TestKeyType = 'ec-p256' | 'ec-p384' | 'ec-p521' | 'rsa' | 'rsa-1024';

type KeyPair = webcrypto.CryptoKeyPair;

export interface TestCa {
  name: string;
  /** This CA's certificate, DER. */
  der: Uint8Array;
  cert: x509.X509Certificate;
  keys: KeyPair;
  keyType: TestKeyType;
  serial: string;
  /** The root this CA leads to (itself for a root), DER: what TrustConfig lists. */
  rootDer: Uint8Array;
  /** This CA and its issuers, excluding the root: what a member chain carries above its leaf. */
  chainAboveLeaf: Uint8Array[];
}

export interface TestMember {
  cn: string;
  ip: string;
  memberId: number;
  serial: string;
  /** Leaf first, then intermediates; the root only with includeRoot. */
  chain: Uint8Array[];
  privateKey: KeyObject;
  publicKey: KeyObject;
  credentials: MemberCredentials;
}

export interface CaOptions {
  name?: string;
  keyType?: TestKeyType;
  notBefore?: Date;
  notAfter?: Date;
  /** 'no-cert-sign' leaves keyCertSign out (the verifier must refuse what such a CA issued). */
  keyUsage?: 'normal' | 'no-cert-sign';
  /** BasicConstraints cA; false makes a "CA" that may not issue. Default true. */
  isCa?: boolean;
  pathLength?: number;
}

export interface MemberOptions {
  cn: string;
  /** Dotted IPv4: becomes the iPAddress subjectAltName (and memberId). */
  ip: string;
  keyType?: TestKeyType;
  notBefore?: Date;
  notAfter?: Date;
  keyUsage?: 'normal' | 'no-digital-signature';
  /** Issue from this intermediate (made with makeIntermediate from `ca`) instead of the root. */
  intermediate?: TestCa;
  /** Put the root certificate at the end of the chain too. */
  includeRoot?: boolean;
  /** false: a DNS subjectAltName only, no IP. Default true. */
  ipSan?: boolean;
}

function keyAlgorithm(t: TestKeyType): webcrypto.EcKeyGenParams | webcrypto.RsaHashedKeyGenParams {
  switch (t) {
    case 'ec-p256':
      return { name: 'ECDSA', namedCurve: 'P-256' };
    case 'ec-p384':
      return { name: 'ECDSA', namedCurve: 'P-384' };
    case 'ec-p521':
      return { name: 'ECDSA', namedCurve: 'P-521' };
    case 'rsa':
    case 'rsa-1024':
      return {
        name: 'RSASSA-PKCS1-v1_5',
        modulusLength: t === 'rsa' ? 2048 : 1024,
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: 'SHA-256',
      };
  }
}

/** How a certificate signed by a key of this type is signed. */
function signingAlgorithm(t: TestKeyType): webcrypto.Algorithm | webcrypto.EcdsaParams {
  switch (t) {
    case 'ec-p256':
      return { name: 'ECDSA', hash: 'SHA-256' };
    case 'ec-p384':
      return { name: 'ECDSA', hash: 'SHA-384' };
    case 'ec-p521':
      return { name: 'ECDSA', hash: 'SHA-512' };
    case 'rsa':
    case 'rsa-1024':
      return { name: 'RSASSA-PKCS1-v1_5' };
  }
}

async function generateKeys(t: TestKeyType): Promise<KeyPair> {
  return webcrypto.subtle.generateKey(keyAlgorithm(t), true, ['sign', 'verify']);
}

/** 8 random bytes, high bit clear and first byte non-zero: a positive serial with no leading zeros. */
function randomSerial(): string {
  const b = randomBytes(8);
  b[0] = ((b[0] ?? 1) & 0x7f) | 0x01;
  return b.toString('hex');
}

function der(cert: x509.X509Certificate): Uint8Array {
  return new Uint8Array(cert.rawData);
}

async function caExtensions(keys: KeyPair, o: CaOptions, issuer?: TestCa): Promise<x509.Extension[]> {
  const usages =
    o.keyUsage === 'no-cert-sign'
      ? x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.cRLSign
      : x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign;
  const exts: x509.Extension[] = [
    new x509.BasicConstraintsExtension(o.isCa ?? true, o.pathLength, true),
    new x509.KeyUsagesExtension(usages, true),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
  ];
  if (issuer !== undefined) exts.push(await x509.AuthorityKeyIdentifierExtension.create(issuer.keys.publicKey));
  return exts;
}

/** A self-signed root. Default: EC P-256, "Shoal Test CA", valid 2026-01-01..2030-01-01. */
export async function makeCa(opts: CaOptions = {}): Promise<TestCa> {
  const keyType = opts.keyType ?? 'ec-p256';
  const name = opts.name ?? 'Shoal Test CA';
  const keys = await generateKeys(keyType);
  const serial = randomSerial();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial,
    name: `CN=${name}, O=Shoal Test`,
    notBefore: opts.notBefore ?? DEFAULT_NOT_BEFORE,
    notAfter: opts.notAfter ?? DEFAULT_NOT_AFTER,
    signingAlgorithm: signingAlgorithm(keyType),
    keys,
    extensions: await caExtensions(keys, opts),
  });
  return { name, der: der(cert), cert, keys, keyType, serial, rootDer: der(cert), chainAboveLeaf: [] };
}

/** A CA issued by `parent` (a root or another intermediate). */
export async function makeIntermediate(parent: TestCa, opts: CaOptions = {}): Promise<TestCa> {
  const keyType = opts.keyType ?? 'ec-p256';
  const name = opts.name ?? `${parent.name} Intermediate`;
  const keys = await generateKeys(keyType);
  const serial = randomSerial();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial,
    subject: `CN=${name}, O=Shoal Test`,
    issuer: parent.cert.subjectName,
    notBefore: opts.notBefore ?? DEFAULT_NOT_BEFORE,
    notAfter: opts.notAfter ?? DEFAULT_NOT_AFTER,
    signingAlgorithm: signingAlgorithm(parent.keyType),
    publicKey: keys.publicKey,
    signingKey: parent.keys.privateKey,
    extensions: await caExtensions(keys, opts, parent),
  });
  const d = der(cert);
  return { name, der: d, cert, keys, keyType, serial, rootDer: parent.rootDer, chainAboveLeaf: [d, ...parent.chainAboveLeaf] };
}

/** A member certificate for `cn` at `ip`, issued by `ca` or by opts.intermediate. */
export async function issueMember(ca: TestCa, opts: MemberOptions): Promise<TestMember> {
  const keyType = opts.keyType ?? 'ec-p256';
  const issuer = opts.intermediate ?? ca;
  const keys = await generateKeys(keyType);
  const serial = randomSerial();
  const encipher = keyType.startsWith('rsa') ? x509.KeyUsageFlags.keyEncipherment : x509.KeyUsageFlags.keyAgreement;
  const usages =
    opts.keyUsage === 'no-digital-signature' ? encipher : x509.KeyUsageFlags.digitalSignature | encipher;
  const san: x509.JsonGeneralNames = [{ type: 'dns', value: `${opts.cn}.shoal.test` }];
  if (opts.ipSan ?? true) san.push({ type: 'ip', value: opts.ip });
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial,
    subject: `CN=${opts.cn}, O=Shoal Test`,
    issuer: issuer.cert.subjectName,
    notBefore: opts.notBefore ?? DEFAULT_NOT_BEFORE,
    notAfter: opts.notAfter ?? DEFAULT_NOT_AFTER,
    signingAlgorithm: signingAlgorithm(issuer.keyType),
    publicKey: keys.publicKey,
    signingKey: issuer.keys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(usages, true),
      new x509.SubjectAlternativeNameExtension(san),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(issuer.keys.publicKey),
    ],
  });
  const chain = [der(cert), ...issuer.chainAboveLeaf, ...(opts.includeRoot === true ? [ca.rootDer] : [])];
  const privateKey = KeyObject.from(keys.privateKey);
  return {
    cn: opts.cn,
    ip: opts.ip,
    memberId: parseIpv4(opts.ip),
    serial: normaliseSerial(serial),
    chain,
    privateKey,
    publicKey: KeyObject.from(keys.publicKey),
    credentials: { chain, privateKey },
  };
}

/** A TrustConfig naming `ca`'s root, with no allowed list and nothing revoked unless given. */
export function trustOf(ca: TestCa, extra: Partial<TrustConfig> = {}): TrustConfig {
  return { caCertificates: [ca.rootDer], revokedSerials: [], ...extra };
}

export interface StandardFixtures {
  ca: TestCa;
  /** member-1..member-9 at 198.18.0.1..198.18.0.9, index i = member-(i+1). */
  members: TestMember[];
  /** A different CA, and a member it issued for 198.18.0.1 (CN member-1): a cluster impostor. */
  foreignCa: TestCa;
  foreignMember: TestMember;
  /** CN member-expired, 198.18.0.11, valid 2024-01-01..2025-01-01. */
  expired: TestMember;
  /** CN member-future, 198.18.0.12, valid from 2027-06-01. */
  notYetValid: TestMember;
  /** CN intruder, 198.18.0.10: issued by the CA but not on `allowedMembers`. */
  intruder: TestMember;
  /** CN member-nosig, 198.18.0.13, KeyUsage without digitalSignature. */
  noDigitalSignature: TestMember;
  /** Every CN above except "intruder". */
  allowedMembers: string[];
  /** The CA, nothing revoked, no allowed list. */
  trust: TrustConfig;
  /** The CA, nothing revoked, allowedMembers set. */
  restrictedTrust: TrustConfig;
}

let standard: Promise<StandardFixtures> | undefined;

/** The shared set (EC P-256 throughout), built on first use and then reused within the process. */
export function standardFixtures(): Promise<StandardFixtures> {
  standard ??= buildStandard();
  return standard;
}

async function buildStandard(): Promise<StandardFixtures> {
  const ca = await makeCa();
  const members = await Promise.all(
    Array.from({ length: 9 }, (_, i) => issueMember(ca, { cn: `member-${i + 1}`, ip: `198.18.0.${i + 1}` })),
  );
  const foreignCa = await makeCa({ name: 'Foreign CA' });
  const [foreignMember, expired, notYetValid, intruder, noDigitalSignature] = await Promise.all([
    issueMember(foreignCa, { cn: 'member-1', ip: '198.18.0.1' }),
    issueMember(ca, {
      cn: 'member-expired',
      ip: '198.18.0.11',
      notBefore: new Date(Date.UTC(2024, 0, 1)),
      notAfter: new Date(Date.UTC(2025, 0, 1)),
    }),
    issueMember(ca, { cn: 'member-future', ip: '198.18.0.12', notBefore: new Date(Date.UTC(2027, 5, 1)) }),
    issueMember(ca, { cn: 'intruder', ip: '198.18.0.10' }),
    issueMember(ca, { cn: 'member-nosig', ip: '198.18.0.13', keyUsage: 'no-digital-signature' }),
  ]);
  const allowedMembers = [...members.map((m) => m.cn), 'member-expired', 'member-future', 'member-nosig'];
  return {
    ca,
    members,
    foreignCa,
    foreignMember,
    expired,
    notYetValid,
    intruder,
    noDigitalSignature,
    allowedMembers,
    trust: trustOf(ca),
    restrictedTrust: trustOf(ca, { allowedMembers }),
  };
}
