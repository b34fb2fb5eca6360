/**
 * Forwarding mode: the master hands a packet of another member's unit over
 * the interconnect in one ForwardedPacket frame, which carries at most
 * MAX_FORWARDED_PACKET (64,949) bytes. A datagram to a cluster address has
 * been reassembled first (its unit needs the whole datagram) and may be up
 * to 65,535 bytes; a frame read from a TAP with a large MTU may be too.
 *
 *   packet ≤ limit ─────────────────────────────────► one piece, as it came
 *   packet > limit ─► to a cluster address: DF cleared ─► fragment(limit) ─► pieces
 *                  └► routed through, DF = 0 ─────────► fragment(limit) ─► pieces
 *                  └► routed through, DF = 1 ─────────► refused ('forward-too-big')
 *
 * Splitting into IPv4 fragments keeps large datagrams working at the cost of
 * two frames (not the 44 the client's own fragments would take): the owner
 * reassembles them with the reassembler it runs for the wire anyway. DF only
 * matters on a path that goes on, and a datagram to a cluster address ends
 * at the owner; a routed DF packet must not be fragmented (RFC 791), and the
 * master is not its owner, so it may not answer frag-needed either: it drops
 * and counts.
 */
import type { Ipv4 } from '../lib/ipv4.js';
import { decodeIpv4, encodeIpv4 } from '../wire/ipv4.js';
import { fragment } from './ipv4-fragments.js';

export type ForwardSplit = { ok: true; pieces: Uint8Array[] } | { ok: false; drop: 'forward-too-big' | 'forward-malformed' };

/**
 * The pieces `packet` travels in, each at most `limit` bytes. `isLocal`
 * tells a cluster address (a packet to one may have its DF bit cleared).
 */
export function splitForForwarding(packet: Uint8Array, limit: number, isLocal: (dst: Ipv4) => boolean): ForwardSplit {
  if (packet.length <= limit) return { ok: true, pieces: [packet] };
  const d = decodeIpv4(packet);
  if (!d.ok) return { ok: false, drop: 'forward-malformed' };
  const { header, payload } = d.value;
  const whole = header.dontFragment && isLocal(header.dst) ? encodeIpv4({ header: { ...header, dontFragment: false }, payload }) : packet;
  const r = fragment(whole, limit);
  if (r.ok) return { ok: true, pieces: r.fragments };
  return { ok: false, drop: r.refusal === 'dont-fragment' ? 'forward-too-big' : 'forward-malformed' };
}
