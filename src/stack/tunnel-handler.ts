/**
 * What a tunnel handler (IPsec, L2TP, PPTP) plugs into the cluster host with,
 * sans-IO: the host hands it the packets of its ports and protocols on the
 * cluster address (only for units this member serves) and the inside's
 * traffic towards its clients; the handler answers with outputs the host
 * turns into frames. Handlers never see frames, ARP or ownership.
 */
import type { UnitId } from '../cluster/types.js';
import type { Ipv4 } from '../lib/ipv4.js';

export interface Endpoint {
  ip: Ipv4;
  port: number;
}

export type TunnelOutput =
  /**
   * A UDP datagram from the cluster address's `localPort`. `checksum: false`
   * sends 0 ("none"), for payloads that carry their own integrity check
   * (ESP in UDP: RFC 3948 §2.1 says SHOULD).
   */
  | { kind: 'udp'; localPort: number; to: Endpoint; payload: Uint8Array; checksum?: false }
  /** A raw IP payload (ESP, GRE) from the cluster address. */
  | { kind: 'ip'; protocol: number; to: Ipv4; payload: Uint8Array }
  /** A decapsulated packet from a client: routed on (TTL−1) like any forwarded packet. */
  | { kind: 'inner'; packet: Uint8Array };

export interface TunnelHandler {
  readonly name: string;
  /** UDP ports on the cluster address this handler serves. */
  readonly udpPorts: readonly number[];
  /** IP protocols to the cluster address this handler serves (e.g. 50 for ESP). */
  readonly ipProtocols: readonly number[];
  udp(now: number, unit: UnitId, from: Endpoint, localPort: number, payload: Uint8Array): TunnelOutput[];
  ip(now: number, unit: UnitId, src: Ipv4, protocol: number, payload: Uint8Array): TunnelOutput[];
  /**
   * A packet routed from the inside whose unit this member serves: the
   * handler's outputs when the destination is one of its clients, else null
   * (the host routes it as usual).
   */
  toClient(now: number, unit: UnitId, dst: Ipv4, packet: Uint8Array): TunnelOutput[] | null;
  tick(now: number): TunnelOutput[];
  nextWakeAt(): number;
}
