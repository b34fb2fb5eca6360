/**
 * The octets an AUTH payload signs or MACs (RFC 7296 §2.15). For the
 * responder's own AUTH:
 *
 *   ResponderSignedOctets = RealMessage2 | NonceIData | MACedIDForR
 *   MACedIDForR           = prf(SK_pr, RestOfRespIDPayload)
 *
 * and symmetrically for the initiator (RealMessage1, NonceRData, SK_pi, IDi).
 * RestOfIDPayload is the ID payload body from the ID Type on: encodeId(id).
 */
import { prf } from '../../crypto/prf.js';
import type { PrfTransform } from '../../crypto/transforms.js';

/**
 * @param realMessage the whole first message this side sent (IKE_SA_INIT request or response), header included
 * @param peerNonce   the other side's Nonce Data
 * @param skP         SK_pi when checking/making the initiator's AUTH, SK_pr for the responder's
 * @param idBody      this side's ID payload body, encodeId(id)
 */
export function signedOctets(
  prfAlg: PrfTransform,
  realMessage: Uint8Array,
  peerNonce: Uint8Array,
  skP: Uint8Array,
  idBody: Uint8Array,
): Uint8Array {
  const maced = prf(prfAlg, skP, idBody);
  const out = new Uint8Array(realMessage.length + peerNonce.length + maced.length);
  out.set(realMessage, 0);
  out.set(peerNonce, realMessage.length);
  out.set(maced, realMessage.length + peerNonce.length);
  return out;
}
