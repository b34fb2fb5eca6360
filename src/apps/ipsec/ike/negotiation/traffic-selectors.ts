/**
 * Traffic selector narrowing by the responder (RFC 7296 §2.9, §3.13.1).
 *
 *   TSi/TSr offered ──▶ keep IPv4 ranges (IPv6/unknown types are ignored, §2.9)
 *                   ──▶ intersect each with each allowed selector, offered order
 *                   ──▶ drop results contained in another result
 *                   ──▶ the result covering the first offered selector's
 *                       narrowing goes first (§2.9: the initiator's first choice)
 *
 * For a remote-access client, TSi narrows to its virtual address and TSr to
 * the networks we protect. Peer input never throws. A result is at most
 * MAX_NARROWED_SELECTORS per side (64 offered × several networks made
 * hundreds, past the TS payload's one-byte count): more is refused
 * (TS_UNACCEPTABLE) rather than cut, so the client learns it asked too much.
 */
import { formatIpv4, type Ipv4 } from '../../../../lib/ipv4.js';
import type { TrafficSelector } from '../../../../wire/ike/ts.js';

export type Ipv4Selector = Extract<TrafficSelector, { family: 'ipv4' }>;

export interface ClientTsPolicy {
  /** The address assigned through CP, or null when none was requested. */
  virtualAddress: number | null;
  protectedNetworks: readonly { address: number; prefixLength: number }[];
}

/** Start 65535 / end 0: OPAQUE ports, e.g. non-initial fragments (RFC 7296 §3.13.1, RFC 4301 §4.4.1). */
const OPAQUE = { start: 0xffff, end: 0 } as const;
/** Offered selectors considered per payload; ignoring the rest only narrows further (bounded work). */
export const MAX_OFFERED_SELECTORS = 64;
const ANY_PORT = { start: 0, end: 0xffff } as const;
/** Selectors per side of a CHILD SA; each costs 16 bytes in every answer and 13 in the SA's record. */
export const MAX_NARROWED_SELECTORS = 32;

export function selectorFromPrefix(address: Ipv4, prefixLength: number, protocol = 0): Ipv4Selector {
  if (!Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > 32) throw new RangeError(`prefix length ${prefixLength} outside 0..32`);
  const mask = prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
  const start = (address & mask) >>> 0;
  const end = (start | ~mask) >>> 0;
  return { family: 'ipv4', protocol, startPort: ANY_PORT.start, endPort: ANY_PORT.end, start, end };
}

function isOpaque(s: Ipv4Selector): boolean {
  return s.startPort === OPAQUE.start && s.endPort === OPAQUE.end;
}

/** Well-formed: start ≤ end for addresses, and for ports unless OPAQUE. */
function isValid(s: TrafficSelector): s is Ipv4Selector {
  if (s.family !== 'ipv4') return false;
  return s.start >>> 0 <= s.end >>> 0 && (s.startPort <= s.endPort || isOpaque(s));
}

/** Does the selector cover this packet? OPAQUE ports match only when no port is given. */
export function selectorContains(ts: TrafficSelector, address: Ipv4, protocol?: number, port?: number): boolean {
  if (!isValid(ts)) return false;
  const a = address >>> 0;
  if (a < ts.start >>> 0 || a > ts.end >>> 0) return false;
  if (protocol !== undefined && ts.protocol !== 0 && ts.protocol !== protocol) return false;
  if (port === undefined) return true;
  return !isOpaque(ts) && port >= ts.startPort && port <= ts.endPort;
}

/** The common part of two selectors, or null. */
export function intersect(a: TrafficSelector, b: TrafficSelector): Ipv4Selector | null {
  if (!isValid(a) || !isValid(b)) return null;
  const protocol = a.protocol === 0 ? b.protocol : b.protocol === 0 || b.protocol === a.protocol ? a.protocol : -1;
  if (protocol < 0) return null;
  const ports = intersectPorts(a, b);
  if (ports === null) return null;
  const start = Math.max(a.start >>> 0, b.start >>> 0);
  const end = Math.min(a.end >>> 0, b.end >>> 0);
  if (start > end) return null;
  return { family: 'ipv4', protocol, startPort: ports.start, endPort: ports.end, start, end };
}

function intersectPorts(a: Ipv4Selector, b: Ipv4Selector): { start: number; end: number } | null {
  const aAny = a.startPort === ANY_PORT.start && a.endPort === ANY_PORT.end;
  const bAny = b.startPort === ANY_PORT.start && b.endPort === ANY_PORT.end;
  // OPAQUE is its own point, inside only "any port".
  if (isOpaque(a) || isOpaque(b)) return (isOpaque(a) || aAny) && (isOpaque(b) || bAny) ? OPAQUE : null;
  const start = Math.max(a.startPort, b.startPort);
  const end = Math.min(a.endPort, b.endPort);
  return start <= end ? { start, end } : null;
}

/** inner ⊆ outer (both well-formed IPv4). */
export function selectorWithin(inner: TrafficSelector, outer: TrafficSelector): boolean {
  if (!isValid(inner) || !isValid(outer)) return false;
  if (inner.start >>> 0 < outer.start >>> 0 || inner.end >>> 0 > outer.end >>> 0) return false;
  if (outer.protocol !== 0 && outer.protocol !== inner.protocol) return false;
  if (outer.startPort === ANY_PORT.start && outer.endPort === ANY_PORT.end) return true;
  if (isOpaque(outer) || isOpaque(inner)) return isOpaque(outer) && isOpaque(inner);
  return inner.startPort >= outer.startPort && inner.endPort <= outer.endPort;
}

/**
 * The parts of `offered` that `allowed` permits: every pairwise intersection,
 * minus those inside another result. Empty means TS_UNACCEPTABLE. Idempotent:
 * narrowing the result again by `allowed` gives it back unchanged.
 */
export function narrow(offered: readonly TrafficSelector[], allowed: readonly TrafficSelector[]): TrafficSelector[] {
  const considered = offered.slice(0, MAX_OFFERED_SELECTORS);
  const rows = considered.map((o) => allowed.map((a) => intersect(o, a)).filter((p): p is Ipv4Selector => p !== null));
  const pieces = rows.flat();
  // Equal pieces: the first stays; a piece strictly inside another goes.
  const kept = pieces.filter((p, i) => !pieces.some((q, j) => j !== i && selectorWithin(p, q) && (!selectorWithin(q, p) || j < i)));
  // §2.9: the initiator's first selector (whole if allowed whole, else its first piece) leads.
  const head = considered[0];
  const firstRow = rows[0] ?? [];
  const firstChoice = firstRow.find((p) => head !== undefined && selectorWithin(head, p)) ?? firstRow[0];
  if (firstChoice === undefined) return kept;
  const at = kept.findIndex((k) => selectorWithin(firstChoice, k));
  return at <= 0 ? kept : [kept[at] as Ipv4Selector, ...kept.slice(0, at), ...kept.slice(at + 1)];
}

/**
 * TSi → the virtual address (or anything, without one); TSr → the protected
 * networks. strongSwan asks for TSi 0.0.0.0/0 alongside a CP request and
 * TSr per its remote_ts (often 0.0.0.0/0).
 */
export function narrowForClient(
  tsi: readonly TrafficSelector[],
  tsr: readonly TrafficSelector[],
  policy: ClientTsPolicy,
): { tsi: TrafficSelector[]; tsr: TrafficSelector[] } | 'ts-unacceptable' | 'ts-too-many' {
  const initiatorSide = policy.virtualAddress === null ? [selectorFromPrefix(0, 0)] : [selectorFromPrefix(policy.virtualAddress, 32)];
  const responderSide = policy.protectedNetworks.map((n) => selectorFromPrefix(n.address, n.prefixLength));
  const narrowedI = narrow(tsi, initiatorSide);
  const narrowedR = narrow(tsr, responderSide);
  if (narrowedI.length === 0 || narrowedR.length === 0) return 'ts-unacceptable';
  if (narrowedI.length > MAX_NARROWED_SELECTORS || narrowedR.length > MAX_NARROWED_SELECTORS) return 'ts-too-many';
  return { tsi: narrowedI, tsr: narrowedR };
}

const PROTOCOL_NAMES: Readonly<Record<number, string>> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'ipv6-icmp' };

/** strongSwan-like: '10.0.0.0/24', '10.0.0.1..10.0.0.9[tcp/80-90]', '0.0.0.0/0[udp/opaque]'. */
export function formatSelector(ts: TrafficSelector): string {
  if (ts.family === 'other') return `type${ts.tsType}[${ts.protocol}]`;
  const range = ts.family === 'ipv4' ? ipv4Range(ts.start >>> 0, ts.end >>> 0) : 'ipv6-range';
  const anyPort = ts.startPort === ANY_PORT.start && ts.endPort === ANY_PORT.end;
  if (ts.protocol === 0 && anyPort) return range;
  const proto = ts.protocol === 0 ? 'any' : (PROTOCOL_NAMES[ts.protocol] ?? String(ts.protocol));
  const opaque = ts.startPort === OPAQUE.start && ts.endPort === OPAQUE.end;
  const ports = anyPort ? '' : opaque ? '/opaque' : ts.startPort === ts.endPort ? `/${ts.startPort}` : `/${ts.startPort}-${ts.endPort}`;
  return `${range}[${proto}${ports}]`;
}

function ipv4Range(start: number, end: number): string {
  for (let len = 0; len <= 32; len++) {
    const p = selectorFromPrefix(start, len);
    if (p.start === start && p.end === end) return `${formatIpv4(start)}/${len}`;
  }
  return `${formatIpv4(start)}..${formatIpv4(end)}`;
}
