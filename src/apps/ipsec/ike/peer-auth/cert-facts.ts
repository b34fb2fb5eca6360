/**
 * The facts about a client's leaf certificate that identity matching and the
 * AUTH check need, beyond what the cluster's parseCert gives: the subject Name
 * as DER bytes (compared with an ID_DER_ASN1_DN), the subjectAltNames, and the
 * key type.
 */
import { X509Certificate, type KeyObject } from 'node:crypto';
import { x509Facts } from '../../../../wire/x509-facts.js';
import { RSA_MIN_BITS } from '../../../../cluster/auth/key-kind.js';
import { TAG, readChildren, readOnly } from '../../../../wire/der.js';

export type ClientKeyType = 'ec-p256' | 'ec-p384' | 'ec-p521' | 'rsa';

export interface ClientLeaf {
  publicKey: KeyObject;
  /** The subject's RDNs in encoded order, e.g. "CN=client1, O=Shoal" (for messages). */
  subjectDn: string;
  /** The subject Name exactly as encoded in the certificate. */
  subjectDer: Uint8Array;
  dnsNames: string[];
  /** Dotted IPv4, or IPv6 text. */
  ipAddresses: string[];
  emails: string[];
  /** Normalised hex (see normaliseSerial). */
  serial: string;
  keyType: ClientKeyType;
}

/**
 *   Certificate  ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }
 *   TBSCertificate ::= SEQUENCE { [0] version OPTIONAL, serialNumber, signature, issuer, validity, subject, ... }
 */
export function subjectDerOf(certDer: Uint8Array): Uint8Array | undefined {
  const cert = readOnly(certDer, TAG.SEQUENCE);
  const tbs = cert && readChildren(cert.value)?.[0];
  const fields = tbs?.tag === TAG.SEQUENCE ? readChildren(tbs.value) : undefined;
  const subject = fields?.[fields[0]?.tag === TAG.context(0) ? 5 : 4];
  return subject?.tag === TAG.SEQUENCE ? subject.whole : undefined;
}

export function clientKeyType(key: KeyObject): ClientKeyType | undefined {
  const d = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === 'ec') {
    if (d?.namedCurve === 'prime256v1') return 'ec-p256';
    if (d?.namedCurve === 'secp384r1') return 'ec-p384';
    if (d?.namedCurve === 'secp521r1') return 'ec-p521';
    return undefined;
  }
  // Below 2048 bits is too weak to authenticate anyone (same floor as members).
  if (key.asymmetricKeyType === 'rsa' && (d?.modulusLength ?? 0) >= RSA_MIN_BITS) return 'rsa';
  return undefined;
}

export interface SubjectFacts {
  subjectDn: string;
  subjectDer: Uint8Array;
  dnsNames: string[];
  ipAddresses: string[];
  emails: string[];
}

/** Throws on a certificate that cannot be read; the caller has parsed it already and catches. */
export function subjectFacts(certDer: Uint8Array): SubjectFacts {
  const facts = x509Facts(certDer);
  if (typeof facts === 'string') throw new RangeError(facts);
  return {
    // node prints the RDNs in their encoded order, one per line: "CN=client1\nO=Shoal".
    subjectDn: new X509Certificate(certDer).subject.split('\n').join(', '),
    subjectDer: facts.subjectDer,
    dnsNames: facts.dnsNames,
    ipAddresses: facts.ipAddresses,
    emails: facts.emails,
  };
}
