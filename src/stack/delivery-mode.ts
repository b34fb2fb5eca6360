/**
 * How frames for the cluster address reach every member (the patent's three
 * delivery modes), and which MAC addresses that implies.
 *
 *   forwarding: the master answers ARP with its own MAC; only the master sees
 *               the cluster's packets and forwards other members' units to them
 *               over the interconnect.
 *   unicast:    ARP answers with one shared unicast cluster MAC; members send
 *               with their own source MACs, so the switch never learns the
 *               cluster MAC and floods frames for it to every member.
 *   multicast:  ARP answers with a multicast MAC; switches flood it and every
 *               member accepts it.
 */
import type { Ipv4 } from '../lib/ipv4.js';
import { isBroadcastMac, macEquals } from '../wire/ethernet.js';
import type { MemberId } from '../cluster/types.js';

export type DeliveryMode = 'forwarding' | 'unicast' | 'multicast';

export const DELIVERY_MODES: readonly DeliveryMode[] = ['forwarding', 'unicast', 'multicast'];

/** 02:53:48 ("SH"), locally administered unicast, then the low 24 bits of the cluster address. */
export function sharedUnicastMac(clusterIp: Ipv4): Uint8Array {
  return Uint8Array.of(0x02, 0x53, 0x48, (clusterIp >>> 16) & 0xff, (clusterIp >>> 8) & 0xff, clusterIp & 0xff);
}

/** 03:53:48 — the same with the group bit set: a multicast MAC every member accepts. */
export function sharedMulticastMac(clusterIp: Ipv4): Uint8Array {
  return Uint8Array.of(0x03, 0x53, 0x48, (clusterIp >>> 16) & 0xff, (clusterIp >>> 8) & 0xff, clusterIp & 0xff);
}

/**
 * A member's own source MAC on a cluster-facing port, 02:53:4d ("SM") plus the
 * low 24 bits of its member id: distinct per member and per side, never the
 * cluster MAC, so a learning switch keeps flooding the cluster MAC.
 */
export function memberMac(member: MemberId, side: 'outer' | 'inner'): Uint8Array {
  return Uint8Array.of(0x02, side === 'outer' ? 0x53 : 0x49, 0x4d, (member >>> 16) & 0xff, (member >>> 8) & 0xff, member & 0xff);
}

/** The MAC the master puts in ARP answers for the cluster address. */
export function arpAnswerMac(mode: DeliveryMode, clusterIp: Ipv4, ownMac: Uint8Array): Uint8Array {
  switch (mode) {
    case 'forwarding':
      return ownMac;
    case 'unicast':
      return sharedUnicastMac(clusterIp);
    case 'multicast':
      return sharedMulticastMac(clusterIp);
  }
}

/**
 * Which destination MACs a member takes off the wire (before the filter): its
 * own, broadcast, and the mode's shared MAC. Built once per port, so the
 * per-frame test allocates nothing.
 */
export function frameFilter(mode: DeliveryMode, ownMac: Uint8Array, clusterIp: Ipv4): (dst: Uint8Array) => boolean {
  const shared = mode === 'unicast' ? sharedUnicastMac(clusterIp) : mode === 'multicast' ? sharedMulticastMac(clusterIp) : null;
  return (dst) => macEquals(dst, ownMac) || isBroadcastMac(dst) || (shared !== null && macEquals(dst, shared));
}

/** One-off form of frameFilter. */
export function acceptsFrame(mode: DeliveryMode, dst: Uint8Array, ownMac: Uint8Array, clusterIp: Ipv4): boolean {
  return frameFilter(mode, ownMac, clusterIp)(dst);
}
