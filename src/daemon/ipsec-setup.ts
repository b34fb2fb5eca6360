/**
 * Builds the IPsec tunnel handler from the daemon's configuration: reads the
 * server certificate and key, the client CAs and CRLs, and turns the file
 * settings into the handler's configuration. Every unreadable or unusable
 * file is one BAD_CREDENTIALS / BAD_CONFIG error naming it, before start.
 */
import { X509Certificate, createHash, createPublicKey } from 'node:crypto';
import { createKeyExchange } from '../apps/ipsec/crypto/dh.js';
import { createAuth, verifyAuth } from '../apps/ipsec/ike/peer-auth/auth-payload.js';
import { appendFileSync } from 'node:fs';
import type { IpsecConfig } from '../apps/ipsec/config.js';
import { subjectFacts } from '../apps/ipsec/ike/peer-auth/cert-facts.js';
import { ClientTrustStore, type ClientChainVerifier } from '../apps/ipsec/ike/peer-auth/client-cert.js';
import { formatIdentity, identityPayload } from '../apps/ipsec/ike/peer-auth/identity.js';
import { HANDSHAKES_PER_TURN, IpsecHandler, type SaEventSink } from '../apps/ipsec/ipsec-handler.js';
import { espSaLines } from '../apps/ipsec/esp-key-export.js';
import { ivTagOf } from '../apps/ipsec/esp/aead-iv.js';
import { parseIpv4 } from '../lib/ipv4.js';
import { AddressPool } from '../cluster/session-id.js';
import { ShoalError } from '../lib/errors.js';
import type { RandomSource } from '../lib/random.js';
import type { Logger } from '../mgmt/log.js';
import type { DaemonConfig } from './config.js';
import { ReloadingClientTrust } from './client-trust-reload.js';
import { certificatesFromPem, readPrivateKey, readText } from './credentials.js';
import { readCrlFile } from './crl-watch.js';

/** CERTREQ's certification authority field: SHA-1 of each CA's SubjectPublicKeyInfo (RFC 7296 §3.7). */
function authorityHashes(cas: readonly Uint8Array[]): Uint8Array {
  const parts = cas.map((der) => createHash('sha1').update(new X509Certificate(der).publicKey.export({ type: 'spki', format: 'der' })).digest());
  return new Uint8Array(Buffer.concat(parts));
}

export function ipsecConfigFrom(config: DaemonConfig): IpsecConfig {
  const f = config.ipsec;
  const outer = config.outer;
  const inner = config.inner;
  if (!f || !outer || !inner) throw new ShoalError('BAD_CONFIG', 'config: ipsec: needs outer and inner sections');
  const chain = certificatesFromPem(readText(f.certificatePath, 'IPsec certificate'), f.certificatePath);
  const caCertificates = f.clientCaPaths.flatMap((p) => certificatesFromPem(readText(p, 'client CA certificate'), p));
  let identity = f.identity;
  if (identity === undefined) {
    const facts = subjectFacts(chain[0]!);
    const dns = facts.dnsNames[0];
    identity = dns !== undefined ? `fqdn:${dns}` : `dn:${facts.subjectDn}`;
  }
  let trust;
  try {
    trust = { caCertificates, crls: f.crlPaths.flatMap((p) => readCrlFile(p).crls), revokedSerials: f.revokedSerials };
    new ClientTrustStore(trust); // refuse an unusable CA or CRL now, not at the first client
  } catch (e) {
    throw new ShoalError('BAD_CREDENTIALS', `ipsec client trust: ${e instanceof Error ? e.message : String(e)}`);
  }
  const protectedNetworks = f.protectedNetworks ?? [
    { address: inner.subnet.base, prefixLength: inner.subnet.prefixLen },
    ...inner.routes.map((r) => ({ address: r.base, prefixLength: r.prefixLen })),
  ];
  return {
    localAddress: outer.clusterIp,
    identity: identityPayload(identity),
    certificateChain: chain,
    privateKey: readPrivateKey(f.keyPath),
    trust,
    // One spelling per identity, as formatIdentity prints a received IDi.
    ...(f.allowedIdentities ? { allowedIdentities: f.allowedIdentities.map((t) => (t === '*' ? t : formatIdentity(identityPayload(t)))) } : {}),
    psk: f.psk.map((e) => ({ ...e, identity: formatIdentity(identityPayload(e.identity)) })),
    ikeProposals: f.ikeProposals,
    espProposals: f.espProposals,
    pool: f.pool,
    dns: f.dns,
    protectedNetworks,
    cookieThreshold: f.cookieThreshold,
    fragmentSize: f.fragmentSize,
    ikeLifetimeS: f.ikeLifetimeS,
    childLifetimeS: f.childLifetimeS,
    ...(f.childLifetimeBytes ? { childLifetimeBytes: f.childLifetimeBytes } : {}),
    halfOpenTimeoutMs: 30_000,
    idleTimeoutMs: 300_000,
    ...(f.espKeysFile ? { espKeysFile: f.espKeysFile } : {}),
    limits: f.limits,
  };
}

/**
 * The first certificate path, signature and key exchange load and compile a
 * good deal of code (hundreds of ms on this hardware): done here, before the
 * member joins, not inside the first client's IKE_AUTH, where it held the
 * event loop long enough for the cluster's watchdogs to fire.
 */
function warmUp(c: IpsecConfig, trust: ClientChainVerifier, random: RandomSource, wallNow: () => number): void {
  trust.verify(c.certificateChain, wallNow());
  const octets = random.bytes(64);
  const own = createAuth(octets, { kind: 'private-key', key: c.privateKey, peerHashes: [2] });
  verifyAuth(own, octets, { kind: 'public-key', key: createPublicKey(c.privateKey) });
  for (const s of c.ikeProposals) {
    const kx = createKeyExchange(s.dhGroup.group, random);
    if (kx.ok) kx.value.computeShared(kx.value.publicValue);
  }
}

export function makeIpsecHandler(config: DaemonConfig, logger: Logger, random: RandomSource, wallNow: () => number): IpsecHandler {
  const c = ipsecConfigFrom(config);
  const keysFile = c.espKeysFile;
  const sink: SaEventSink = {
    event: (name, fields) => logger.log(name.endsWith('failed') || name.endsWith('refused') ? 'warn' : 'info', name, fields),
    childUp: (sa, child) => {
      logger.log('info', 'ipsec.child-up', { spi: sa.spiKey, peer: sa.peerName, spiIn: child.spiIn.toString(16), spiOut: child.spiOut.toString(16), unit: sa.unit });
      if (keysFile) appendFileSync(keysFile, espSaLines(c.localAddress, sa, child).join(''), { mode: 0o600 });
    },
    childDown: (sa, child) => logger.log('info', 'ipsec.child-down', { spi: sa.spiKey, spiIn: child.spiIn.toString(16) }),
  };
  // With CRL files, a store rebuilt when they change: `shoal pki revoke` + a copied crl.pem refuses the client at its next IKE_AUTH.
  const crlPaths = config.ipsec?.crlPaths ?? [];
  const trustStore: ClientChainVerifier =
    crlPaths.length > 0
      ? new ReloadingClientTrust({ caCertificates: c.trust.caCertificates, revokedSerials: c.trust.revokedSerials ?? [] }, crlPaths, (level, event, fields) => logger.log(level, event, fields))
      : new ClientTrustStore(c.trust);
  warmUp(c, trustStore, random, wallNow);
  if (keysFile) logger.log('warn', 'ipsec.esp-keys-exported', { file: keysFile, note: 'debug only: ESP keys are written in clear' });
  return new IpsecHandler(
    {
      config: c,
      random,
      trust: trustStore,
      pool: new AddressPool(c.pool.address, c.pool.prefixLength),
      wallNow,
      certReqAuthorities: authorityHashes(c.trust.caCertificates),
      ivTag: ivTagOf(parseIpv4(config.memberAddress)),
    },
    sink,
    HANDSHAKES_PER_TURN,
  );
}
