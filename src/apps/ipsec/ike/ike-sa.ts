/**
 * One IKE SA as the responder keeps it, and its CHILD SAs. The fields fall
 * in the patent's three parts: initial (SPIs, suite, peer identity — fixed
 * at creation), essential (keys, message IDs, children, endpoint — what
 * another member needs to continue the SA), calculable (caches, fragment
 * collection — rebuilt or simply lost on takeover).
 */
import type { UnitId } from '../../../cluster/types.js';
import type { Ipv4 } from '../../../lib/ipv4.js';
import type { Endpoint } from '../../../stack/tunnel-handler.js';
import type { IdPayload } from '../../../wire/ike/id.js';
import type { TrafficSelector } from '../../../wire/ike/ts.js';
import type { IkeSaKeys, ChildSaKeys } from '../crypto/keys.js';
import type { IkeSuite } from '../crypto/transforms.js';
import type { InboundEspSa, OutboundEspSa } from '../esp/sa.js';
import type { EspSuite } from './negotiation/esp-proposal.js';
import { FragmentCollector, type Protection } from './protect.js';
import type { SequenceLease } from '../replication/seq-lease.js';

export interface ChildSa {
  /** Our inbound SPI (allocated in the session's unit). */
  spiIn: number;
  /** The peer's inbound SPI: what our outbound ESP carries. */
  spiOut: number;
  suite: EspSuite;
  keys: ChildSaKeys;
  tsi: TrafficSelector[];
  tsr: TrafficSelector[];
  inbound: InboundEspSa;
  outbound: OutboundEspSa;
  createdAt: number;
  /** Measured outbound packets per second: sizes the sequence lease. */
  outRate: number;
  /** Where the rate was last measured from. */
  rateSequence: number;
  rateAt: number;
  /** The outbound sequence numbers this member may use (replication/seq-lease.ts). */
  lease: SequenceLease;
  /** Inbound replay edge last replicated (a change marks the SA for the next batch). */
  publishedIn: number;
}

/**
 * 'rekeyed': replaced by a new IKE SA (§2.18); it only answers INFORMATIONAL
 * (the initiator's Delete) until that Delete comes or it times out.
 */
export type IkeSaState = 'half-open' | 'established' | 'rekeyed';

export class IkeSa {
  state: IkeSaState = 'half-open';
  /** The peer's current address and port (updated by authenticated messages, RFC 7296 §2.23). */
  peer: Endpoint;
  /** Our port the peer talks to (500, or 4500 after the NAT-T switch). */
  localPort: number;
  /** The peer is behind a NAT (or pretends to be): ESP goes in UDP 4500. */
  natPeer = false;
  /** The responder is behind a NAT (never, for a cluster address; kept for NAT-D symmetry). */
  natSelf = false;
  fragmentation = false;
  /** Hash algorithms the peer accepts for our RFC 7427 AUTH. */
  peerSignatureHashes: number[] = [];
  peerId: IdPayload | null = null;
  peerName = '';
  virtualAddress: Ipv4 | null = null;
  children: ChildSa[] = [];
  /** The next request ID we expect from the initiator. */
  nextRequestId = 0;
  /** The response to the newest request, resent for a retransmission (§2.1). */
  lastResponse: { messageId: number; datagrams: Uint8Array[] } | null = null;
  /** The ID of the next request we send (our own message-ID space, §2.2). */
  ourNextId = 0;
  /** Our one outstanding request (window size 1), resent until answered. */
  ourRequest: { messageId: number; datagrams: Uint8Array[]; nextAt: number; tries: number } | null = null;
  readonly fragments = new FragmentCollector();
  lastHeard: number;
  authenticatedAt = 0;
  /** When it was replaced by a rekey (state 'rekeyed'). */
  rekeyedAt = 0;
  /** Its IKE_SA_INIT's initiator SPI and address, to ignore late retransmissions of it (§2.1). */
  initKey = '';

  constructor(
    readonly unit: UnitId,
    readonly spiI: Uint8Array,
    readonly spiR: Uint8Array,
    readonly suite: IkeSuite,
    readonly keys: IkeSaKeys,
    readonly nonceI: Uint8Array,
    readonly nonceR: Uint8Array,
    /** The IKE_SA_INIT request and our response as sent: both AUTH payloads sign one of them (dropped once authenticated). */
    public initRequest: Uint8Array,
    public initResponse: Uint8Array,
    peer: Endpoint,
    localPort: number,
    readonly createdAt: number,
  ) {
    this.peer = peer;
    this.localPort = localPort;
    this.lastHeard = createdAt;
  }

  get protection(): Protection {
    const k = this.keys;
    return {
      suite: this.suite,
      out: { encryptionKey: k.skEr, integrityKey: k.skAr },
      in: { encryptionKey: k.skEi, integrityKey: k.skAi },
    };
  }

  get spiKey(): string {
    return spiKey(this.spiR);
  }
}

export function spiKey(spi: Uint8Array): string {
  return Buffer.from(spi.buffer, spi.byteOffset, spi.length).toString('hex');
}
