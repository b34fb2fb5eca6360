/**
 * What the IPsec handler is configured with (parsed from the daemon's
 * configuration by the composition root): who we are, whom we trust, what
 * we accept, and what a client gets.
 */
import type { KeyObject } from 'node:crypto';
import type { Ipv4 } from '../../lib/ipv4.js';
import type { IdPayload } from '../../wire/ike/id.js';
import type { IkeSuite } from './crypto/transforms.js';
import type { EspSuite } from './ike/negotiation/esp-proposal.js';
import type { ClientTrust } from './ike/peer-auth/client-cert.js';

export interface Prefix4 {
  address: Ipv4;
  prefixLength: number;
}

export interface PskEntry {
  /** The client's identity as its IDi carries it (formatIdentity syntax, e.g. "fqdn:road1.shoal.test"). */
  identity: string;
  secret: Uint8Array;
}

export interface IpsecConfig {
  /** The cluster's outer address (IKE and ESP arrive there). */
  localAddress: Ipv4;
  /** Our IDr. */
  identity: IdPayload;
  /** Our certificate first, then intermediates (DER). */
  certificateChain: readonly Uint8Array[];
  privateKey: KeyObject;
  /** CAs clients' certificates must chain to, and revocation. */
  trust: ClientTrust;
  /** Client identities allowed (formatIdentity syntax; "*" or absent: every identity the CA certified). */
  allowedIdentities?: readonly string[];
  psk: readonly PskEntry[];
  /** In our order of preference. */
  ikeProposals: readonly IkeSuite[];
  espProposals: readonly EspSuite[];
  /** Virtual addresses handed out by CP (only those of the session's unit). */
  pool: Prefix4;
  dns: readonly Ipv4[];
  /** What clients reach through the tunnel (TSr). */
  protectedNetworks: readonly Prefix4[];
  /** Half-open IKE SAs above which IKE_SA_INIT must carry a cookie. */
  cookieThreshold: number;
  /** Largest IKE datagram we send before fragmenting (when the peer supports it). */
  fragmentSize: number;
  /** Hard lifetimes: the client rekeys before (it initiates rekeys); we delete after. */
  ikeLifetimeS: number;
  childLifetimeS: number;
  /** Optional byte limit per CHILD SA direction (inner bytes): past it the SA is deleted unless rekeyed. */
  childLifetimeBytes?: number;
  /** Half-open IKE SAs are forgotten after this long. */
  halfOpenTimeoutMs: number;
  /** An IKE SA with no traffic at all for this long is deleted (dead peer). */
  idleTimeoutMs: number;
  /** Debug: write keys in tshark's esp_sa format here (never in production). */
  espKeysFile?: string;
  /** Caps (IPSEC_LIMITS when absent); past each, a refusal with its RFC 7296 notify and a counter. */
  limits?: Partial<IpsecLimits>;
}

/** What one member holds at most; every cap is per member (each member counts what it serves). */
export interface IpsecLimits {
  /** Half-open IKE SAs in all (TEMPORARY_FAILURE past it; cookies start well below, at cookieThreshold). */
  halfOpen: number;
  /** Half-open IKE SAs from one source address (TEMPORARY_FAILURE past it). */
  halfOpenPerSource: number;
  /** CHILD SAs of one IKE SA (NO_ADDITIONAL_SAS past it; a rekey may hold one more until the old one is deleted). */
  childSas: number;
  /** Virtual addresses (IKE SAs holding one) per client identity (INTERNAL_ADDRESS_FAILURE past it). */
  virtualAddressesPerIdentity: number;
}

export const IPSEC_DEFAULTS = {
  cookieThreshold: 64,
  fragmentSize: 1280,
  // Above strongSwan's defaults (IKE rekey 4 h, life 4.4 h; CHILD rekey 1 h, life 1.1 h): the client rekeys first.
  ikeLifetimeS: 6 * 3600,
  childLifetimeS: 3 * 3600,
  halfOpenTimeoutMs: 30_000,
  idleTimeoutMs: 300_000,
} as const;

/**
 * strongSwan keeps 5 half-open SAs per address (block_threshold) and no total;
 * we allow more per address (many clients behind one NAT start together).
 */
export const IPSEC_LIMITS: IpsecLimits = {
  halfOpen: 4096,
  halfOpenPerSource: 16,
  childSas: 16,
  // Per member, not per cluster. A group identity (one PSK or certificate for a
  // branch's road warriors) legitimately holds dozens; the cap is there so that
  // one leaked credential cannot drain the pool, not to enforce one device per identity.
  virtualAddressesPerIdentity: 64,
};

/** The caps in force: the configured ones over the defaults. */
export function limitsOf(config: Pick<IpsecConfig, 'limits'>): IpsecLimits {
  return { ...IPSEC_LIMITS, ...config.limits };
}
