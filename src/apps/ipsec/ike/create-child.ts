/**
 * CREATE_CHILD_SA, responder side (RFC 7296 §1.3):
 *
 *   new child:    SK{SA, Ni, [KEi], TSi, TSr}               → SK{SA, Nr, [KEr], TSi, TSr}
 *   child rekey:  SK{N(REKEY_SA), SA, Ni, [KEi], TSi, TSr}   → the same; the old child lives until
 *                                                             the initiator deletes it (§2.8)
 *   IKE rekey:    SK{SA(IKE, new SPIi), Ni, KEi}             → SK{SA(new SPIr), Nr, KEr}; the
 *                                                             children move to the new IKE SA
 *
 * New SPIs — ESP and the new IKE responder SPI — stay in the session's unit.
 * An IKE SA holds at most `limits.childSas` children (one more while a rekey's
 * old child awaits its Delete): past it, N(NO_ADDITIONAL_SAS) (§1.3).
 */
import { allocateIkeSpi } from '../../../cluster/session-id.js';
import { PROTOCOL } from '../../../wire/ike/constants.js';
import { NOTIFY } from '../../../wire/ike/notify.js';
import type { IkePayload } from '../../../wire/ike/payload.js';
import { createKeyExchange } from '../crypto/dh.js';
import { deriveIkeSaKeys, rekeyedSkeyseed } from '../crypto/keys.js';
import { limitsOf } from '../config.js';
import { count, type ExchangeInput, type ResponderDeps, type ResponderOutput, type ResponderState } from './context.js';
import { makeChild } from './child-factory.js';
import { IkeSa, spiKey } from './ike-sa.js';
import { selectEspProposal } from './negotiation/esp-proposal.js';
import { selectIkeProposal } from './negotiation/ike-proposal.js';
import { narrowForClient } from './negotiation/traffic-selectors.js';
import { notifiesOf, notifyPayload } from './sa-init.js';

const NONCE_LENGTH = 32;

export interface ChildExchangeResult {
  payloads: IkePayload[];
  out: ResponderOutput[];
  /** An IKE rekey made this SA; the responder registers it once the answer is sealed under the old one. */
  newSa?: IkeSa;
}

function refuse(state: ResponderState, type: number, what: string, data?: Uint8Array): ChildExchangeResult {
  count(state, `ike.create-child.${what}`);
  return { payloads: [notifyPayload(type, data)], out: [] };
}

function invalidKe(state: ResponderState, group: number): ChildExchangeResult {
  return refuse(state, NOTIFY.INVALID_KE_PAYLOAD, 'invalid-ke', new Uint8Array([group >> 8, group & 0xff]));
}

export function handleCreateChild(deps: ResponderDeps, state: ResponderState, sa: IkeSa, input: ExchangeInput, payloads: readonly IkePayload[]): ChildExchangeResult {
  const saPayload = payloads.find((p) => p.kind === 'sa');
  const nonce = payloads.find((p) => p.kind === 'nonce');
  if (!saPayload || !nonce) return refuse(state, NOTIFY.INVALID_SYNTAX, 'invalid-syntax');
  const ke = payloads.find((p) => p.kind === 'ke');
  const nonceR = deps.random.bytes(NONCE_LENGTH);
  if (saPayload.proposals[0]?.protocolId === PROTOCOL.IKE) return rekeyIke(deps, state, sa, input, saPayload, nonce.nonce.slice(), nonceR, ke);

  const rekey = notifiesOf(payloads, NOTIFY.REKEY_SA).find((n) => n.protocolId === PROTOCOL.ESP && n.spi.length === 4);
  let old = undefined;
  if (rekey) {
    const spi = Buffer.from(rekey.spi).readUInt32BE(0);
    old = sa.children.find((c) => c.spiOut === spi || c.spiIn === spi);
    if (!old) return refuse(state, NOTIFY.CHILD_SA_NOT_FOUND, 'child-not-found');
  }
  // Before any key exchange: a refused child costs us nothing.
  const maxChildren = limitsOf(deps.config).childSas + (old ? 1 : 0);
  if (sa.children.length >= maxChildren) return refuse(state, NOTIFY.NO_ADDITIONAL_SAS, 'child-limit');

  const chosen = selectEspProposal(saPayload, deps.config.espProposals, ke ? { pfsGroup: ke.dhGroup } : {});
  if (chosen.kind === 'invalid-ke') return invalidKe(state, chosen.group);
  if (chosen.kind !== 'chosen') return refuse(state, NOTIFY.NO_PROPOSAL_CHOSEN, 'no-proposal-chosen');
  let pfsShared: Uint8Array | undefined;
  let keR: IkePayload | undefined;
  if (ke && chosen.suite.dhGroup) {
    const kx = createKeyExchange(chosen.suite.dhGroup.group, deps.random);
    if (!kx.ok) return refuse(state, NOTIFY.NO_PROPOSAL_CHOSEN, 'kx-failed');
    const shared = kx.value.computeShared(ke.keyData);
    if (!shared.ok) return refuse(state, NOTIFY.INVALID_SYNTAX, 'bad-ke');
    pfsShared = shared.value;
    keR = { kind: 'ke', dhGroup: chosen.suite.dhGroup.group, keyData: kx.value.publicValue };
  }

  const tsi = payloads.find((p) => p.kind === 'tsi');
  const tsr = payloads.find((p) => p.kind === 'tsr');
  if (!tsi || !tsr) return refuse(state, NOTIFY.INVALID_SYNTAX, 'invalid-syntax');
  if (sa.virtualAddress === null) return refuse(state, NOTIFY.TS_UNACCEPTABLE, 'no-virtual-address'); // see ike-auth.ts
  const narrowed = narrowForClient(tsi.selectors, tsr.selectors, { virtualAddress: sa.virtualAddress, protectedNetworks: deps.config.protectedNetworks });
  if (typeof narrowed === 'string') return refuse(state, NOTIFY.TS_UNACCEPTABLE, narrowed);
  const child = makeChild(deps, state, sa, input.now, {
    suite: chosen.suite,
    peerSpi: chosen.peerSpi,
    nonceI: nonce.nonce.slice(),
    nonceR,
    ...(pfsShared ? { pfsShared } : {}),
    tsi: narrowed.tsi,
    tsr: narrowed.tsr,
  });
  if (child === null) return refuse(state, NOTIFY.NO_PROPOSAL_CHOSEN, 'kdf-failed');
  sa.children.push(child);
  count(state, old ? 'ike.create-child.rekeyed' : 'ike.create-child.ok');
  const answer: IkePayload[] = [{ kind: 'sa', ...chosen.reply(child.spiIn) }, { kind: 'nonce', nonce: nonceR }];
  if (keR) answer.push(keR);
  answer.push({ kind: 'tsi', selectors: narrowed.tsi }, { kind: 'tsr', selectors: narrowed.tsr });
  const out: ResponderOutput[] = [
    { kind: 'child-up', sa, child },
    { kind: 'event', name: old ? 'ike.child-rekeyed' : 'ike.child-created', fields: { spi: sa.spiKey, spiIn: child.spiIn.toString(16), spiOut: child.spiOut.toString(16), pfs: pfsShared !== undefined, ...(old ? { oldSpiIn: old.spiIn.toString(16) } : {}) } },
  ];
  return { payloads: answer, out };
}

function rekeyIke(
  deps: ResponderDeps,
  state: ResponderState,
  sa: IkeSa,
  input: ExchangeInput,
  offered: Extract<IkePayload, { kind: 'sa' }>,
  nonceI: Uint8Array,
  nonceR: Uint8Array,
  ke: Extract<IkePayload, { kind: 'ke' }> | undefined,
): ChildExchangeResult {
  if (!ke) return refuse(state, NOTIFY.INVALID_SYNTAX, 'ike-rekey-without-ke');
  // The selector takes IKE_SA_INIT's form (no SPI); the new SPIi is read back from the chosen proposal.
  const asInit = { proposals: offered.proposals.map((p) => ({ ...p, spi: p.spi.length === 8 ? new Uint8Array(0) : p.spi })) };
  const chosen = selectIkeProposal(asInit, deps.config.ikeProposals, ke.dhGroup);
  if (chosen.kind === 'no-proposal-chosen') return refuse(state, NOTIFY.NO_PROPOSAL_CHOSEN, 'no-proposal-chosen');
  if (chosen.kind === 'invalid-ke') return invalidKe(state, chosen.group);
  const number = chosen.reply.proposals[0]?.number;
  const spiI = offered.proposals.find((p) => p.number === number)?.spi.slice();
  if (!spiI || spiI.length !== 8) return refuse(state, NOTIFY.INVALID_SYNTAX, 'ike-rekey-bad-spi');
  const kx = createKeyExchange(chosen.suite.dhGroup.group, deps.random);
  if (!kx.ok) return refuse(state, NOTIFY.NO_PROPOSAL_CHOSEN, 'kx-failed');
  const shared = kx.value.computeShared(ke.keyData);
  if (!shared.ok) return refuse(state, NOTIFY.INVALID_SYNTAX, 'bad-ke');
  const spiR = allocateIkeSpi(sa.unit, deps.random, (s) => state.sas.has(spiKey(s)));
  // §2.18: SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr) with the old PRF; keys with the new suite.
  const seed = rekeyedSkeyseed(sa.suite.prf, sa.keys.skD, shared.value, nonceI, nonceR);
  const keys = deriveIkeSaKeys(chosen.suite, seed, nonceI, nonceR, spiI, spiR);
  if (!keys.ok) return refuse(state, NOTIFY.NO_PROPOSAL_CHOSEN, 'kdf-failed');
  const next = new IkeSa(sa.unit, spiI, spiR, chosen.suite, keys.value, nonceI, nonceR, new Uint8Array(0), new Uint8Array(0), sa.peer, sa.localPort, input.now);
  next.state = 'established';
  next.natPeer = sa.natPeer;
  next.natSelf = sa.natSelf;
  next.fragmentation = sa.fragmentation;
  next.peerSignatureHashes = sa.peerSignatureHashes;
  next.peerId = sa.peerId;
  next.peerName = sa.peerName;
  next.virtualAddress = sa.virtualAddress;
  next.authenticatedAt = sa.authenticatedAt;
  next.children = sa.children;
  // The old SA keeps nothing the initiator's later Delete of it could take down.
  sa.children = [];
  sa.virtualAddress = null;
  count(state, 'ike.create-child.ike-rekeyed');
  const reply = chosen.reply.proposals.map((p) => ({ ...p, spi: spiR }));
  return {
    payloads: [{ kind: 'sa', proposals: reply }, { kind: 'nonce', nonce: nonceR }, { kind: 'ke', dhGroup: chosen.suite.dhGroup.group, keyData: kx.value.publicValue }],
    out: [{ kind: 'event', name: 'ike.ike-rekeyed', fields: { oldSpi: sa.spiKey, spi: next.spiKey } }],
    newSa: next,
  };
}
