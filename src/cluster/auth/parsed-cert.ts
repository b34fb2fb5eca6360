/**
 * One DER certificate parsed once into the facts the chain rules need.
 * node:crypto does the signature check, names, serial, key and IP SAN match;
 * a direct DER walk (wire/x509-facts.ts) supplies what node does not expose
 * (KeyUsage bits, BasicConstraints, dates, the CN).
 */
import { X509Certificate as NodeCertificate, createHash } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { x509Facts } from '../../wire/x509-facts.js';
import { normaliseSerial } from './trust.js';

export interface ParsedCert {
  der: Uint8Array;
  /** node's certificate: verify() and checkIP() are synchronous there. */
  node: NodeCertificate;
  /** Subject and issuer DNs as node prints them: equal names print equally, which is all chaining needs. */
  subjectDn: string;
  issuerDn: string;
  /** Subject CN, if the certificate has one. */
  cn: string | undefined;
  /** CN or, without one, the subject DN: for messages. */
  name: string;
  serial: string;
  notBefore: number;
  notAfter: number;
  /** BasicConstraints cA (false when the extension is absent). */
  isCa: boolean;
  pathLength: number | undefined;
  /** KeyUsage bit flags (KeyUsageFlags), undefined when the extension is absent. */
  keyUsage: number | undefined;
  /** ExtendedKeyUsage OIDs, undefined when the extension is absent. */
  extendedKeyUsage: string[] | undefined;
  publicKey: KeyObject;
}

/** Parses a DER certificate; returns the parser's complaint as a string instead of throwing. */
export function parseCert(der: Uint8Array): ParsedCert | string {
  try {
    const node = new NodeCertificate(der);
    // Both parsers also accept PEM (and node ignores trailing bytes): insist on
    // exactly one DER certificate, so the fingerprint and cache key cover what was verified.
    if (!node.raw.equals(der)) return 'not exactly one DER certificate';
    const facts = x509Facts(der);
    if (typeof facts === 'string') return facts;
    const cn = facts.cn;
    return {
      der,
      node,
      subjectDn: node.subject,
      issuerDn: node.issuer,
      cn,
      name: cn ?? node.subject.replace(/\n/g, ', '),
      serial: normaliseSerial(node.serialNumber),
      notBefore: facts.notBefore,
      notAfter: facts.notAfter,
      isCa: facts.isCa,
      pathLength: facts.pathLength,
      keyUsage: facts.keyUsage,
      // node names the ExtendedKeyUsage OIDs `keyUsage`.
      extendedKeyUsage: node.keyUsage,
      publicKey: node.publicKey,
    };
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/** A certificate's validity window (ParsedCert has one; a cached verification keeps them). */
export interface ValidityWindow {
  name: string;
  notBefore: number;
  notAfter: number;
}

/** The first certificate not valid at `now` (wall-clock ms), with why; null when all are. */
export function datesProblem(windows: readonly ValidityWindow[], now: number): { problem: 'not-yet-valid' | 'expired'; detail: string } | null {
  for (const w of windows) {
    if (now < w.notBefore) return { problem: 'not-yet-valid', detail: `${w.name} is valid from ${new Date(w.notBefore).toISOString()}` };
    if (now > w.notAfter) return { problem: 'expired', detail: `${w.name} expired ${new Date(w.notAfter).toISOString()}` };
  }
  return null;
}

/** Every certificate of a chain parsed, or why one could not be (naming its position). */
export function parseCerts(chain: readonly Uint8Array[]): ParsedCert[] | string {
  const certs: ParsedCert[] = [];
  for (const [i, der] of chain.entries()) {
    const p = parseCert(der);
    if (typeof p === 'string') return `certificate #${i}: ${p}`;
    certs.push(p);
  }
  return certs;
}

/** True when `parent`'s key signed `child` and the names chain; never throws. */
export function isIssuedBy(child: ParsedCert, parent: ParsedCert): boolean {
  // Not node's checkIssued(): it also refuses a parent without keyCertSign, and
  // then a CA with the wrong KeyUsage would be reported as 'untrusted' rather
  // than 'bad-key-usage'. The KeyUsage rule is applied separately.
  if (child.issuerDn !== parent.subjectDn) return false;
  try {
    return child.node.verify(parent.publicKey);
  } catch {
    return false;
  }
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
