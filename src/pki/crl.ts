/**
 * The CA store's certificate revocation list (RFC 5280 §5): a v2 CRL signed
 * by the CA, issuer = the CA's subject (the same encoded Name, so verifiers
 * that match issuer bytes find it), AuthorityKeyIdentifier and CRLNumber,
 * thisUpdate/nextUpdate, and one entry per revoked certificate with its
 * revocation date and reason. Verified by src/apps/ipsec/ike/peer-auth/crl.ts.
 */
import * as x509 from '@peculiar/x509';
import type { CaBundle } from './ca.js';
import { signingAlgorithm } from './keys.js';
import type { RevocationReason } from './revocation-reasons.js';

const REASON_CODE: Record<RevocationReason, x509.X509CrlReason> = {
  unspecified: x509.X509CrlReason.unspecified,
  'key-compromise': x509.X509CrlReason.keyCompromise,
  'ca-compromise': x509.X509CrlReason.cACompromise,
  'affiliation-changed': x509.X509CrlReason.affiliationChanged,
  superseded: x509.X509CrlReason.superseded,
  'cessation-of-operation': x509.X509CrlReason.cessationOfOperation,
  'privilege-withdrawn': x509.X509CrlReason.privilegeWithdrawn,
};

const ID_CE_CRL_NUMBER = '2.5.29.20';

export interface RevokedEntry {
  /** Hex. */
  serial: string;
  revokedAt: Date;
  reason: RevocationReason;
}

export interface CrlParams {
  thisUpdate: Date;
  nextUpdate: Date;
  /** CRLNumber: grows with every CRL the CA issues (§5.2.3). */
  number: number;
}

/** DER INTEGER of a non-negative whole number. */
function derInteger(n: number): Uint8Array {
  const bytes: number[] = [];
  let v = n;
  do {
    bytes.unshift(v % 256);
    v = Math.floor(v / 256);
  } while (v > 0);
  if ((bytes[0] ?? 0) & 0x80) bytes.unshift(0);
  return Uint8Array.of(0x02, bytes.length, ...bytes);
}

/** The signed CRL, DER. */
export async function signCrl(ca: CaBundle, revoked: readonly RevokedEntry[], p: CrlParams): Promise<Uint8Array> {
  const crl = await x509.X509CrlGenerator.create({
    issuer: ca.cert.subjectName,
    thisUpdate: p.thisUpdate,
    nextUpdate: p.nextUpdate,
    signingAlgorithm: signingAlgorithm(ca.keyType),
    signingKey: ca.keys.privateKey,
    extensions: [await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey), new x509.Extension(ID_CE_CRL_NUMBER, false, derInteger(p.number))],
    entries: revoked.map((r) => ({
      serialNumber: r.serial,
      revocationDate: r.revokedAt,
      // §5.3.1: the reason code 'unspecified' SHOULD be absent rather than given.
      ...(r.reason === 'unspecified' ? {} : { reason: REASON_CODE[r.reason] }),
    })),
  });
  return new Uint8Array(crl.rawData);
}

export function crlPem(der: Uint8Array): string {
  const lines = Buffer.from(der).toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN X509 CRL-----\n${lines.join('\n')}\n-----END X509 CRL-----\n`;
}
