/**
 * The cluster's CRLs (daemon config `trust.crl`) as the join check's
 * RevocationSource: each CRL must be signed by one of the trusted cluster CAs
 * (else it is refused, at start-up with an error, later with a log line while
 * the previous CRLs stay in force), and speaks only for what that CA issued.
 * The files are re-read when they change, checked at most once per second
 * when a signed control message (a JOIN) is judged.
 */
import { X509Certificate } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { crlSignedBy, parseCrl } from '../apps/ipsec/ike/peer-auth/crl.js';
import { subjectDerOf } from '../apps/ipsec/ike/peer-auth/cert-facts.js';
import type { RevocationSource } from '../cluster/auth/trust.js';
import { bytesEqual } from '../wire/der.js';
import { CrlWatch, type CrlFile, type CrlLog } from './crl-watch.js';

/** How often a changed CRL file is noticed at most (a stat per file per interval, only while certificates are judged). */
export const MEMBER_CRL_CHECK_MS = 1000;

interface TrustedCa {
  der: Uint8Array;
  subjectDer: Uint8Array;
  publicKey: KeyObject;
}

/** Revoked serials per CA, in the order of the trusted CAs. */
type RevokedByCa = Set<string>[];

/** Parses and checks every CRL; throws naming the file and what is wrong with it. */
export function revokedByCa(cas: readonly TrustedCa[], files: readonly CrlFile[]): RevokedByCa {
  const out = cas.map(() => new Set<string>());
  for (const f of files) {
    f.crls.forEach((der, i) => {
      const what = f.crls.length > 1 ? `${f.path} (CRL #${i})` : f.path;
      const crl = parseCrl(der);
      if (typeof crl === 'string') throw new Error(`${what}: ${crl}`);
      const k = cas.findIndex((ca) => bytesEqual(ca.subjectDer, crl.issuerDer) && crlSignedBy(crl, ca.publicKey));
      if (k < 0) throw new Error(`${what}: not signed by any trusted cluster CA (its signature does not verify)`);
      for (const s of crl.revoked) out[k]?.add(s);
    });
  }
  return out;
}

export class MemberRevocation implements RevocationSource {
  private readonly cas: TrustedCa[];
  private readonly watch: CrlWatch<RevokedByCa>;

  /** Throws BAD_CREDENTIALS when a CRL cannot be read or no trusted CA signed it. */
  constructor(caCertificates: readonly Uint8Array[], crlPaths: readonly string[], log?: CrlLog, minIntervalMs = MEMBER_CRL_CHECK_MS) {
    this.cas = caCertificates.flatMap((der) => {
      const subjectDer = subjectDerOf(der);
      return subjectDer === undefined ? [] : [{ der, subjectDer, publicKey: new X509Certificate(der).publicKey }];
    });
    this.watch = new CrlWatch(crlPaths, (files) => revokedByCa(this.cas, files), { minIntervalMs, purpose: 'cluster trust', ...(log ? { log } : {}) });
  }

  isRevoked(serial: string, issuerDer: Uint8Array, wallNow: number): boolean {
    const revoked = this.watch.current(wallNow);
    const k = this.cas.findIndex((ca) => bytesEqual(ca.der, issuerDer));
    return k >= 0 && (revoked[k]?.has(serial) ?? false);
  }
}
