/**
 * Child SA (ESP) proposal selection by the responder, in IKE_AUTH and
 * CREATE_CHILD_SA (RFC 7296 §1.2, §1.3, §3.3):
 *
 *   SA proposals ──▶ drop oversize / non-ESP / bad-SPI / unknown-type ones
 *                ──▶ first allowed suite (our order) found in any proposal
 *                    (ENCR+INTEG as for IKE; ESN; D-H only when a KE came)
 *                ──▶ its D-H group ≠ the KE's? INVALID_KE_PAYLOAD
 *                ──▶ reply(ourSpi): that proposal's number, our SPI,
 *                    one transform per type
 */
import { ESN, INTEG, PROTOCOL, TRANSFORM_TYPE } from '../../../../wire/ike/constants.js';
import type { Proposal, SaPayload, Transform } from '../../../../wire/ike/sa.js';
import type { EspSuite } from './esp-suite.js';
import { absentOrNone, describeSa, offers, oversize, transform, unknownType } from './proposal-common.js';

export { espSuiteName, espTransformSpec, parseEspSuite, type EspSuite } from './esp-suite.js';

export type EspSelection =
  | {
      kind: 'chosen';
      /** The negotiated suite: `esn` as chosen (esnOnly true), dhGroup null without PFS. */
      suite: EspSuite;
      /** The initiator's SPI from the chosen proposal: the SPI of our outbound SA. */
      peerSpi: number;
      proposalNumber: number;
      /** Our single proposal carrying ourSpi, the SPI of our inbound SA (RFC 4303 §2.1: ≥ 256). */
      reply: (ourSpi: number) => SaPayload;
    }
  | { kind: 'invalid-ke'; group: number }
  | { kind: 'no-proposal-chosen'; detail: string };

export interface EspSelectionOptions {
  /**
   * The KEi group when the request carries KE (CREATE_CHILD_SA with PFS).
   * Undefined: no KE (IKE_AUTH, or a rekey without PFS): D-H transforms in
   * the proposals and in our suites are ignored (§1.2: IKE_AUTH child
   * proposals can only mean NONE).
   */
  pfsGroup?: number;
}

const ESP_TYPES: readonly number[] = [TRANSFORM_TYPE.ENCR, TRANSFORM_TYPE.INTEG, TRANSFORM_TYPE.DH, TRANSFORM_TYPE.ESN];
const ESP_SPI_LENGTH = 4;
/** Transform type 4 ID 0 (§3.3.2). */
const DH_GROUP_NONE = 0;

interface Match {
  proposal: Proposal;
  suite: EspSuite;
  /** Transforms to echo, one per type the proposal carried (§3.3.6). */
  transforms: Transform[];
}

export function selectEspProposal(offered: SaPayload, allowed: readonly EspSuite[], opts: EspSelectionOptions): EspSelection {
  const tooLarge = oversize(offered);
  if (tooLarge !== null) return { kind: 'no-proposal-chosen', detail: tooLarge };
  const candidates = offered.proposals.filter(isCandidate);
  for (const suite of allowed) {
    for (const proposal of candidates) {
      const m = match(proposal, suite, opts.pfsGroup);
      if (m === undefined) continue;
      // §1.3: a proposal using a group other than the KE's → INVALID_KE_PAYLOAD.
      if (m.suite.dhGroup !== null && m.suite.dhGroup.group !== opts.pfsGroup) return { kind: 'invalid-ke', group: m.suite.dhGroup.group };
      return chosen(m);
    }
  }
  return { kind: 'no-proposal-chosen', detail: `no allowed ESP suite in ${describeSa(offered)}` };
}

function isCandidate(p: Proposal): boolean {
  return p.protocolId === PROTOCOL.ESP && p.spi.length === ESP_SPI_LENGTH && unknownType(p, ESP_TYPES) === undefined;
}

function match(p: Proposal, s: EspSuite, pfsGroup: number | undefined): Match | undefined {
  const { encryption, integrity } = s.protection;
  if (!offers(p, TRANSFORM_TYPE.ENCR, encryption.id, encryption.keyBits)) return undefined;
  const transforms: Transform[] = [transform(TRANSFORM_TYPE.ENCR, encryption.id, encryption.keyBits)];
  if (integrity === null) {
    const integ = absentOrNone(p, TRANSFORM_TYPE.INTEG);
    if (integ === false) return undefined;
    if (integ === 'none') transforms.push(transform(TRANSFORM_TYPE.INTEG, INTEG.NONE));
  } else {
    if (!offers(p, TRANSFORM_TYPE.INTEG, integrity.id)) return undefined;
    transforms.push(transform(TRANSFORM_TYPE.INTEG, integrity.id));
  }
  const dh = dhFor(p, s, pfsGroup);
  if (dh === undefined) return undefined;
  if (dh.echo !== null) transforms.push(dh.echo);
  const esn = esnFor(p, s);
  if (esn === undefined) return undefined;
  if (esn.echo !== null) transforms.push(esn.echo);
  return { proposal: p, suite: { protection: s.protection, esn: esn.esn, esnOnly: true, dhGroup: dh.group }, transforms };
}

/** The D-H outcome: the group used (null: none) and the transform to echo. */
function dhFor(p: Proposal, s: EspSuite, pfsGroup: number | undefined): { group: EspSuite['dhGroup']; echo: Transform | null } | undefined {
  const noneOrAbsent = absentOrNone(p, TRANSFORM_TYPE.DH);
  const echoNone = noneOrAbsent === 'none' ? transform(TRANSFORM_TYPE.DH, DH_GROUP_NONE) : null;
  if (pfsGroup === undefined) return { group: null, echo: echoNone };
  if (s.dhGroup === null) {
    // §3.3.6: choosing NONE means the KEi is ignored and no KEr is sent.
    return noneOrAbsent === false ? undefined : { group: null, echo: echoNone };
  }
  if (!offers(p, TRANSFORM_TYPE.DH, s.dhGroup.group)) return undefined;
  return { group: s.dhGroup, echo: transform(TRANSFORM_TYPE.DH, s.dhGroup.group) };
}

/**
 * ESN is mandatory for ESP (§3.3.3), but a proposal without it is read as
 * "no ESN" and answered without one, as strongSwan does for robustness.
 */
function esnFor(p: Proposal, s: EspSuite): { esn: boolean; echo: Transform | null } | undefined {
  const yes = offers(p, TRANSFORM_TYPE.ESN, ESN.YES);
  const no = offers(p, TRANSFORM_TYPE.ESN, ESN.NO);
  const absent = !p.transforms.some((t) => t.type === TRANSFORM_TYPE.ESN);
  const acceptYes = s.esn || s.esnOnly !== true;
  const acceptNo = !s.esn || s.esnOnly !== true;
  if (absent) return acceptNo ? { esn: false, echo: null } : undefined;
  const order = s.esn ? [true, false] : [false, true];
  for (const esn of order) {
    if (esn && yes && acceptYes) return { esn: true, echo: transform(TRANSFORM_TYPE.ESN, ESN.YES) };
    if (!esn && no && acceptNo) return { esn: false, echo: transform(TRANSFORM_TYPE.ESN, ESN.NO) };
  }
  return undefined;
}

function chosen(m: Match): EspSelection {
  const spi = m.proposal.spi;
  const peerSpi = (((spi[0] ?? 0) << 24) | ((spi[1] ?? 0) << 16) | ((spi[2] ?? 0) << 8) | (spi[3] ?? 0)) >>> 0;
  const number = m.proposal.number;
  const transforms = m.transforms;
  return {
    kind: 'chosen',
    suite: m.suite,
    peerSpi,
    proposalNumber: number,
    reply: (ourSpi) => {
      // A programming error, not peer input: SPIs 0..255 are reserved (RFC 4303 §2.1).
      if (!Number.isInteger(ourSpi) || ourSpi < 256 || ourSpi > 0xffffffff) throw new RangeError(`ESP SPI ${ourSpi} outside 256..2^32-1`);
      const bytes = new Uint8Array([ourSpi >>> 24, (ourSpi >>> 16) & 0xff, (ourSpi >>> 8) & 0xff, ourSpi & 0xff]);
      return { proposals: [{ number, protocolId: PROTOCOL.ESP, spi: bytes, transforms: transforms.map(copy) }] };
    },
  };
}

function copy(t: Transform): Transform {
  return { type: t.type, id: t.id, attributes: t.attributes.map((a) => ({ ...a })) };
}
