/**
 * End-entity certificates for IPsec: remote-access clients and the cluster's
 * VPN server identity. TLS-style: KeyUsage digitalSignature (critical), the
 * names in subjectAltName, and ExtendedKeyUsage serverAuth, clientAuth and
 * ipsecIKE's IKE-intermediate, which Windows and macOS clients look for
 * (`purpose` narrows it to the client's or the server's half).
 */
import { KeyObject } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { normaliseSerial } from '../cluster/auth/trust.js';
import { signByCa, type CaBundle } from './ca.js';
import { derOf, generateKeyPair, randomSerial, type KeyType } from './keys.js';
import { certificatePem, privateKeyPem } from './pem.js';
import type { Validity } from './validity.js';

/**
 * Clients may use P-521 (AUTH method 11) even though cluster members may not.
 * 'rsa-2048' is another name for 'rsa', the spelling IPsec configurations use.
 */
export type EndpointKeyType = KeyType | 'ec-p521' | 'rsa-2048';

/** RFC 4945 §5.1.3.12 / Microsoft's "IP security IKE intermediate". */
const IKE_INTERMEDIATE = '1.3.6.1.5.5.8.2.2';

export interface EndpointOptions extends Validity {
  commonName: string;
  /** Subject O. Default: the issuing CA's. */
  organization?: string;
  dnsNames?: string[];
  /** IPv4 or IPv6 text. */
  ipAddresses?: string[];
  emails?: string[];
  /** Default EC P-256. */
  keyType?: EndpointKeyType;
  /** Serial number, hex; default 8 random bytes. */
  serial?: string;
  /** Issue from this intermediate (made with makeIntermediate from `ca`) instead of `ca`. */
  intermediate?: CaBundle;
  /** 'key-encipherment-only' leaves digitalSignature out (negative tests only). */
  keyUsage?: 'normal' | 'key-encipherment-only';
  /** Which ExtendedKeyUsage: clientAuth, serverAuth or both (default), always with IKE-intermediate. */
  purpose?: EndpointPurpose;
}

export type EndpointPurpose = 'client' | 'server' | 'both';

function extendedKeyUsages(purpose: EndpointPurpose): string[] {
  const eku = x509.ExtendedKeyUsage;
  const tls = purpose === 'client' ? [eku.clientAuth] : purpose === 'server' ? [eku.serverAuth] : [eku.serverAuth, eku.clientAuth];
  return [...tls, IKE_INTERMEDIATE];
}

export interface EndpointBundle {
  certDer: Uint8Array;
  certPem: string;
  keyPem: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** The leaf, then the intermediates up to (not including) the root: what the endpoint sends in CERT payloads. */
  chain: Uint8Array[];
  /** Normalised (see normaliseSerial). */
  serial: string;
}

function subjectAltNames(opts: EndpointOptions): x509.JsonGeneralNames {
  return [
    ...(opts.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(opts.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
    ...(opts.emails ?? []).map((value) => ({ type: 'email' as const, value })),
  ];
}

/** An end-entity certificate for `commonName`, issued by `ca` or by opts.intermediate. */
export async function issueEndpoint(ca: CaBundle, opts: EndpointOptions): Promise<EndpointBundle> {
  const keyType = opts.keyType === 'rsa-2048' ? 'rsa' : (opts.keyType ?? 'ec-p256');
  const issuer = opts.intermediate ?? ca;
  const keys = await generateKeyPair(keyType);
  const serial = opts.serial ?? randomSerial();
  const usages = opts.keyUsage === 'key-encipherment-only' ? x509.KeyUsageFlags.keyEncipherment : x509.KeyUsageFlags.digitalSignature;
  const san = subjectAltNames(opts);
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(usages, true),
    new x509.ExtendedKeyUsageExtension(extendedKeyUsages(opts.purpose ?? 'both')),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    await x509.AuthorityKeyIdentifierExtension.create(issuer.keys.publicKey),
  ];
  if (san.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(san));
  const cert = await signByCa(issuer, {
    serial,
    commonName: opts.commonName,
    organization: opts.organization ?? issuer.organization,
    notBefore: opts.notBefore,
    notAfter: opts.notAfter,
    publicKey: keys.publicKey,
    extensions,
  });
  const certDer = derOf(cert);
  const privateKey = KeyObject.from(keys.privateKey);
  return {
    certDer,
    certPem: certificatePem(certDer),
    keyPem: privateKeyPem(privateKey),
    privateKey,
    publicKey: KeyObject.from(keys.publicKey),
    chain: [certDer, ...issuer.chainAboveLeaf],
    serial: normaliseSerial(serial),
  };
}
