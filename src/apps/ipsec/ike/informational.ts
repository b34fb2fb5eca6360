/**
 * INFORMATIONAL, responder side (RFC 7296 §1.4, §3.11):
 *
 *   SK{}                  → SK{}                      liveness check
 *   SK{D(ESP, spi...)}    → SK{D(ESP, our spi...)}    the initiator closes CHILD SAs (by its inbound SPIs)
 *   SK{D(IKE)}            → SK{}                      the IKE SA and all its children are gone
 *   SK{N(...)}            → SK{}                      status notifies are only acknowledged
 */
import { PROTOCOL } from '../../../wire/ike/constants.js';
import type { IkePayload } from '../../../wire/ike/payload.js';
import { count, type ResponderOutput, type ResponderState } from './context.js';
import type { IkeSa } from './ike-sa.js';

export interface InformationalResult {
  payloads: IkePayload[];
  out: ResponderOutput[];
  /** The initiator deleted the IKE SA itself. */
  deleteIke: boolean;
}

export function handleInformational(state: ResponderState, sa: IkeSa, payloads: readonly IkePayload[]): InformationalResult {
  const out: ResponderOutput[] = [];
  const answer: IkePayload[] = [];
  let deleteIke = false;
  const ourSpis: Uint8Array[] = [];
  for (const p of payloads) {
    if (p.kind !== 'delete') continue;
    if (p.protocolId === PROTOCOL.IKE) {
      deleteIke = true;
      continue;
    }
    if (p.protocolId !== PROTOCOL.ESP) continue;
    for (const raw of p.spis) {
      if (raw.length !== 4) continue;
      const spi = Buffer.from(raw).readUInt32BE(0);
      const i = sa.children.findIndex((c) => c.spiOut === spi);
      if (i < 0) continue; // §3.11: deleting what is already gone is not an error
      const [child] = sa.children.splice(i, 1);
      ourSpis.push(Uint8Array.of(child!.spiIn >>> 24, (child!.spiIn >>> 16) & 255, (child!.spiIn >>> 8) & 255, child!.spiIn & 255));
      out.push({ kind: 'child-down', sa, child: child! });
      count(state, 'ike.informational.child-deleted');
    }
  }
  if (ourSpis.length > 0) answer.push({ kind: 'delete', protocolId: PROTOCOL.ESP, spiSize: 4, spis: ourSpis });
  if (deleteIke) {
    count(state, 'ike.informational.ike-deleted');
    answer.length = 0; // §1.4.1: the answer to a Delete of the IKE SA is empty
  } else if (payloads.length === 0) {
    count(state, 'ike.informational.liveness');
  }
  return { payloads: answer, out, deleteIke };
}
