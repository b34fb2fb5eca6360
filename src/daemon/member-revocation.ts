/**
 * The cluster's CRLs (daemon config `trust.crl`) as the join check's
 * RevocationSource: each CRL must be signed by one of the trusted cluster CAs
 * (else it is refused, at start-up with an error, later with a log line while
 * the previous CRLs stay in force), and speaks only for what that CA issued.
 * The files are re-read when they change, checked at most once per second
 * when a signed control message (a JOIN) is judged.
 *
 * A CA whose CRLs are all past their nextUpdate is logged ('crl-stale', at
 * error level, once per CA and CRL set) but its list stays in force, and its
 * members are not refused: every signed control message (elections, the
 * master beacon) is judged by the same chain check, so refusing on a date
 * would split every cluster on that same date, members serving one another's
 * units — an outage and duplicate answers, where the stale list itself still
 * refuses everything it names. IKE clients are refused instead
 * (apps/ipsec/ike/peer-auth/client-cert.ts): they are outsiders.
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
  /** The subject, for log lines. */
  name: string;
  subjectDer: Uint8Array;
  publicKey: KeyObject;
}

/** Per CA, in the order of the trusted CAs: the serials its CRLs revoke, and until when the freshest of them speaks (-Infinity: no CRL). */
type RevokedByCa = { revoked: Set<string>; freshUntil: number }[];

/** Parses and checks every CRL; throws naming the file and what is wrong with it. */
export function revokedByCa(cas: readonly TrustedCa[], files: readonly CrlFile[]): RevokedByCa {
  const out = cas.map(() => ({ revoked: new Set<string>(), freshUntil: Number.NEGATIVE_INFINITY }));
  for (const f of files) {
    f.crls.forEach((der, i) => {
      const what = f.crls.length > 1 ? `${f.path} (CRL #${i})` : f.path;
      const crl = parseCrl(der);
      if (typeof crl === 'string') throw new Error(`${what}: ${crl}`);
      const k = cas.findIndex((ca) => bytesEqual(ca.subjectDer, crl.issuerDer) && crlSignedBy(crl, ca.publicKey));
      if (k < 0) throw new Error(`${what}: not signed by any trusted cluster CA (its signature does not verify)`);
      const ca = out[k];
      if (ca === undefined) return;
      for (const s of crl.revoked) ca.revoked.add(s);
      ca.freshUntil = Math.max(ca.freshUntil, crl.nextUpdate ?? Number.POSITIVE_INFINITY);
    });
  }
  return out;
}

export class MemberRevocation implements RevocationSource {
  private readonly cas: TrustedCa[];
  private readonly watch: CrlWatch<RevokedByCa>;
  /** The CRL sets already reported stale, so a join storm logs it once. */
  private readonly reportedStale = new WeakSet<RevokedByCa[number]>();

  /** Throws BAD_CREDENTIALS when a CRL cannot be read or no trusted CA signed it. */
  constructor(caCertificates: readonly Uint8Array[], crlPaths: readonly string[], log?: CrlLog, minIntervalMs = MEMBER_CRL_CHECK_MS) {
    this.cas = caCertificates.flatMap((der) => {
      const subjectDer = subjectDerOf(der);
      const cert = new X509Certificate(der);
      return subjectDer === undefined ? [] : [{ der, name: cert.subject.replace(/\n/g, ', '), subjectDer, publicKey: cert.publicKey }];
    });
    this.watch = new CrlWatch(crlPaths, (files) => revokedByCa(this.cas, files), { minIntervalMs, purpose: 'cluster trust', ...(log ? { log } : {}) });
    this.log = log;
  }

  private readonly log: CrlLog | undefined;

  isRevoked(serial: string, issuerDer: Uint8Array, wallNow: number): boolean {
    const byCa = this.watch.current(wallNow);
    const k = this.cas.findIndex((ca) => bytesEqual(ca.der, issuerDer));
    const ca = k >= 0 ? byCa[k] : undefined;
    if (ca === undefined) return false;
    if (wallNow > ca.freshUntil && ca.freshUntil !== Number.NEGATIVE_INFINITY && !this.reportedStale.has(ca)) {
      this.reportedStale.add(ca);
      this.log?.('error', 'crl-stale', {
        purpose: 'cluster trust',
        ca: this.cas[k]?.name ?? `#${k}`,
        nextUpdate: new Date(ca.freshUntil).toISOString(),
        action: 'still in force; members are not refused (re-sign it: shoal pki crl, then copy crl.pem to every member)',
      });
    }
    return ca.revoked.has(serial);
  }
}
