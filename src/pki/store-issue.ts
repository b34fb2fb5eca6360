/**
 * Issuing from a CA directory: member certificates for the cluster's join
 * check (iPAddress SAN = the member's interconnect address, see
 * cluster/auth/verify-chain.ts), and IKEv2 client and VPN server
 * certificates (SAN = the identity, digitalSignature, clientAuth or
 * serverAuth + IKE-intermediate EKU, see endpoint.ts).
 *
 *   lock ─► open the CA ─► refuse existing files unless force ─► dates (never
 *   past the CA's notAfter) ─► unique serial ─► sign ─► issued/<name>.key .pem ─► index
 */
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import * as x509 from '@peculiar/x509';
import { normaliseSerial } from '../cluster/auth/trust.js';
import { ShoalError } from '../lib/errors.js';
import { parseIpv4 } from '../lib/ipv4.js';
import { issueEndpoint, type EndpointPurpose } from './endpoint.js';
import { randomSerial } from './keys.js';
import { issueMember } from './member.js';
import { certificatePem, privateKeyPem } from './pem.js';
import { DEFAULT_DAYS, openStore, type OpenStore } from './store.js';
import { checkName, issuedPaths, withStoreLock, writeAtomic } from './store-files.js';
import type { CertKind, IndexEntry } from './store-index.js';
import { formatIndex } from './store-index.js';
import { DEFAULT_STORE_KEY_TYPE, generatedKeyType, type StoreKeyType } from './store-keys.js';
import { validityFrom, type Validity } from './validity.js';

interface IssueCommon {
  now: Date;
  keyType?: StoreKeyType;
  /** Lifetime; default by kind (member 730, client 365, server 730), never past the CA's own end. */
  days?: number;
  /** Replace existing issued/<name>.pem/.key (a certificate issued before under the name stays valid until revoked). */
  force?: boolean;
}

export interface MemberRequest extends IssueCommon {
  /** Subject CN (what trust.allowedMembers lists) and file name. */
  name: string;
  /** The member's interconnect address: its iPAddress SAN, which the join check requires. */
  address: string;
  /** The DNS SAN is `<name>.<dnsDomain>`. Default "shoal.test". */
  dnsDomain?: string;
}

export interface ClientRequest extends IssueCommon {
  /** The client's IKE identity: an FQDN, an e-mail address or an IP address; becomes the SAN and the CN. */
  identity: string;
  /** File name; default the identity. */
  name?: string;
}

export interface ServerRequest extends IssueCommon {
  /** The server's FQDN: CN, first DNS SAN and file name. */
  name: string;
  /** More DNS SANs. */
  dnsNames?: string[];
  /** IP SANs (e.g. the outside cluster address). */
  addresses?: string[];
}

export interface Issued {
  entry: IndexEntry;
  certFile: string;
  keyFile: string;
  certPem: string;
  keyPem: string;
  /** True when the requested lifetime ran past the CA's, so the certificate ends with the CA. */
  limitedByCa: boolean;
}

/** What the signing step needs, once the kind-specific checks are done. */
interface Plan {
  kind: CertKind;
  name: string;
  keyType: StoreKeyType;
  san: { dns: string[]; ip: string[]; email: string[] };
  sign: (store: OpenStore, validity: Validity, serial: string) => Promise<{ chainPem: string; keyPem: string; subject: string }>;
}

const FQDN = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const EMAIL = /^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+$/;

function checkFqdn(name: string, what: string): string {
  if (!FQDN.test(name)) throw new ShoalError('BAD_NAME', `${what} '${name}' is not a DNS name`);
  return name;
}

function checkIp(text: string, what: string): string {
  if (isIP(text) === 0) throw new ShoalError('BAD_ADDRESS', `${what} '${text}' is not an IP address`);
  return text;
}

/** Valid from a day before `now` for `days`, ending no later than the CA. */
function datesFor(store: OpenStore, now: Date, days: number): { validity: Validity; limitedByCa: boolean } {
  const caEnd = store.ca.cert.notAfter;
  if (now.getTime() > caEnd.getTime()) throw new ShoalError('PKI_CA_EXPIRED', `the CA expired on ${caEnd.toISOString()}: make a new one with init-ca`);
  if (!Number.isInteger(days) || days < 1 || days > 36_500) throw new ShoalError('BAD_DAYS', `days must be a whole number from 1 to 36500, not ${days}`);
  const v = validityFrom(now, days);
  const limitedByCa = v.notAfter.getTime() > caEnd.getTime();
  return { validity: limitedByCa ? { notBefore: v.notBefore, notAfter: caEnd } : v, limitedByCa };
}

function freshSerial(store: OpenStore): string {
  const used = new Set([store.index.ca.serial, ...store.index.certificates.map((c) => c.serial)]);
  for (;;) {
    const s = randomSerial();
    if (!used.has(normaliseSerial(s))) return s;
  }
}

async function issue(dir: string, plan: Plan, o: IssueCommon): Promise<Issued> {
  checkName(plan.name);
  return withStoreLock(dir, async () => {
    const store = await openStore(dir);
    const files = issuedPaths(dir, plan.name);
    const existing = [files.cert, files.key].filter((f) => existsSync(f));
    if (existing.length > 0 && o.force !== true) throw new ShoalError('PKI_EXISTS', `${existing.join(' and ')} exist: --force replaces them`);
    const { validity, limitedByCa } = datesFor(store, o.now, o.days ?? DEFAULT_DAYS[plan.kind]);
    const serial = freshSerial(store);
    const signed = await plan.sign(store, validity, serial);
    await writeAtomic(files.key, signed.keyPem, 0o600);
    await writeAtomic(files.cert, signed.chainPem, 0o644);
    const entry: IndexEntry = {
      name: plan.name,
      kind: plan.kind,
      serial: normaliseSerial(serial),
      subject: signed.subject,
      san: [...plan.san.dns.map((d) => `dns:${d}`), ...plan.san.ip.map((a) => `ip:${a}`), ...plan.san.email.map((e) => `email:${e}`)],
      keyType: plan.keyType,
      notBefore: validity.notBefore.toISOString(),
      notAfter: validity.notAfter.toISOString(),
      revokedAt: null,
      revocationReason: null,
    };
    await writeAtomic(store.paths.index, formatIndex({ ...store.index, certificates: [...store.index.certificates, entry] }), 0o644);
    return { entry, certFile: files.cert, keyFile: files.key, certPem: signed.chainPem, keyPem: signed.keyPem, limitedByCa };
  });
}

/** A member certificate: CN = name, SANs `<name>.<dnsDomain>` and the interconnect address. */
export async function issueMemberCert(dir: string, r: MemberRequest): Promise<Issued> {
  try {
    parseIpv4(r.address);
  } catch {
    throw new ShoalError('BAD_ADDRESS', `member address '${r.address}' is not an IPv4 address (the member's interconnect address)`);
  }
  const keyType = r.keyType ?? DEFAULT_STORE_KEY_TYPE;
  const dnsDomain = checkFqdn(r.dnsDomain ?? 'shoal.test', 'DNS domain');
  checkFqdn(`${r.name}.${dnsDomain}`, 'member DNS name');
  return issue(
    dir,
    {
      kind: 'member',
      name: r.name,
      keyType,
      san: { dns: [`${r.name}.${dnsDomain}`], ip: [r.address], email: [] },
      sign: async (store, validity, serial) => {
        const m = await issueMember(store.ca, { ...validity, cn: r.name, ip: r.address, dnsDomain, keyType: generatedKeyType(keyType), serial });
        const leaf = m.chain[0];
        return { chainPem: m.chain.map(certificatePem).join(''), keyPem: privateKeyPem(m.privateKey), subject: leaf === undefined ? '' : subjectOf(leaf) };
      },
    },
    r,
  );
}

/** Where an IKE identity goes in the SAN: an IP, an e-mail address (rfc822Name) or a DNS name. */
function identitySan(identity: string): Plan['san'] {
  if (isIP(identity) !== 0) return { dns: [], ip: [identity], email: [] };
  if (identity.includes('@')) {
    if (!EMAIL.test(identity)) throw new ShoalError('BAD_IDENTITY', `identity '${identity}' is not an e-mail address`);
    return { dns: [], ip: [], email: [identity] };
  }
  if (!FQDN.test(identity)) throw new ShoalError('BAD_IDENTITY', `identity '${identity}': expected an FQDN, an e-mail address or an IP address`);
  return { dns: [identity], ip: [], email: [] };
}

function endpointPlan(kind: 'client' | 'server', name: string, commonName: string, keyType: StoreKeyType, san: Plan['san'], purpose: EndpointPurpose): Plan {
  return {
    kind,
    name,
    keyType,
    san,
    sign: async (store, validity, serial) => {
      const b = await issueEndpoint(store.ca, {
        ...validity,
        commonName,
        dnsNames: san.dns,
        ipAddresses: san.ip,
        emails: san.email,
        keyType: generatedKeyType(keyType),
        serial,
        purpose,
      });
      return { chainPem: b.chain.map(certificatePem).join(''), keyPem: b.keyPem, subject: subjectOf(b.certDer) };
    },
  };
}

/** An IKEv2 client certificate: CN and SAN = identity, clientAuth. */
export async function issueClientCert(dir: string, r: ClientRequest): Promise<Issued> {
  // The CN is the identity even when the files have another name.
  return issue(dir, endpointPlan('client', r.name ?? r.identity, r.identity, r.keyType ?? DEFAULT_STORE_KEY_TYPE, identitySan(r.identity), 'client'), r);
}

/** The VPN server certificate: CN = FQDN, DNS and IP SANs, serverAuth. */
export async function issueServerCert(dir: string, r: ServerRequest): Promise<Issued> {
  checkFqdn(r.name, 'server name');
  const san = { dns: [r.name, ...(r.dnsNames ?? []).map((d) => checkFqdn(d, 'DNS name'))], ip: (r.addresses ?? []).map((a) => checkIp(a, 'address')), email: [] };
  return issue(dir, endpointPlan('server', r.name, r.name, r.keyType ?? DEFAULT_STORE_KEY_TYPE, san, 'server'), r);
}

/** The subject DN as @peculiar/x509 prints it ("CN=…, OU=…, O=…"). */
function subjectOf(der: Uint8Array): string {
  return new x509.X509Certificate(der).subject;
}
