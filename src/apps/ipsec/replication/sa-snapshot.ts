/**
 * Between a live IKE SA and its replication record: the snapshot an owner
 * publishes, and the SA another member rebuilds from it on takeover.
 *
 * Outbound, the record carries the CHILD SA's sequence lease mark
 * (seq-lease.ts): the old owner never sent above it, so the new owner
 * continues after it (and after anything it sent on the SA itself before,
 * `usedBefore`), and needs its own acknowledged lease before it sends. A
 * sequence number is never used twice under one key (RFC 4303 §3.3.3), at
 * the price of a gap the peer's window does not mind. Inbound, everything up
 * to the replicated edge counts as already received.
 */
import { dhGroupInfo } from '../crypto/transforms.js';
import { InboundEspSa, OutboundEspSa } from '../esp/sa.js';
import { REPLAY_WINDOW_DEFAULT } from '../esp/replay-window.js';
import type { ResponderDeps } from '../ike/context.js';
import { IkeSa, type ChildSa } from '../ike/ike-sa.js';
import { espTransformSpec, type EspSuite } from '../ike/negotiation/esp-proposal.js';
import type { ChildSnapshot, SaSnapshot } from './sa-record.js';
import { IV_SEQUENCE_LIMIT } from '../esp/aead-iv.js';
import { SequenceLease } from './seq-lease.js';

const MAX_SEQ_32 = 0xffffffff;

export function snapshotOf(sa: IkeSa, now: number): SaSnapshot {
  const halfOpen = sa.state === 'half-open';
  return {
    halfOpen,
    initRequest: halfOpen ? sa.initRequest : new Uint8Array(0),
    initResponse: halfOpen ? sa.initResponse : new Uint8Array(0),
    initKey: sa.initKey,
    unit: sa.unit,
    spiI: sa.spiI,
    spiR: sa.spiR,
    suite: sa.suite,
    keys: sa.keys,
    nonceI: sa.nonceI,
    nonceR: sa.nonceR,
    peerIp: sa.peer.ip,
    peerPort: sa.peer.port,
    localPort: sa.localPort,
    natPeer: sa.natPeer,
    natSelf: sa.natSelf,
    fragmentation: sa.fragmentation,
    peerSignatureHashes: sa.peerSignatureHashes,
    peerId: sa.peerId,
    peerName: sa.peerName,
    virtualAddress: sa.virtualAddress,
    nextRequestId: sa.nextRequestId,
    ourNextId: sa.ourNextId,
    lastResponse: sa.lastResponse,
    ageMs: now - sa.createdAt,
    children: sa.children.map(
      (c): ChildSnapshot => ({
        spiIn: c.spiIn,
        spiOut: c.spiOut,
        protection: c.suite.protection,
        esn: c.suite.esn,
        dhGroup: c.suite.dhGroup?.group ?? 0,
        i2r: c.keys.initiatorToResponder,
        r2i: c.keys.responderToInitiator,
        tsi: c.tsi,
        tsr: c.tsr,
        // the lease mark: every number this owner may have sent is at or below it
        outSequence: Math.max(c.lease.mark, c.outbound.lastSequence),
        outRate: c.outRate,
        inHighest: c.inbound.window.highest,
        ageMs: now - c.createdAt,
      }),
    ),
  };
}

/** The last sequence number a CHILD SA may carry. */
export function sequenceLimit(esn: boolean): number {
  return esn ? IV_SEQUENCE_LIMIT : MAX_SEQ_32;
}

/**
 * The SA again, on the member that takes its unit over. `usedBefore`: the
 * last sequence number this member itself sent on a child (by its outbound
 * SPI), if it owned the SA before: it continues above that too.
 */
export function restoreSa(deps: ResponderDeps, s: SaSnapshot, now: number, usedBefore: (spiOut: number) => number = () => 0): IkeSa {
  const sa = new IkeSa(s.unit, s.spiI, s.spiR, s.suite, s.keys, s.nonceI, s.nonceR, s.initRequest, s.initResponse, { ip: s.peerIp, port: s.peerPort }, s.localPort, now - s.ageMs);
  sa.state = s.halfOpen ? 'half-open' : 'established';
  sa.initKey = s.initKey;
  sa.natPeer = s.natPeer;
  sa.natSelf = s.natSelf;
  sa.fragmentation = s.fragmentation;
  sa.peerSignatureHashes = s.peerSignatureHashes;
  sa.peerId = s.peerId;
  sa.peerName = s.peerName;
  sa.virtualAddress = s.virtualAddress;
  sa.nextRequestId = s.nextRequestId;
  sa.ourNextId = s.ourNextId;
  sa.lastResponse = s.lastResponse;
  sa.lastHeard = now;
  sa.authenticatedAt = now - s.ageMs;
  const lifetime = { hardSeconds: deps.config.childLifetimeS, ...(deps.config.childLifetimeBytes ? { hardBytes: deps.config.childLifetimeBytes } : {}) };
  sa.children = s.children.map((c): ChildSa => {
    const suite: EspSuite = { protection: c.protection, esn: c.esn, esnOnly: true, dhGroup: c.dhGroup === 0 ? null : (dhGroupInfo(c.dhGroup) ?? null) };
    const createdAt = now - c.ageMs;
    const bitmap = new Uint32Array(REPLAY_WINDOW_DEFAULT / 32).fill(0xffffffff);
    const inbound = new InboundEspSa(createdAt, {
      spi: c.spiIn,
      transform: espTransformSpec(c.protection, c.i2r),
      esn: c.esn,
      lifetime,
      replayState: { highest: c.inHighest, bitmap },
    });
    const outSequence = Math.min(sequenceLimit(c.esn), Math.max(c.outSequence, usedBefore(c.spiOut)));
    const outbound = new OutboundEspSa(createdAt, {
      spi: c.spiOut,
      transform: espTransformSpec(c.protection, c.r2i),
      esn: c.esn,
      lifetime,
      random: deps.random,
      ivTag: deps.ivTag ?? 0,
      lastSequence: outSequence,
    });
    return {
      spiIn: c.spiIn,
      spiOut: c.spiOut,
      suite,
      keys: { initiatorToResponder: c.i2r, responderToInitiator: c.r2i },
      tsi: c.tsi,
      tsr: c.tsr,
      inbound,
      outbound,
      createdAt,
      outRate: c.outRate,
      rateSequence: outSequence,
      rateAt: now,
      lease: new SequenceLease(outSequence, sequenceLimit(c.esn), false),
      publishedIn: c.inHighest,
    };
  });
  return sa;
}
