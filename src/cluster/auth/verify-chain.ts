/**
 * Decides whether a member's certificate chain lets it join: the path must
 * lead to a cluster CA, every certificate must be valid now, the CA and leaf
 * key usages must fit, the leaf must be a member certificate (member-purpose.ts), nothing may be revoked, the leaf must certify the
 * member's interconnect address, and its key must be one members can use.
 * Never throws: the join protocol turns every answer into a JOIN_NAK reason.
 */
import { createHash } from 'node:crypto';
import { KeyUsageFlags } from '@peculiar/x509';
import { ShoalError } from '../../lib/errors.js';
import { formatIpv4 } from '../../lib/ipv4.js';
import { describeKey, keyKindOf } from './key-kind.js';
import { describePurposes, MEMBER_EKU } from './member-purpose.js';
import { datesProblem, isIssuedBy, parseCert, parseCerts, sha256Hex, type ValidityWindow } from './parsed-cert.js';
import type { ParsedCert } from './parsed-cert.js';
import { normaliseSerial } from './trust.js';
import type { CertProblem, RevocationSource, TrustConfig, VerifiedPeer } from './trust.js';

export type ChainResult =
  | { ok: true; peer: VerifiedPeer }
  | { ok: false; problem: CertProblem; detail: string };

/** Longer chains are refused as malformed: members need at most a root and a few intermediates. */
export const MAX_CHAIN_LENGTH = 8;

/** How many successful verifications a ChainVerifier remembers (about one per member). */
export const DEFAULT_CACHE_SIZE = 64;

/** The trust configuration parsed once. */
interface PreparedTrust {
  anchors: ParsedCert[];
  revoked: Set<string>;
  /** Asked again on every verification, cached or not: it may change while the member runs. */
  revocation: RevocationSource | undefined;
  allowed: Set<string> | undefined;
}

/** A certificate of a verified path with its issuer: what a changing revocation list is asked about. */
interface Link {
  name: string;
  serial: string;
  issuerDer: Uint8Array;
}

/** One certificate's validity window, kept so a cached verification can re-check dates. */
type Window = ValidityWindow;

type Failure = { ok: false; problem: CertProblem; detail: string };

function fail(problem: CertProblem, detail: string): Failure {
  return { ok: false, problem, detail };
}

function prepare(trust: TrustConfig): { prepared: PreparedTrust; bad: string[] } {
  const anchors: ParsedCert[] = [];
  const bad: string[] = [];
  trust.caCertificates.forEach((der, i) => {
    const p = parseCert(der);
    if (typeof p === 'string') bad.push(`CA certificate #${i}: ${p}`);
    else anchors.push(p);
  });
  return {
    prepared: {
      anchors,
      revoked: new Set(trust.revokedSerials.map(normaliseSerial)),
      revocation: trust.revocation,
      allowed: trust.allowedMembers === undefined ? undefined : new Set(trust.allowedMembers),
    },
    bad,
  };
}

/**
 * leaf → intermediates from the chain → a trusted CA. Returns the path (leaf
 * first, anchor last) or null. Anchors are tried first at every step, so a
 * root the member included in its chain is never needed (nor trusted).
 */
function buildPath(certs: ParsedCert[], anchors: ParsedCert[]): ParsedCert[] | null {
  const leaf = certs[0];
  if (leaf === undefined) return null;
  const path = [leaf];
  const unused = new Set(certs.slice(1));
  let current = leaf;
  while (path.length <= MAX_CHAIN_LENGTH) {
    const anchor = anchors.find((a) => isIssuedBy(current, a));
    if (anchor !== undefined) {
      path.push(anchor);
      return path;
    }
    const next = [...unused].find((c) => isIssuedBy(current, c));
    if (next === undefined) return null;
    unused.delete(next);
    path.push(next);
    current = next;
  }
  return null;
}

function checkDates(windows: Window[], wallNow: number): Failure | null {
  const d = datesProblem(windows, wallNow);
  return d === null ? null : fail(d.problem, d.detail);
}

/** The CA rules for every issuer in the path (intermediates and the anchor). */
function checkIssuers(path: ParsedCert[]): Failure | null {
  for (let i = 1; i < path.length; i++) {
    const ca = path[i];
    if (ca === undefined) continue;
    if (!ca.isCa) return fail('bad-key-usage', `${ca.name} issued a certificate but is not a CA (BasicConstraints)`);
    if (ca.keyUsage === undefined || (ca.keyUsage & KeyUsageFlags.keyCertSign) === 0) {
      return fail('bad-key-usage', `${ca.name} lacks KeyUsage keyCertSign`);
    }
    // i - 1 intermediates sit between this CA and the leaf.
    if (ca.pathLength !== undefined && i - 1 > ca.pathLength) {
      return fail('bad-key-usage', `${ca.name} allows ${ca.pathLength} intermediates below it, path has ${i - 1}`);
    }
  }
  return null;
}

function checkLeaf(leaf: ParsedCert, expectedMemberId: number, trust: PreparedTrust): Failure | null {
  if (leaf.keyUsage === undefined || (leaf.keyUsage & KeyUsageFlags.digitalSignature) === 0) {
    return fail('bad-key-usage', `${leaf.name} lacks KeyUsage digitalSignature`);
  }
  if (!(leaf.extendedKeyUsage ?? []).includes(MEMBER_EKU)) {
    return fail('not-member-certificate', `${leaf.name} is not a cluster member certificate (${describePurposes(leaf.extendedKeyUsage)}; \`shoal pki issue-member\` issues them)`);
  }
  if (keyKindOf(leaf.publicKey) === null) {
    return fail('unsupported-key', `${leaf.name} has a ${describeKey(leaf.publicKey)} key; members need EC P-256/P-384 or RSA 2048..8192`);
  }
  const ip = formatIpv4(expectedMemberId >>> 0);
  // checkIP matches iPAddress subjectAltNames only (never the CN), which is the rule we want.
  if (leaf.node.checkIP(ip) === undefined) {
    return fail('identity-mismatch', `${leaf.name} does not certify ${ip}`);
  }
  if (trust.allowed !== undefined && (leaf.cn === undefined || !trust.allowed.has(leaf.cn))) {
    return fail('not-allowed', `${leaf.name} is not on the allowed members list`);
  }
  return null;
}

interface Verified {
  peer: VerifiedPeer;
  windows: Window[];
  links: Link[];
}

function checkRevocation(links: readonly Link[], trust: PreparedTrust, wallNow: number): Failure | null {
  const source = trust.revocation;
  if (source === undefined) return null;
  for (const l of links) {
    if (source.isRevoked(l.serial, l.issuerDer, wallNow)) return fail('revoked', `${l.name} (serial ${l.serial}) is revoked by its CA's CRL`);
  }
  return null;
}

/** verifyChecked behind a last-resort catch, so the never-throws promise holds even for a parser surprise. */
function verifyPrepared(chain: Uint8Array[], trust: PreparedTrust, expectedMemberId: number, wallNow: number): Verified | Failure {
  try {
    return verifyChecked(chain, trust, expectedMemberId, wallNow);
  } catch (err) {
    return fail('malformed', `unexpected: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function verifyChecked(chain: Uint8Array[], trust: PreparedTrust, expectedMemberId: number, wallNow: number): Verified | Failure {
  if (chain.length === 0) return fail('malformed', 'empty certificate chain');
  if (chain.length > MAX_CHAIN_LENGTH) return fail('malformed', `chain of ${chain.length} certificates (max ${MAX_CHAIN_LENGTH})`);
  const certs = parseCerts(chain);
  if (typeof certs === 'string') return fail('malformed', certs);
  const path = buildPath(certs, trust.anchors);
  const leaf = certs[0];
  if (path === null || leaf === undefined) return fail('untrusted', `no path from ${certs[0]?.name ?? '?'} to a trusted CA`);
  // The anchor is the configuration's own CA: revoking it is done by removing it from the configuration.
  for (const c of path.slice(0, -1)) {
    if (trust.revoked.has(c.serial)) return fail('revoked', `${c.name} (serial ${c.serial}) is revoked`);
  }
  const links = path.slice(0, -1).map((c, i) => ({ name: c.name, serial: c.serial, issuerDer: path[i + 1]?.der ?? new Uint8Array() }));
  const windows = path.map((c) => ({ name: c.name, notBefore: c.notBefore, notAfter: c.notAfter }));
  const problem = checkRevocation(links, trust, wallNow) ?? checkDates(windows, wallNow) ?? checkIssuers(path) ?? checkLeaf(leaf, expectedMemberId, trust);
  if (problem !== null) return problem;
  const peer: VerifiedPeer = Object.freeze({
    memberId: expectedMemberId >>> 0,
    subject: leaf.name,
    serial: leaf.serial,
    publicKey: leaf.publicKey,
    fingerprint: sha256Hex(leaf.der),
  });
  return { peer, windows, links };
}

function toResult(v: Verified | Failure): ChainResult {
  return 'peer' in v ? { ok: true, peer: v.peer } : v;
}

/**
 * One-off verification. A CA certificate in `trust` that does not parse is
 * ignored here (so this never throws); ChainVerifier refuses it up front.
 */
export function verifyMemberChain(chain: Uint8Array[], trust: TrustConfig, expectedMemberId: number, wallNow: number): ChainResult {
  return toResult(verifyPrepared(chain, prepare(trust).prepared, expectedMemberId, wallNow));
}

/** The cache key: a digest of the exact chain bytes (length-prefixed, so certificate boundaries count) and the member id. */
function cacheKey(chain: Uint8Array[], memberId: number): string {
  const h = createHash('sha256');
  const len = Buffer.alloc(4);
  for (const der of chain) {
    len.writeUInt32BE(der.length);
    h.update(len).update(der);
  }
  return `${h.digest('hex')}/${memberId >>> 0}`;
}

/**
 * verifyMemberChain with the trust configuration parsed once and successful
 * verifications remembered: every signed control message carries the sender's
 * chain, and the simulator verifies the same few chains thousands of times.
 * A remembered success still re-checks the validity dates against wallNow,
 * and asks trust.revocation again (a CRL may have grown since); failures are
 * not remembered (they are rare and may depend on the time).
 */
export class ChainVerifier {
  private readonly trust: PreparedTrust;
  private readonly cache = new Map<string, Verified>();

  /** Throws ShoalError BAD_TRUST_CA when a configured CA certificate does not parse. */
  constructor(trust: TrustConfig, private readonly cacheSize: number = DEFAULT_CACHE_SIZE) {
    const { prepared, bad } = prepare(trust);
    if (bad.length > 0) throw new ShoalError('BAD_TRUST_CA', `unusable cluster CA: ${bad.join('; ')}`);
    this.trust = prepared;
  }

  verify(chain: Uint8Array[], expectedMemberId: number, wallNow: number): ChainResult {
    const key = cacheKey(chain, expectedMemberId);
    const hit = this.cache.get(key);
    if (hit !== undefined) {
      // Re-insert so the Map's insertion order doubles as least-recently-used order.
      this.cache.delete(key);
      this.cache.set(key, hit);
      return checkDates(hit.windows, wallNow) ?? checkRevocation(hit.links, this.trust, wallNow) ?? { ok: true, peer: hit.peer };
    }
    const v = verifyPrepared(chain, this.trust, expectedMemberId, wallNow);
    if ('peer' in v && this.cacheSize > 0) {
      if (this.cache.size >= this.cacheSize) {
        const oldest = this.cache.keys().next();
        if (oldest.done !== true) this.cache.delete(oldest.value);
      }
      this.cache.set(key, v);
    }
    return toResult(v);
  }

  private static readonly byTrust = new WeakMap<TrustConfig, ChainVerifier>();

  /**
   * One verifier per trust configuration object, shared by every member core
   * built from it: a restarted core (or a simulated cluster) need not parse the
   * same CA and chains again. A changed configuration is a new object.
   */
  static shared(trust: TrustConfig): ChainVerifier {
    let v = ChainVerifier.byTrust.get(trust);
    if (!v) {
      v = new ChainVerifier(trust);
      ChainVerifier.byTrust.set(trust, v);
    }
    return v;
  }

  /** How many verifications are remembered (for tests and diagnostics). */
  get cachedCount(): number {
    return this.cache.size;
  }
}
