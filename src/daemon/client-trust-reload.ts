/**
 * The IPsec client trust (ipsec.clientCa, ipsec.crl, ipsec.revokedSerials)
 * with its CRL files watched: before each IKE_AUTH's chain check the files are
 * stat'ed, and when one changed a new ClientTrustStore is built from the new
 * CRLs (signatures checked against the client CAs). A CRL that does not
 * verify is refused with a log line and the previous store stays in force.
 * Auth attempts are rare next to packets, so the stat happens on each one.
 */
import { ClientTrustStore, type ChainCheck, type ClientChainVerifier, type ClientTrust } from '../apps/ipsec/ike/peer-auth/client-cert.js';
import { CrlWatch, type CrlLog } from './crl-watch.js';

export const CLIENT_CRL_CHECK_MS = 0;

export class ReloadingClientTrust implements ClientChainVerifier {
  private readonly watch: CrlWatch<ClientTrustStore>;

  /**
   * `trust` without its CRLs: they come from `crlPaths`, read now.
   * Throws BAD_CREDENTIALS for an unreadable CRL file or an unusable CA or CRL.
   */
  constructor(trust: Omit<ClientTrust, 'crls'>, crlPaths: readonly string[], log?: CrlLog, minIntervalMs = CLIENT_CRL_CHECK_MS) {
    this.watch = new CrlWatch(crlPaths, (files) => new ClientTrustStore({ ...trust, crls: files.flatMap((f) => f.crls) }), {
      minIntervalMs,
      purpose: 'ipsec clients',
      ...(log ? { log } : {}),
    });
  }

  verify(chainDer: readonly Uint8Array[], now: number): ChainCheck {
    return this.watch.current(now).verify(chainDer, now);
  }
}
