/**
 * IKE SA proposal selection by the responder in IKE_SA_INIT (RFC 7296
 * §2.7, §3.3.6):
 *
 *   SAi1 proposals ──▶ drop oversize / non-IKE / unknown-type proposals
 *                  ──▶ first allowed suite (our order) found in any proposal
 *                      (ties: the initiator's proposal order)
 *                  ──▶ KE group differs? INVALID_KE_PAYLOAD with ours
 *                  ──▶ SAr1: that proposal's number, one transform per type
 *
 * Peer input never throws: the result is a typed value.
 */
import { INTEG, PROTOCOL, TRANSFORM_TYPE } from '../../../../wire/ike/constants.js';
import type { Proposal, SaPayload, Transform } from '../../../../wire/ike/sa.js';
import type { IkeSuite } from '../../crypto/transforms.js';
import { absentOrNone, describeSa, offers, oversize, transform, unknownType } from './proposal-common.js';

export type IkeSelection =
  | { kind: 'chosen'; suite: IkeSuite; reply: SaPayload }
  | { kind: 'invalid-ke'; group: number }
  | { kind: 'no-proposal-chosen'; detail: string };

/** ESN (type 5) is not an IKE transform (§3.3.3), so it makes an IKE proposal unacceptable too. */
const IKE_TYPES: readonly number[] = [TRANSFORM_TYPE.ENCR, TRANSFORM_TYPE.PRF, TRANSFORM_TYPE.INTEG, TRANSFORM_TYPE.DH];

/** strongSwan proposal syntax: 'aes256gcm16-prfsha256-ecp256', 'aes256-sha256-prfsha256-modp2048'. */
export function ikeSuiteName(s: IkeSuite): string {
  const integ = s.integrity === null ? [] : [s.integrity.name];
  return [s.encryption.name, ...integ, s.prf.name, s.dhGroup.name].join('-');
}

/**
 * Chooses the IKE SA suite. `keGroup` is the D-H group of the KEi payload;
 * when the best match uses another group the initiator is asked to retry
 * with it (§1.2, §3.3.6), even if a worse match would fit the KE sent.
 */
export function selectIkeProposal(offered: SaPayload, allowed: readonly IkeSuite[], keGroup: number): IkeSelection {
  const tooLarge = oversize(offered);
  if (tooLarge !== null) return { kind: 'no-proposal-chosen', detail: tooLarge };
  const candidates = offered.proposals.filter(isCandidate);
  for (const suite of allowed) {
    for (const proposal of candidates) {
      const integ = integrityFor(proposal, suite);
      if (integ === undefined) continue;
      if (suite.dhGroup.group !== keGroup) return { kind: 'invalid-ke', group: suite.dhGroup.group };
      return { kind: 'chosen', suite, reply: reply(proposal, suite, integ) };
    }
  }
  return { kind: 'no-proposal-chosen', detail: `no allowed IKE suite in ${describeSa(offered)}` };
}

/**
 * An IKE_SA_INIT proposal has protocol IKE and an empty SPI (§3.3.1); a
 * proposal with a transform type we do not know is unacceptable (§3.3.6).
 */
function isCandidate(p: Proposal): boolean {
  return p.protocolId === PROTOCOL.IKE && p.spi.length === 0 && unknownType(p, IKE_TYPES) === undefined;
}

/**
 * When the proposal contains the suite: the INTEG transform to echo (null for
 * none); undefined when it does not. An AEAD cipher takes no INTEG, or only
 * INTEG NONE (RFC 7296 §3.3, RFC 5282 §8); a CBC one needs its own.
 */
function integrityFor(p: Proposal, s: IkeSuite): Transform | null | undefined {
  if (!offers(p, TRANSFORM_TYPE.ENCR, s.encryption.id, s.encryption.keyBits)) return undefined;
  if (!offers(p, TRANSFORM_TYPE.PRF, s.prf.id)) return undefined;
  if (!offers(p, TRANSFORM_TYPE.DH, s.dhGroup.group)) return undefined;
  if (s.integrity === null) {
    const integ = absentOrNone(p, TRANSFORM_TYPE.INTEG);
    if (integ === false) return undefined;
    return integ === 'none' ? transform(TRANSFORM_TYPE.INTEG, INTEG.NONE) : null;
  }
  return offers(p, TRANSFORM_TYPE.INTEG, s.integrity.id) ? transform(TRANSFORM_TYPE.INTEG, s.integrity.id) : undefined;
}

/** SAr1: one transform of each type the proposal carried, attributes unmodified (§3.3.6). */
function reply(p: Proposal, s: IkeSuite, integ: Transform | null): SaPayload {
  const transforms = [
    transform(TRANSFORM_TYPE.ENCR, s.encryption.id, s.encryption.keyBits),
    transform(TRANSFORM_TYPE.PRF, s.prf.id),
    ...(integ === null ? [] : [integ]),
    transform(TRANSFORM_TYPE.DH, s.dhGroup.group),
  ];
  return { proposals: [{ number: p.number, protocolId: PROTOCOL.IKE, spi: new Uint8Array(0), transforms }] };
}
