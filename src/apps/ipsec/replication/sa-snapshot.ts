/**
 * Between a live IKE SA and its replication record: the snapshot an owner
 * publishes, and the SA another member rebuilds from it on takeover.
 *
 * The outbound ESP sequence number is replicated in batches, so on takeover
 * it jumps past anything the failed owner may have sent since: by twice the
 * measured rate over the time since the record arrived, plus a floor. A
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

/** Sequence numbers skipped on every takeover whatever the rate (covers a burst between batches). */
export const SEQUENCE_JUMP_FLOOR = 4096;
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
        outSequence: c.outbound.lastSequence,
        outRate: c.outRate,
        inHighest: c.inbound.window.highest,
        ageMs: now - c.createdAt,
      }),
    ),
  };
}

/** The sequence number a new owner continues after. */
export function jumpedSequence(c: ChildSnapshot, sinceSnapshotMs: number): number {
  const jump = Math.ceil(c.outRate * 2 * Math.max(0, sinceSnapshotMs) / 1000) + SEQUENCE_JUMP_FLOOR;
  const next = c.outSequence + jump;
  return c.esn ? Math.min(next, Number.MAX_SAFE_INTEGER - 1) : Math.min(next, MAX_SEQ_32 - 1);
}

/** The SA again, on the member that takes its unit over. */
export function restoreSa(deps: ResponderDeps, s: SaSnapshot, now: number, receivedAt: number): IkeSa {
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
  const since = now - receivedAt;
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
    const outSequence = jumpedSequence(c, since);
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
      publishedOut: outSequence,
      publishedIn: c.inHighest,
    };
  });
  return sa;
}
