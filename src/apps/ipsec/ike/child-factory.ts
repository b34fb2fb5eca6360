/**
 * Makes a CHILD SA from a chosen ESP proposal, for IKE_AUTH and
 * CREATE_CHILD_SA alike: our inbound SPI in the session's unit (raw ESP
 * carries no ports, so the SPI is all the filter has), KEYMAT from SK_d
 * (with the PFS secret when there was a key exchange), and the two ESP SAs.
 */
import { allocateSpi32 } from '../../../cluster/session-id.js';
import type { TrafficSelector } from '../../../wire/ike/ts.js';
import { deriveChildSaKeys } from '../crypto/keys.js';
import { IV_SEQUENCE_LIMIT } from '../esp/aead-iv.js';
import { InboundEspSa, OutboundEspSa } from '../esp/sa.js';
import { SequenceLease } from '../replication/seq-lease.js';
import type { ResponderDeps, ResponderState } from './context.js';
import type { ChildSa, IkeSa } from './ike-sa.js';
import { espTransformSpec, type EspSuite } from './negotiation/esp-proposal.js';

export interface ChildRequest {
  suite: EspSuite;
  peerSpi: number;
  nonceI: Uint8Array;
  nonceR: Uint8Array;
  pfsShared?: Uint8Array;
  tsi: TrafficSelector[];
  tsr: TrafficSelector[];
}

/** A new CHILD SA of `sa`, or null when the key derivation fails (never for valid suites). */
export function makeChild(deps: ResponderDeps, state: ResponderState, sa: IkeSa, now: number, req: ChildRequest): ChildSa | null {
  const keys = deriveChildSaKeys(sa.suite.prf, sa.keys.skD, req.suite.protection, req.nonceI, req.nonceR, req.pfsShared);
  if (!keys.ok) return null;
  const spiIn = allocateSpi32(sa.unit, deps.random, (spi) => state.espSpis.has(spi));
  state.espSpis.add(spiIn);
  const lifetime = { hardSeconds: deps.config.childLifetimeS, ...(deps.config.childLifetimeBytes ? { hardBytes: deps.config.childLifetimeBytes } : {}) };
  const inbound = new InboundEspSa(now, {
    spi: spiIn,
    transform: espTransformSpec(req.suite.protection, keys.value.initiatorToResponder),
    esn: req.suite.esn,
    lifetime,
  });
  const outbound = new OutboundEspSa(now, {
    spi: req.peerSpi,
    transform: espTransformSpec(req.suite.protection, keys.value.responderToInitiator),
    esn: req.suite.esn,
    lifetime,
    random: deps.random,
    ivTag: deps.ivTag ?? 0,
  });
  return {
    spiIn,
    spiOut: req.peerSpi,
    suite: req.suite,
    keys: keys.value,
    tsi: req.tsi,
    tsr: req.tsr,
    inbound,
    outbound,
    createdAt: now,
    outRate: 0,
    rateSequence: 0,
    rateAt: now,
    // a new SA: no member holds an older record of it, so its first lease needs no acknowledgement
    lease: new SequenceLease(0, req.suite.esn ? IV_SEQUENCE_LIMIT : 0xffffffff, true),
    publishedIn: 0,
  };
}
