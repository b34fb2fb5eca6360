/**
 * IPv4 fragmentation and reassembly (RFC 791 §2.3, §3.2; RFC 1122 §3.3.2),
 * sans-IO. Where they sit in the member's host/router stack:
 *
 *   TAP rx -> ethernet -> decodeIpv4 -> Reassembler.accept(now, packet)
 *                                         | complete -> local delivery / routing
 *                                         | pending  -> wait
 *                                         | drop     -> count
 *   timer  -> Reassembler.expire(now) -> ICMP Time Exceeded (code 1) per quote
 *
 *   route out -> fragment(packet, mtu)
 *                  | ok        -> each fragment to the link
 *                  | refusal 'dont-fragment' -> ICMP 3/4 with next-hop MTU (RFC 1191)
 *                  | refusal 'malformed'     -> count, drop
 *
 * fragment/ holds the splitting, pieces/ the byte ranges a datagram holds
 * and the overlap check, reassembler/ the table, limits and counters.
 */
export { copiedOptions, fragment, MIN_MTU, type FragmentResult } from './ipv4-fragments/fragment.js';
export {
  DEFAULT_MAX_DATAGRAMS,
  DEFAULT_MAX_FRAGMENTS_PER_DATAGRAM,
  DEFAULT_REASSEMBLY_MAX_BYTES,
  DEFAULT_REASSEMBLY_TIMEOUT,
  FRAGMENT_OVERHEAD,
  Reassembler,
  type AcceptResult,
  type ExpiredDatagram,
  type ReassemblerLimits,
  type ReassemblyCounters,
  type ReassemblyDrop,
} from './ipv4-fragments/reassembler.js';
