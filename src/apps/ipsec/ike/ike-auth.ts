/**
 * IKE_AUTH, responder side (RFC 7296 §1.2, §2.15, §2.19, §3.15; RFC 7427).
 *
 *   request: HDR, SK{IDi, [CERT+], [CERTREQ], [IDr], AUTH, [CP(REQUEST)], SAi2, TSi, TSr, [N...]}
 *   answer:  HDR, SK{IDr, [CERT+], AUTH, [CP(REPLY)], SAr2, TSi, TSr}
 *        or  HDR, SK{N(AUTHENTICATION_FAILED)}                        (the IKE SA is gone)
 *        or  HDR, SK{IDr, [CERT+], AUTH, N(NO_PROPOSAL_CHOSEN | TS_UNACCEPTABLE | INTERNAL_ADDRESS_FAILURE)}
 *            (the IKE SA stands, without a CHILD SA, §1.2; INTERNAL_ADDRESS_FAILURE also when
 *            the identity already holds limits.virtualAddressesPerIdentity addresses here)
 *
 * The virtual address comes from the pool's share of the session's unit,
 * so traffic to it from the inside classifies (destination only) to the
 * member that owns the tunnel.
 */
import { formatIpv4 } from '../../../lib/ipv4.js';
import { AUTH_METHOD } from '../../../wire/ike/auth.js';
import { CERT_ENCODING } from '../../../wire/ike/cert.js';
import { CFG_ATTRIBUTE, CFG_TYPE, ipv4Attribute, type CfgAttribute } from '../../../wire/ike/cp.js';
import { encodeId } from '../../../wire/ike/id.js';
import { NOTIFY } from '../../../wire/ike/notify.js';
import type { IkePayload } from '../../../wire/ike/payload.js';
import { limitsOf } from '../config.js';
import { count, type ExchangeInput, type ResponderDeps, type ResponderOutput, type ResponderState } from './context.js';
import { makeChild } from './child-factory.js';
import type { IkeSa } from './ike-sa.js';
import { selectEspProposal } from './negotiation/esp-proposal.js';
import { narrowForClient } from './negotiation/traffic-selectors.js';
import { createAuth, verifyAuth } from './peer-auth/auth-payload.js';
import { formatIdentity, identityMatches } from './peer-auth/identity.js';
import { signedOctets } from './peer-auth/signed-octets.js';
import { notifiesOf, notifyPayload } from './sa-init.js';

export type AuthOutcome =
  | { ok: true; payloads: IkePayload[]; out: ResponderOutput[] }
  /** AUTHENTICATION_FAILED (or a syntax error): answer, then forget the SA. */
  | { ok: false; payloads: IkePayload[]; out: ResponderOutput[] };

function failed(state: ResponderState, reason: string, detail: string, sa: IkeSa): AuthOutcome {
  count(state, `ike.auth.failed.${reason}`);
  return {
    ok: false,
    payloads: [notifyPayload(NOTIFY.AUTHENTICATION_FAILED)],
    out: [{ kind: 'event', name: 'ike.auth-failed', fields: { spi: sa.spiKey, reason, detail, peer: `${formatIpv4(sa.peer.ip)}:${sa.peer.port}` } }],
  };
}

/** Virtual addresses this member's SAs hold for one identity (a scan: IKE_AUTH costs far more). */
function addressesHeldBy(state: ResponderState, peerName: string): number {
  let n = 0;
  for (const s of state.sas.values()) if (s.virtualAddress !== null && s.peerName === peerName) n++;
  return n;
}

function identityAllowed(deps: ResponderDeps, name: string): boolean {
  const allowed = deps.config.allowedIdentities;
  return allowed === undefined || allowed.length === 0 || allowed.includes('*') || allowed.includes(name);
}

export function handleIkeAuth(deps: ResponderDeps, state: ResponderState, sa: IkeSa, input: ExchangeInput, payloads: readonly IkePayload[]): AuthOutcome {
  const { now } = input;
  const idi = payloads.find((p) => p.kind === 'idi');
  const auth = payloads.find((p) => p.kind === 'auth');
  if (!idi || !auth) return failed(state, 'syntax', 'IDi or AUTH missing', sa);
  const peerName = formatIdentity(idi);
  const prf = sa.suite.prf;
  const theirOctets = signedOctets(prf, sa.initRequest, sa.nonceR, sa.keys.skPi, encodeId(idi));
  const ourOctets = signedOctets(prf, sa.initResponse, sa.nonceI, sa.keys.skPr, encodeId(deps.config.identity));

  let ourAuth;
  const response: IkePayload[] = [{ kind: 'idr', ...deps.config.identity }];
  if (auth.method === AUTH_METHOD.SHARED_KEY_MIC) {
    const entry = deps.config.psk.find((e) => e.identity === peerName);
    if (!entry) return failed(state, 'no-psk', `no pre-shared key for ${peerName}`, sa);
    const check = verifyAuth(auth, theirOctets, { kind: 'psk', secret: entry.secret, prf });
    if (!check.ok) return failed(state, check.reason, check.detail, sa);
    ourAuth = createAuth(ourOctets, { kind: 'psk', secret: entry.secret, prf });
  } else {
    const chain = payloads.filter((p) => p.kind === 'cert' && p.encoding === CERT_ENCODING.X509_SIGNATURE).map((p) => (p as { data: Uint8Array }).data);
    const verified = deps.trust.verify(chain, deps.wallNow());
    if (!verified.ok) return failed(state, verified.problem, verified.detail, sa);
    if (!identityMatches(idi, verified.leaf)) return failed(state, 'identity', `${peerName} is not in the certificate of ${verified.leaf.subjectDn}`, sa);
    const check = verifyAuth(auth, theirOctets, { kind: 'public-key', key: verified.leaf.publicKey });
    if (!check.ok) return failed(state, check.reason, check.detail, sa);
    for (const der of deps.config.certificateChain) response.push({ kind: 'cert', encoding: CERT_ENCODING.X509_SIGNATURE, data: der });
    ourAuth = createAuth(ourOctets, { kind: 'private-key', key: deps.config.privateKey, peerHashes: sa.peerSignatureHashes });
  }
  if (!identityAllowed(deps, peerName)) return failed(state, 'identity-not-allowed', `${peerName} is not an allowed identity`, sa);
  response.push({ kind: 'auth', ...ourAuth });
  sa.peerId = { idType: idi.idType, data: idi.data.slice() }; // not a view into the whole decrypted request
  sa.peerName = peerName;
  sa.state = 'established';
  sa.authenticatedAt = now;
  count(state, 'ike.auth.ok');
  const out: ResponderOutput[] = [{ kind: 'ike-up', sa }];

  // The IKE SA is up; from here a failure costs only the CHILD SA (§1.2).
  const childFailure = (type: number, what: string): AuthOutcome => {
    count(state, `ike.auth.child-failed.${what}`);
    out.push({ kind: 'event', name: 'ike.child-refused', fields: { spi: sa.spiKey, reason: what } });
    return { ok: true, payloads: [...response, notifyPayload(type)], out };
  };

  const cp = payloads.find((p) => p.kind === 'cp');
  if (cp && cp.cfgType === CFG_TYPE.REQUEST && cp.attributes.some((a) => a.type === CFG_ATTRIBUTE.INTERNAL_IP4_ADDRESS)) {
    // One identity may not drain the pool (§3.15.4: INTERNAL_ADDRESS_FAILURE; the IKE SA stands).
    if (addressesHeldBy(state, peerName) >= limitsOf(deps.config).virtualAddressesPerIdentity) return childFailure(NOTIFY.INTERNAL_ADDRESS_FAILURE, 'vip-per-identity-limit');
    const vip = deps.pool.allocate(sa.unit);
    if (vip === null) return childFailure(NOTIFY.INTERNAL_ADDRESS_FAILURE, 'pool-exhausted');
    sa.virtualAddress = vip;
    const attributes: CfgAttribute[] = [ipv4Attribute(CFG_ATTRIBUTE.INTERNAL_IP4_ADDRESS, vip)];
    if (cp.attributes.some((a) => a.type === CFG_ATTRIBUTE.INTERNAL_IP4_DNS)) {
      for (const dns of deps.config.dns) attributes.push(ipv4Attribute(CFG_ATTRIBUTE.INTERNAL_IP4_DNS, dns));
    }
    response.push({ kind: 'cp', cfgType: CFG_TYPE.REPLY, attributes });
  }

  const saPayload = payloads.find((p) => p.kind === 'sa');
  const tsi = payloads.find((p) => p.kind === 'tsi');
  const tsr = payloads.find((p) => p.kind === 'tsr');
  if (!saPayload || !tsi || !tsr) return { ok: true, payloads: response, out }; // IKE SA only (childless, RFC 6023 style)
  // Remote access only: a tunnel's inside address must be one of ours, so that its return traffic
  // classifies to this session's unit (a client's own address would land on any member, in clear).
  if (sa.virtualAddress === null) return childFailure(NOTIFY.FAILED_CP_REQUIRED, 'cp-required');
  const chosen = selectEspProposal(saPayload, deps.config.espProposals, {});
  if (chosen.kind !== 'chosen') return childFailure(NOTIFY.NO_PROPOSAL_CHOSEN, 'no-proposal-chosen');
  const narrowed = narrowForClient(tsi.selectors, tsr.selectors, { virtualAddress: sa.virtualAddress, protectedNetworks: deps.config.protectedNetworks });
  if (typeof narrowed === 'string') return childFailure(NOTIFY.TS_UNACCEPTABLE, narrowed);
  if (notifiesOf(payloads, NOTIFY.USE_TRANSPORT_MODE).length > 0) count(state, 'ike.auth.transport-mode-refused');
  const child = makeChild(deps, state, sa, now, {
    suite: chosen.suite,
    peerSpi: chosen.peerSpi,
    nonceI: sa.nonceI,
    nonceR: sa.nonceR,
    tsi: narrowed.tsi,
    tsr: narrowed.tsr,
  });
  if (child === null) return childFailure(NOTIFY.NO_PROPOSAL_CHOSEN, 'kdf-failed');
  sa.children.push(child);
  response.push({ kind: 'sa', ...chosen.reply(child.spiIn) }, { kind: 'tsi', selectors: narrowed.tsi }, { kind: 'tsr', selectors: narrowed.tsr });
  out.push({ kind: 'child-up', sa, child });
  return { ok: true, payloads: response, out };
}
