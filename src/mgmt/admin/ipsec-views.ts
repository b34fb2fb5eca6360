/**
 * What `tunnels` and `sessions` show, computed from the IKE responder's SAs
 * on this member: one shape for `--json` and for the human tables. A tunnel
 * is an IKE SA (its id is our responder SPI in hex, the id `tunnel kill`
 * takes); a session is one of its CHILD SAs.
 */
import type { ChildSa, IkeSa, IkeSaState } from '../../apps/ipsec/ike/ike-sa.js';
import { espSuiteName } from '../../apps/ipsec/ike/negotiation/esp-suite.js';
import { ikeSuiteName } from '../../apps/ipsec/ike/negotiation/ike-proposal.js';
import { formatIpv4 } from '../../lib/ipv4.js';

export interface TunnelView {
  /** Our responder SPI, hex: the tunnel's id. */
  id: string;
  /** The client's current address and port. */
  peer: string;
  /** The identity the client authenticated with ('' while half-open). */
  identity: string;
  virtualIp: string | null;
  unit: number;
  state: IkeSaState;
  ike: string;
  ageMs: number;
  children: number;
  /** Inner-packet bytes through its CHILD SAs now present, from the client and to it. */
  bytesIn: number;
  bytesOut: number;
}

export interface SessionView {
  /** Our inbound SPI and the client's (what our outbound ESP carries), hex. */
  spiIn: string;
  spiOut: string;
  tunnel: string;
  esp: string;
  packetsIn: number;
  packetsOut: number;
  bytesIn: number;
  bytesOut: number;
  ageMs: number;
}

export function spiHex(spi: number): string {
  return (spi >>> 0).toString(16).padStart(8, '0');
}

/** The SAs ordered by age, oldest first, then id (a stable order for people and tests). */
function ordered(sas: Iterable<IkeSa>): IkeSa[] {
  return [...sas].sort((a, b) => a.createdAt - b.createdAt || a.spiKey.localeCompare(b.spiKey));
}

export function tunnelsView(sas: Iterable<IkeSa>, now: number): TunnelView[] {
  return ordered(sas).map((sa) => ({
    id: sa.spiKey,
    peer: `${formatIpv4(sa.peer.ip)}:${sa.peer.port}`,
    identity: sa.peerName,
    virtualIp: sa.virtualAddress === null ? null : formatIpv4(sa.virtualAddress),
    unit: sa.unit,
    state: sa.state,
    ike: ikeSuiteName(sa.suite),
    ageMs: Math.max(0, now - sa.createdAt),
    children: sa.children.length,
    bytesIn: sum(sa.children, (c) => c.inbound.bytes),
    bytesOut: sum(sa.children, (c) => c.outbound.bytes),
  }));
}

export function sessionsView(sas: Iterable<IkeSa>, now: number): SessionView[] {
  return ordered(sas).flatMap((sa) =>
    sa.children.map((c) => ({
      spiIn: spiHex(c.spiIn),
      spiOut: spiHex(c.spiOut),
      tunnel: sa.spiKey,
      esp: espSuiteName(c.suite),
      packetsIn: c.inbound.packets,
      packetsOut: c.outbound.packets,
      bytesIn: c.inbound.bytes,
      bytesOut: c.outbound.bytes,
      ageMs: Math.max(0, now - c.createdAt),
    })),
  );
}

function sum(children: readonly ChildSa[], f: (c: ChildSa) => number): number {
  return children.reduce((s, c) => s + f(c), 0);
}
