/**
 * The interconnect as the membership core sees it: datagrams to every member
 * (multicast) or to one (unicast to its interconnect address, which is its
 * member id). Implementations: UDP multicast (control-transport-udp.ts) and an
 * in-memory hub for tests (control-transport-memory.ts); both pass
 * test/ports/control-transport-contract.ts.
 */
import type { MemberId } from '../cluster/types.js';

export interface ControlTransport {
  /** Our own member id (interconnect address). */
  readonly self: MemberId;
  /**
   * Send one datagram. `'all'` reaches every other member (never ourselves:
   * multicast loopback is off); a member id reaches that member only.
   * Never throws for network trouble: failures are counted.
   */
  send(bytes: Uint8Array, to: MemberId | 'all'): void;
  /**
   * Every datagram received; `bytes` is the receiver's own copy. An exception
   * from the handler is counted ('handler-threw') and goes no further: the
   * socket's callback is an event-loop entry point.
   */
  onDatagram(handler: (bytes: Uint8Array, from: MemberId) => void): void;
  /** Datagrams that could not be sent, and received ones whose handler threw, by reason. */
  readonly errors: ReadonlyMap<string, number>;
  close(): Promise<void>;
}
