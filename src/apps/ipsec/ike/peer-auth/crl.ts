/**
 * X.509 CRLs (RFC 5280 §5) from the client trust configuration: parsed once,
 * their signature checked synchronously with node:crypto (the @peculiar/x509
 * check is WebCrypto, hence async), and reduced to a set of revoked serials.
 *
 *   CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm, signatureValue BIT STRING }
 *   TBSCertList     ::= SEQUENCE { version OPTIONAL, signature, issuer Name, thisUpdate, ... }
 */
import type { KeyObject } from 'node:crypto';
import { X509Crl } from '@peculiar/x509';
import { normaliseSerial } from '../../../../cluster/auth/trust.js';
import { TAG, readChildren, readOnly } from '../../../../wire/der.js';
import { nodeScheme, parseAlgorithmIdentifier, verifySignature, type NodeScheme } from './signature-algorithms.js';

export interface ParsedCrl {
  /** The issuer Name, DER exactly as in the CRL: matched against a CA's subject bytes. */
  issuerDer: Uint8Array;
  /** Normalised serials (see normaliseSerial). */
  revoked: ReadonlySet<string>;
  thisUpdate: number;
  nextUpdate: number | undefined;
  /** What the signature covers, and how to check it. */
  tbs: Uint8Array;
  scheme: NodeScheme;
  signature: Uint8Array;
}

/** Parses a DER CRL; returns the complaint as a string instead of throwing. */
export function parseCrl(der: Uint8Array): ParsedCrl | string {
  const outer = readOnly(der, TAG.SEQUENCE);
  const parts = outer && readChildren(outer.value);
  const [tbs, algorithm, bits] = parts ?? [];
  if (parts?.length !== 3 || tbs?.tag !== TAG.SEQUENCE || algorithm === undefined || bits?.tag !== TAG.BIT_STRING) {
    return 'not a DER CertificateList';
  }
  const fields = readChildren(tbs.value);
  // With a version, the issuer is the third field; without one, the second.
  const issuer = fields?.[fields[0]?.tag === TAG.INTEGER ? 2 : 1];
  if (issuer?.tag !== TAG.SEQUENCE) return 'CRL without an issuer Name';
  const alg = parseAlgorithmIdentifier(algorithm.whole);
  if (!alg.ok) return `CRL signature algorithm: ${alg.detail}`;
  if (bits.value[0] !== 0) return 'CRL signature is not a whole number of bytes';
  try {
    const crl = new X509Crl(der);
    return {
      issuerDer: issuer.whole,
      revoked: new Set(crl.entries.map((e) => normaliseSerial(e.serialNumber))),
      thisUpdate: crl.thisUpdate.getTime(),
      nextUpdate: crl.nextUpdate?.getTime(),
      tbs: tbs.whole,
      scheme: nodeScheme(alg.scheme),
      signature: bits.value.subarray(1),
    };
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

export function crlSignedBy(crl: ParsedCrl, key: KeyObject): boolean {
  return verifySignature(crl.scheme, key, crl.tbs, crl.signature);
}
