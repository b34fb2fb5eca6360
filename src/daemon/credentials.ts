/** Reads the member's certificate chain, private key and the trusted CAs from PEM files. */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { MemberCredentials, TrustConfig } from '../cluster/auth/trust.js';
import { ShoalError } from '../lib/errors.js';
import { x509Facts } from '../wire/x509-facts.js';
import type { DaemonConfig } from './config.js';
import type { CrlLog } from './crl-watch.js';
import { MemberRevocation } from './member-revocation.js';

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/g;

export function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new ShoalError('BAD_CREDENTIALS', `cannot read ${what} ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Every certificate in a PEM file, in order, as DER. */
export function certificatesFromPem(pem: string, path: string): Uint8Array[] {
  const out = [...pem.matchAll(PEM_BLOCK)].map((m) => new Uint8Array(Buffer.from((m[1] ?? '').replace(/\s+/g, ''), 'base64')));
  if (out.length === 0) throw new ShoalError('BAD_CREDENTIALS', `${path} holds no PEM certificate`);
  return out;
}

export function readPrivateKey(path: string): KeyObject {
  try {
    return createPrivateKey(readText(path, 'private key'));
  } catch (e) {
    if (e instanceof ShoalError) throw e;
    throw new ShoalError('BAD_CREDENTIALS', `${path} holds no usable private key: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/**
 * A list that leaves out this member's own certificate name is a typo: every
 * other master with the same configuration would refuse it at join.
 */
function checkOwnNameAllowed(chain: readonly Uint8Array[], allowed: readonly string[]): void {
  const leaf = chain[0];
  const facts = leaf === undefined ? 'no certificate' : x509Facts(leaf);
  if (typeof facts === 'string') return; // the join check reports an unusable certificate with its own words
  if (facts.cn === undefined || !allowed.includes(facts.cn)) {
    throw new ShoalError('BAD_CONFIG', `config: trust.allowedMembers: does not list this member's own certificate name '${facts.cn ?? '(no CN)'}' (listed: ${allowed.join(', ')})`);
  }
}

/** `log` hears when a changed trust.crl file is taken up or refused. */
export function loadCredentials(cfg: DaemonConfig, log?: CrlLog): { credentials: MemberCredentials; trust: TrustConfig } {
  const chain = certificatesFromPem(readText(cfg.certificatePath, 'certificate'), cfg.certificatePath);
  const caCertificates = cfg.caPaths.flatMap((p) => certificatesFromPem(readText(p, 'CA certificate'), p));
  const trust: TrustConfig = { caCertificates, revokedSerials: cfg.revokedSerials };
  if (cfg.allowedMembers) {
    checkOwnNameAllowed(chain, cfg.allowedMembers);
    trust.allowedMembers = cfg.allowedMembers;
  }
  if (cfg.crlPaths.length > 0) trust.revocation = new MemberRevocation(caCertificates, cfg.crlPaths, log);
  return { credentials: { chain, privateKey: readPrivateKey(cfg.keyPath) }, trust };
}
