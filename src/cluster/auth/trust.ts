/**
 * What a member trusts (from configuration) and what it proves about itself.
 * Plain data: the checks live in verify-chain.ts, so that the configuration
 * loader, the join protocol and the tests share one vocabulary.
 */
import type { KeyObject } from 'node:crypto';

export interface TrustConfig {
  /** DER certificates of the cluster CA(s): the only roots a member chain may end in. */
  caCertificates: Uint8Array[];
  /** Subject CNs allowed to join; undefined = any member certificate the CA issued. */
  allowedMembers?: string[];
  /** Revoked serial numbers, hex (compared after normaliseSerial, so case and leading zeros do not matter). */
  revokedSerials: string[];
  /** Revocations that may change while the member runs (the daemon's CRL files, src/daemon/member-revocation.ts). */
  revocation?: RevocationSource;
}

/**
 * A revocation list that can grow under a running member. Asked on every
 * chain verification, remembered or not, so it must answer from memory; how
 * often it refreshes that memory (re-reads a file) is its own business.
 */
export interface RevocationSource {
  /** Whether the certificate `serial` (normalised) issued by the CA certificate `issuerDer` is revoked, as of `wallNow`. */
  isRevoked(serial: string, issuerDer: Uint8Array, wallNow: number): boolean;
}

export interface MemberCredentials {
  /** DER certificates, leaf first; the root may be omitted (the verifier has it from TrustConfig). */
  chain: Uint8Array[];
  privateKey: KeyObject;
}

/** A member whose chain verified: what the join protocol keeps about it. */
export interface VerifiedPeer {
  /** The interconnect address the leaf's IP subjectAltName certifies (u32). */
  memberId: number;
  /** The leaf's subject CN (the full subject DN when it has no CN): for logs and the allowed list. */
  subject: string;
  /** The leaf's serial, normalised (see normaliseSerial). */
  serial: string;
  /** The leaf's public key: verifies the member's signatures and receives the wrapped cluster key. */
  publicKey: KeyObject;
  /** SHA-256 of the leaf DER, lowercase hex. */
  fingerprint: string;
}

export type CertProblem =
  | 'malformed'
  | 'untrusted'
  | 'expired'
  | 'not-yet-valid'
  | 'bad-key-usage'
  | 'not-member-certificate'
  | 'not-allowed'
  | 'revoked'
  | 'identity-mismatch'
  | 'unsupported-key';

/**
 * Serials are compared as lowercase hex without leading zeros, because the same
 * serial shows up as "00AB12" from OpenSSL and "ab12" in a hand-written list.
 */
export function normaliseSerial(hex: string): string {
  const s = hex.trim().toLowerCase().replace(/^0+/, '');
  return s === '' ? '0' : s;
}
