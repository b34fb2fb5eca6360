/**
 * Whether a remote-access client's certificate chain (from its CERT payloads,
 * leaf first) leads to a CA the configuration trusts, RFC 5280 §6 reduced to
 * what IKEv2 clients need:
 *
 *   leaf ─► intermediates it sent ─► configured CA      (signatures, names)
 *   every certificate valid at `now`
 *   issuers: BasicConstraints cA, keyCertSign if KeyUsage present, pathLen
 *   leaf: digitalSignature or nonRepudiation if KeyUsage present; a key IKE can check
 *   nothing revoked (configured serials, or a CRL signed by the issuing CA)
 *   the issuing CA's CRLs, where it has some, not past their nextUpdate (fail closed, below)
 *
 * Unlike the cluster's member chains (cluster/auth/verify-chain.ts), KeyUsage
 * is optional and no address is bound to the certificate: the ID payload is
 * matched separately (identity.ts). Never throws on what the client sent.
 *
 * A CA whose every CRL is past its nextUpdate (RFC 5280 §5.1.2.5) may have
 * revoked certificates since: its clients are refused ('crl-stale', logged
 * with the CA and the date by IKE_AUTH's failure event) until a fresh CRL is
 * installed (`shoal pki crl` re-signs one). A VPN appliance that admits
 * outsiders on a list it knows to be out of date would fail open for exactly
 * the certificate the administrator revoked last; a CRL without nextUpdate
 * (which §5.1.2.5 forbids issuers to omit) never goes stale.
 */
import { createHash } from 'node:crypto';
import { KeyUsageFlags } from '@peculiar/x509';
import { datesProblem, isIssuedBy, parseCert, parseCerts, type ParsedCert } from '../../../../cluster/auth/parsed-cert.js';
import { normaliseSerial } from '../../../../cluster/auth/trust.js';
import { clientKeyType, subjectDerOf, subjectFacts, type ClientLeaf } from './cert-facts.js';
import { bytesEqual } from '../../../../wire/der.js';
import { crlSignedBy, parseCrl, type ParsedCrl } from './crl.js';

export type { ClientLeaf, ClientKeyType } from './cert-facts.js';

export interface ClientTrust {
  /** DER certificates of the CAs that issue client certificates (roots or intermediates). */
  caCertificates: readonly Uint8Array[];
  /** DER X.509 CRLs, each issued by one of those CAs. */
  crls?: readonly Uint8Array[];
  /** Revoked serials, hex; case and leading zeros do not matter. */
  revokedSerials?: readonly string[];
}

export type ChainProblem =
  | 'no-certificate'
  | 'malformed'
  | 'untrusted'
  | 'expired'
  | 'not-yet-valid'
  | 'revoked'
  | 'key-usage'
  /** The issuing CA's CRLs are all past their nextUpdate. */
  | 'crl-stale'
  /** Not returned by verify(): a CRL that does not verify is refused when the store is built (RangeError). */
  | 'bad-crl';

export type ChainCheck = { ok: true; leaf: ClientLeaf } | { ok: false; problem: ChainProblem; detail: string };

/** Longer chains are refused as malformed: a client needs a leaf and a few intermediates. */
export const MAX_CLIENT_CHAIN = 8;

type Failure = Extract<ChainCheck, { ok: false }>;

function fail(problem: ChainProblem, detail: string): Failure {
  return { ok: false, problem, detail };
}

interface Anchor {
  cert: ParsedCert;
  /** Serials revoked by this CA's CRLs. */
  crlRevoked: Set<string>;
  /** The latest nextUpdate of this CA's CRLs (ms); -Infinity without CRLs, +Infinity when one has none. */
  crlFreshUntil: number;
}

interface Prepared {
  anchors: Anchor[];
  revoked: ReadonlySet<string>;
}

/** Parses the configuration; what cannot be used is listed in `bad` (the store refuses it, the one-off check skips it). */
function prepare(trust: ClientTrust): { prepared: Prepared; bad: string[] } {
  const bad: string[] = [];
  const anchors: { anchor: Anchor; subjectDer: Uint8Array }[] = [];
  trust.caCertificates.forEach((der, i) => {
    const cert = parseCert(der);
    const subjectDer = subjectDerOf(der);
    if (typeof cert === 'string' || subjectDer === undefined) bad.push(`CA certificate #${i}: ${typeof cert === 'string' ? cert : 'no subject'}`);
    else anchors.push({ anchor: { cert, crlRevoked: new Set(), crlFreshUntil: Number.NEGATIVE_INFINITY }, subjectDer });
  });
  (trust.crls ?? []).forEach((der, i) => {
    const crl: ParsedCrl | string = parseCrl(der);
    if (typeof crl === 'string') {
      bad.push(`CRL #${i}: ${crl}`);
      return;
    }
    const issuer = anchors.find((a) => bytesEqual(a.subjectDer, crl.issuerDer) && crlSignedBy(crl, a.anchor.cert.publicKey));
    if (issuer === undefined) bad.push(`CRL #${i} (bad-crl): not signed by any configured CA`);
    else {
      for (const s of crl.revoked) issuer.anchor.crlRevoked.add(s);
      issuer.anchor.crlFreshUntil = Math.max(issuer.anchor.crlFreshUntil, crl.nextUpdate ?? Number.POSITIVE_INFINITY);
    }
  });
  return {
    prepared: { anchors: anchors.map((a) => a.anchor), revoked: new Set((trust.revokedSerials ?? []).map(normaliseSerial)) },
    bad,
  };
}

/** leaf → sent intermediates → anchor; anchors first at every step, so a root the client sent is never trusted for itself. */
function buildPath(certs: ParsedCert[], anchors: Anchor[]): { path: ParsedCert[]; anchor: Anchor } | null {
  const leaf = certs[0];
  if (leaf === undefined) return null;
  const path = [leaf];
  const unused = new Set(certs.slice(1));
  let current = leaf;
  while (path.length <= MAX_CLIENT_CHAIN) {
    const anchor = anchors.find((a) => isIssuedBy(current, a.cert));
    if (anchor !== undefined) return { path: [...path, anchor.cert], anchor };
    const next = [...unused].find((c) => isIssuedBy(current, c));
    if (next === undefined) return null;
    unused.delete(next);
    path.push(next);
    current = next;
  }
  return null;
}

function checkRevoked(path: ParsedCert[], anchor: Anchor, trust: Prepared): Failure | null {
  // The anchor itself is revoked by removing it from the configuration.
  for (const [i, c] of path.slice(0, -1).entries()) {
    if (trust.revoked.has(c.serial)) return fail('revoked', `${c.name} (serial ${c.serial}) is on the revoked list`);
    // CRLs are the configured CAs' own, so they speak only for what the anchor issued directly.
    if (path[i + 1] === anchor.cert && anchor.crlRevoked.has(c.serial)) {
      return fail('revoked', `${c.name} (serial ${c.serial}) is revoked by ${anchor.cert.name}'s CRL`);
    }
  }
  return null;
}

/** Whether the anchor's CRLs still speak for now; a CA without CRLs has nothing to go stale. */
function checkCrlFresh(anchor: Anchor, now: number): Failure | null {
  const until = anchor.crlFreshUntil;
  if (until === Number.NEGATIVE_INFINITY || now <= until) return null;
  return fail('crl-stale', `${anchor.cert.name}'s CRL is past its nextUpdate ${new Date(until).toISOString()}: its clients are refused until a fresh CRL is installed`);
}

function checkDates(path: ParsedCert[], now: number): Failure | null {
  const d = datesProblem(path, now);
  return d === null ? null : fail(d.problem, d.detail);
}

function checkIssuers(path: ParsedCert[]): Failure | null {
  for (let i = 1; i < path.length; i++) {
    const ca = path[i];
    if (ca === undefined) continue;
    if (!ca.isCa) return fail('key-usage', `${ca.name} issued a certificate but is not a CA (BasicConstraints)`);
    if (ca.keyUsage !== undefined && (ca.keyUsage & KeyUsageFlags.keyCertSign) === 0) {
      return fail('key-usage', `${ca.name} lacks KeyUsage keyCertSign`);
    }
    // i - 1 intermediates sit between this CA and the leaf.
    if (ca.pathLength !== undefined && i - 1 > ca.pathLength) {
      return fail('key-usage', `${ca.name} allows ${ca.pathLength} intermediates below it, path has ${i - 1}`);
    }
  }
  return null;
}

function checkLeaf(leaf: ParsedCert): Failure | ClientLeaf {
  const signing = KeyUsageFlags.digitalSignature | KeyUsageFlags.nonRepudiation;
  if (leaf.keyUsage !== undefined && (leaf.keyUsage & signing) === 0) {
    return fail('key-usage', `${leaf.name} lacks KeyUsage digitalSignature and nonRepudiation`);
  }
  const keyType = clientKeyType(leaf.publicKey);
  if (keyType === undefined) return fail('key-usage', `${leaf.name} has a key IKE cannot check (need EC P-256/384/521 or RSA ≥ 2048)`);
  return { publicKey: leaf.publicKey, serial: leaf.serial, keyType, ...subjectFacts(leaf.der) };
}

/** A successful check also says when the whole path is valid (a cached result is re-checked against it). */
type Checked = ChainCheck | { ok: true; leaf: ClientLeaf; window: { notBefore: number; notAfter: number } };

function verifyUnchecked(chainDer: readonly Uint8Array[], trust: Prepared, now: number): Checked {
  if (chainDer.length === 0) return fail('no-certificate', 'the client sent no certificate');
  if (chainDer.length > MAX_CLIENT_CHAIN) return fail('malformed', `chain of ${chainDer.length} certificates (max ${MAX_CLIENT_CHAIN})`);
  const certs = parseCerts(chainDer);
  if (typeof certs === 'string') return fail('malformed', certs);
  const found = buildPath(certs, trust.anchors);
  if (found === null) return fail('untrusted', `no path from ${certs[0]?.name ?? '?'} to a trusted CA`);
  const problem = checkRevoked(found.path, found.anchor, trust) ?? checkDates(found.path, now) ?? checkIssuers(found.path) ?? checkCrlFresh(found.anchor, now);
  if (problem !== null) return problem;
  const [leafCert] = found.path;
  if (leafCert === undefined) return fail('no-certificate', 'empty path');
  const leaf = checkLeaf(leafCert);
  if ('ok' in leaf) return leaf;
  const notBefore = Math.max(...found.path.map((c) => c.notBefore));
  // A remembered success lapses with the CRL too.
  const notAfter = Math.min(...found.path.map((c) => c.notAfter), found.anchor.crlFreshUntil === Number.NEGATIVE_INFINITY ? Infinity : found.anchor.crlFreshUntil);
  return { ok: true, leaf, window: { notBefore, notAfter } };
}

function verifyPrepared(chainDer: readonly Uint8Array[], trust: Prepared, now: number): Checked {
  try {
    return verifyUnchecked(chainDer, trust, now);
  } catch (err) {
    // A parser surprise must not escape onto the packet path.
    return fail('malformed', `unexpected: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** One-off check; unusable CAs and CRLs in `trust` are skipped (ClientTrustStore refuses them instead). */
export function verifyClientChain(chainDer: readonly Uint8Array[], trust: ClientTrust, now: number): ChainCheck {
  const r = verifyPrepared(chainDer, prepare(trust).prepared, now);
  return r.ok ? { ok: true, leaf: r.leaf } : r;
}

/** What IKE_AUTH asks about a client's chain: a ClientTrustStore, or one rebuilt when its CRL files change (src/daemon/client-trust-reload.ts). */
export interface ClientChainVerifier {
  /** `now` is wall-clock milliseconds. Never throws. */
  verify(chainDer: readonly Uint8Array[], now: number): ChainCheck;
}

/** Chains verified recently: a client reconnecting (or rekeying by reauthentication) is not parsed again. */
export const CHAIN_CACHE_SIZE = 512;

/** The client trust configuration parsed once: CAs, CRLs (signatures checked) and the revoked list. */
export class ClientTrustStore implements ClientChainVerifier {
  private readonly prepared: Prepared;

  /** Throws RangeError naming every CA or CRL that does not parse, and every CRL no configured CA signed. */
  constructor(trust: ClientTrust) {
    const { prepared, bad } = prepare(trust);
    if (bad.length > 0) throw new RangeError(`unusable client trust configuration: ${bad.join('; ')}`);
    if (prepared.anchors.length === 0) throw new RangeError('client trust configuration lists no CA certificate');
    this.prepared = prepared;
  }

  private readonly cache = new Map<string, { leaf: ClientLeaf; notBefore: number; notAfter: number }>();

  /**
   * `now` is wall-clock milliseconds. Never throws. A chain that verified
   * before is taken from the cache while every certificate on its path is
   * still within its dates (the CAs, CRLs and revoked list never change
   * under a store: a new configuration makes a new store).
   */
  verify(chainDer: readonly Uint8Array[], now: number): ChainCheck {
    const h = createHash('sha256');
    for (const der of chainDer) h.update(der).update(Uint8Array.of(0));
    const key = h.digest('hex');
    const hit = this.cache.get(key);
    if (hit && now >= hit.notBefore && now <= hit.notAfter) {
      this.cache.delete(key);
      this.cache.set(key, hit);
      return { ok: true, leaf: hit.leaf };
    }
    const r = verifyPrepared(chainDer, this.prepared, now);
    if (!r.ok) return r;
    if ('window' in r) {
      this.cache.set(key, { leaf: r.leaf, ...r.window });
      if (this.cache.size > CHAIN_CACHE_SIZE) this.cache.delete(this.cache.keys().next().value as string);
    }
    return { ok: true, leaf: r.leaf };
  }
}
