/**
 * Certificate authorities for a cluster: a self-signed root, intermediates
 * below it, and the TrustConfig that names the root.
 */
import type { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import type { TrustConfig } from '../cluster/auth/trust.js';
import {
  DEFAULT_KEY_TYPE,
  checkKeyType,
  derOf,
  generateKeyPair,
  randomSerial,
  signingAlgorithm,
  type AnyKeyType,
  type KeyPair,
} from './keys.js';
import type { Validity } from './validity.js';

export const DEFAULT_CA_NAME = 'Shoal Cluster CA';
export const DEFAULT_ORGANIZATION = 'Shoal';

/** A CA with its private key: enough to issue certificates and build trust. */
export interface CaBundle {
  name: string;
  /** This CA's certificate, DER. */
  der: Uint8Array;
  cert: x509.X509Certificate;
  keys: KeyPair;
  keyType: AnyKeyType;
  /** The serial as issued (hex). */
  serial: string;
  /** Subject O=, reused for what this CA issues unless overridden. */
  organization: string;
  /** Subject OU=, put on everything this CA issues (the development mark, see development.ts). */
  organizationalUnit?: string;
  /** The root this CA leads to (itself for a root), DER: what TrustConfig lists. */
  rootDer: Uint8Array;
  /** This CA and its issuers, excluding the root: what a member chain carries above its leaf. */
  chainAboveLeaf: Uint8Array[];
}

export interface CaOptions extends Validity {
  /** Subject CN. Default "Shoal Cluster CA" (an intermediate: the parent's name + " Intermediate"). */
  name?: string;
  /** Subject O. Default "Shoal" (an intermediate: the parent's). */
  organization?: string;
  /** Subject OU, inherited by everything the CA issues. Default none (an intermediate: the parent's). */
  organizationalUnit?: string;
  /** Default EC P-256. */
  keyType?: AnyKeyType;
  /** Let keyType be one members refuse (negative tests only). */
  allowUnsupportedKey?: boolean;
  /** Serial number, hex; default 8 random bytes. */
  serial?: string;
  /** 'no-cert-sign' leaves keyCertSign out (the verifier must refuse what such a CA issued). */
  keyUsage?: 'normal' | 'no-cert-sign';
  /** BasicConstraints cA; false makes a "CA" that may not issue. Default true. */
  isCa?: boolean;
  pathLength?: number;
}

async function caExtensions(keys: KeyPair, o: CaOptions, issuer?: CaBundle): Promise<x509.Extension[]> {
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

/** The subject DN text: CN, then OU when there is one, then O when there is one. */
export function subjectName(commonName: string, organization: string, organizationalUnit?: string): string {
  const parts = [`CN=${commonName}`];
  if (organizationalUnit !== undefined) parts.push(`OU=${organizationalUnit}`);
  if (organization !== '') parts.push(`O=${organization}`);
  return parts.join(', ');
}

/** A self-signed root. */
export async function makeCa(opts: CaOptions): Promise<CaBundle> {
  const keyType = opts.keyType ?? DEFAULT_KEY_TYPE;
  checkKeyType(keyType, opts.allowUnsupportedKey);
  const name = opts.name ?? DEFAULT_CA_NAME;
  const organization = opts.organization ?? DEFAULT_ORGANIZATION;
  const keys = await generateKeyPair(keyType);
  const serial = opts.serial ?? randomSerial();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial,
    name: subjectName(name, organization, opts.organizationalUnit),
    notBefore: opts.notBefore,
    notAfter: opts.notAfter,
    signingAlgorithm: signingAlgorithm(keyType),
    keys,
    extensions: await caExtensions(keys, opts),
  });
  const der = derOf(cert);
  const ou = opts.organizationalUnit === undefined ? {} : { organizationalUnit: opts.organizationalUnit };
  return { name, der, cert, keys, keyType, serial, organization, ...ou, rootDer: der, chainAboveLeaf: [] };
}

/** What every certificate a CA issues has in common: its subject, dates, key and extensions, signed by `issuer`. */
export interface IssueRequest extends Validity {
  serial: string;
  commonName: string;
  organization: string;
  /** Default: the issuer's (so a development CA marks everything it signs). */
  organizationalUnit?: string;
  publicKey: webcrypto.CryptoKey;
  extensions: x509.Extension[];
}

export async function signByCa(issuer: CaBundle, r: IssueRequest): Promise<x509.X509Certificate> {
  return x509.X509CertificateGenerator.create({
    serialNumber: r.serial,
    subject: subjectName(r.commonName, r.organization, r.organizationalUnit ?? issuer.organizationalUnit),
    issuer: issuer.cert.subjectName,
    notBefore: r.notBefore,
    notAfter: r.notAfter,
    signingAlgorithm: signingAlgorithm(issuer.keyType),
    publicKey: r.publicKey,
    signingKey: issuer.keys.privateKey,
    extensions: r.extensions,
  });
}

/** A CA issued by `parent` (a root or another intermediate). */
export async function makeIntermediate(parent: CaBundle, opts: CaOptions): Promise<CaBundle> {
  const keyType = opts.keyType ?? DEFAULT_KEY_TYPE;
  checkKeyType(keyType, opts.allowUnsupportedKey);
  const name = opts.name ?? `${parent.name} Intermediate`;
  const organization = opts.organization ?? parent.organization;
  const organizationalUnit = opts.organizationalUnit ?? parent.organizationalUnit;
  const keys = await generateKeyPair(keyType);
  const serial = opts.serial ?? randomSerial();
  const cert = await signByCa(parent, {
    serial,
    commonName: name,
    organization,
    ...(organizationalUnit === undefined ? {} : { organizationalUnit }),
    notBefore: opts.notBefore,
    notAfter: opts.notAfter,
    publicKey: keys.publicKey,
    extensions: await caExtensions(keys, opts, parent),
  });
  const der = derOf(cert);
  return {
    name,
    der,
    cert,
    keys,
    keyType,
    serial,
    organization,
    ...(organizationalUnit === undefined ? {} : { organizationalUnit }),
    rootDer: parent.rootDer,
    chainAboveLeaf: [der, ...parent.chainAboveLeaf],
  };
}

/** A TrustConfig naming `ca`'s root, with no allowed list and nothing revoked unless given. */
export function trustOf(ca: CaBundle, extra: Partial<TrustConfig> = {}): TrustConfig {
  return { caCertificates: [ca.rootDer], revokedSerials: [], ...extra };
}
