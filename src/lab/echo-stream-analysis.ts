/**
 * What an echo stream's record says, pure (no I/O): per flow, which requests
 * in a window were answered, missed or answered more than once; how long a
 * flow went unanswered after an instant (a SIGKILL, a join) and when it was
 * served again; which work unit a flow hashes to (the patent's filter on the
 * very datagram the flow sends), so flows can be grouped by the member that
 * owns their unit.
 *
 *   EchoStreamResult (times after epoch) ─► toSeries ─► FlowSeries (wall-clock ms, replies per seq)
 *   FlowSeries × window ─► countWindow ─► requests / answered / missed / duplicated
 *   FlowSeries × instant ─► outageAfter ─► restoration and silent gap
 *   flowUnit(src, port) ─► unit ─► owner (from the members' unit tables) ─► groupByOwner
 */
import { classifyInbound } from '../cluster/filter.js';
import { UNIT_COUNT } from '../cluster/types.js';
import { parseIpv4 } from '../lib/ipv4.js';
import { IP_PROTOCOL, encodeIpv4 } from '../wire/ipv4.js';
import { encodeUdp } from '../wire/udp.js';
import type { EchoStreamResult } from './echo-stream.js';

/** One flow in wall-clock milliseconds. */
export interface FlowSeries {
  src: string;
  port: number;
  /** Index = sequence number: when it was sent, or null when it was not. */
  sent: (number | null)[];
  /** Index = sequence number: when each echo of it arrived (empty when none did). */
  replies: number[][];
}

export function toSeries(r: EchoStreamResult): FlowSeries[] {
  return r.flows.map((f) => {
    const replies: number[][] = f.sent.map(() => []);
    for (const [seq, t] of f.replies) replies[seq]?.push(r.epoch + t);
    return { src: f.src, port: f.port, sent: f.sent.map((t) => (t === null ? null : r.epoch + t)), replies };
  });
}

/** The stream's last send, in wall-clock ms. */
export function streamEnd(r: EchoStreamResult): number {
  return r.epoch + r.stoppedAt;
}

export function flowKey(src: string, port: number): string {
  return `${src}:${port}`;
}

/**
 * The work unit of a flow's datagrams: the filter run on a datagram the flow
 * could send (the unit of a UDP datagram depends on its addresses and ports only).
 */
export function flowUnit(src: string, srcPort: number, dst: string, dstPort: number): number {
  const s = parseIpv4(src);
  const d = parseIpv4(dst);
  const payload = new TextEncoder().encode(`${src}:${srcPort}:0`);
  const udp = encodeUdp({ srcPort, dstPort, payload }, { src: s, dst: d });
  const packet = encodeIpv4({
    header: { dscp: 0, ecn: 0, id: 1, dontFragment: false, moreFragments: false, fragmentOffset: 0, ttl: 64, protocol: IP_PROTOCOL.UDP, src: s, dst: d, options: new Uint8Array(0) },
    payload: udp,
  });
  return classifyInbound(packet);
}

export interface WindowCounts {
  /** Requests sent in the window. */
  requests: number;
  /** Of those, answered at least once. */
  answered: number;
  /** Of those, never answered. */
  missed: number;
  /** Of those, answered more than once. */
  duplicated: number;
}

export const NO_COUNTS: WindowCounts = { requests: 0, answered: 0, missed: 0, duplicated: 0 };

/** The requests `f` sent in [from, to] (wall-clock ms) and what became of them. */
export function countWindow(f: FlowSeries, from: number, to: number): WindowCounts {
  const c = { ...NO_COUNTS };
  f.sent.forEach((t, seq) => {
    if (t === null || t < from || t > to) return;
    const n = f.replies[seq]?.length ?? 0;
    c.requests++;
    if (n === 0) c.missed++;
    else c.answered++;
    if (n > 1) c.duplicated++;
  });
  return c;
}

export function addCounts(a: WindowCounts, b: WindowCounts): WindowCounts {
  return { requests: a.requests + b.requests, answered: a.answered + b.answered, missed: a.missed + b.missed, duplicated: a.duplicated + b.duplicated };
}

/** countWindow over many flows, summed. */
export function countFlows(flows: readonly FlowSeries[], from: number, to: number): WindowCounts {
  return flows.reduce((acc, f) => addCounts(acc, countWindow(f, from, to)), NO_COUNTS);
}

/** The flows (as "src:port") that missed or duplicated a request sent in [from, to]. */
export function badFlows(flows: readonly FlowSeries[], from: number, to: number): { missed: string[]; duplicated: string[] } {
  const counts = flows.map((f) => ({ key: flowKey(f.src, f.port), c: countWindow(f, from, to) }));
  return { missed: counts.filter((x) => x.c.missed > 0).map((x) => x.key), duplicated: counts.filter((x) => x.c.duplicated > 0).map((x) => x.key) };
}

/** When the requests sent in [from, to] that got no echo were sent, oldest first. */
export function missedSendTimes(flows: readonly FlowSeries[], from: number, to: number): number[] {
  const times: number[] = [];
  for (const f of flows)
    f.sent.forEach((t, seq) => {
      if (t !== null && t >= from && t <= to && (f.replies[seq]?.length ?? 0) === 0) times.push(t);
    });
  return times.sort((a, b) => a - b);
}

/** Times counted in buckets of `bucketMs` after `origin`: "+0 ms: 12, +250 ms: 3" (empty buckets left out). */
export function histogram(times: readonly number[], origin: number, bucketMs: number): string {
  const buckets = new Map<number, number>();
  for (const t of times) {
    const b = Math.floor((t - origin) / bucketMs) * bucketMs;
    buckets.set(b, (buckets.get(b) ?? 0) + 1);
  }
  return [...buckets]
    .sort((a, b) => a[0] - b[0])
    .map(([b, n]) => `${b >= 0 ? '+' : ''}${b} ms: ${n}`)
    .join(', ');
}

/** How one flow fared after an instant. */
export interface Outage {
  /** Requests sent in [instant − lookback, until] that got no echo. */
  missed: number;
  /** When the flow was served again: the first echo of a request sent after its last missed one; null if never (or not affected). */
  restoredAt: number | null;
  /** restoredAt − instant; 0 when nothing was missed; null when the flow was never served again. */
  restorationMs: number | null;
  /** How long the flow heard nothing: from the last echo before its first missed request to restoredAt; 0 when nothing was missed. */
  silentMs: number | null;
}

/**
 * How `f` fared after `instant`, looking at the requests it sent in
 * [instant − lookbackMs, until] (a lookback catches requests in flight at the instant).
 */
export function outageAfter(f: FlowSeries, instant: number, until: number, lookbackMs = 0): Outage {
  const from = instant - lookbackMs;
  let firstMissed = Infinity;
  let lastMissed = -Infinity;
  let missed = 0;
  f.sent.forEach((t, seq) => {
    if (t === null || t < from || t > until || (f.replies[seq]?.length ?? 0) > 0) return;
    missed++;
    firstMissed = Math.min(firstMissed, t);
    lastMissed = Math.max(lastMissed, t);
  });
  if (missed === 0) return { missed, restoredAt: null, restorationMs: 0, silentMs: 0 };
  let restoredAt = Infinity;
  let lastHeard = -Infinity;
  f.sent.forEach((t, seq) => {
    for (const r of f.replies[seq] ?? []) {
      if (t !== null && t > lastMissed) restoredAt = Math.min(restoredAt, r);
      if (r <= firstMissed) lastHeard = Math.max(lastHeard, r);
    }
  });
  if (!Number.isFinite(restoredAt)) return { missed, restoredAt: null, restorationMs: null, silentMs: null };
  return { missed, restoredAt, restorationMs: restoredAt - instant, silentMs: Number.isFinite(lastHeard) ? restoredAt - lastHeard : null };
}

export interface RestorationSummary {
  flows: number;
  /** Flows that missed at least one request. */
  affected: number;
  /** Affected flows never served again before the stream stopped. */
  notRestored: number;
  missed: number;
  /** Over the affected flows that were restored: restoration time after the instant. */
  medianMs: number | null;
  p95Ms: number | null;
  maxMs: number | null;
  /** The longest time any flow heard nothing. */
  maxSilentMs: number | null;
}

export function summarizeOutages(flows: readonly FlowSeries[], instant: number, until: number, lookbackMs = 0): RestorationSummary {
  const outages = flows.map((f) => outageAfter(f, instant, until, lookbackMs)).filter((o) => o.missed > 0);
  const times = outages.flatMap((o) => (o.restorationMs === null ? [] : [o.restorationMs]));
  const silent = outages.flatMap((o) => (o.silentMs === null ? [] : [o.silentMs]));
  return {
    flows: flows.length,
    affected: outages.length,
    notRestored: outages.filter((o) => o.restorationMs === null).length,
    missed: outages.reduce((a, o) => a + o.missed, 0),
    medianMs: percentile(times, 0.5),
    p95Ms: percentile(times, 0.95),
    maxMs: times.length === 0 ? null : Math.max(...times),
    maxSilentMs: silent.length === 0 ? null : Math.max(...silent),
  };
}

/** The p-quantile (0..1, nearest rank) of `values`; null when empty. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? null;
}

/** Who serves each unit, from every member's own list of served units. */
export interface ServedTable {
  /** Index = unit: the one member serving it, or null when none (or more than one) does. */
  owners: (string | null)[];
  /** Units no member serves. */
  unserved: number[];
  /** Units more than one member serves. */
  shared: number[];
}

export function servedTable(members: readonly { self: string; served: readonly number[] }[]): ServedTable {
  const by: string[][] = Array.from({ length: UNIT_COUNT }, () => []);
  for (const m of members) for (const u of m.served) by[u]?.push(m.self);
  return {
    owners: by.map((s) => (s.length === 1 ? (s[0] ?? null) : null)),
    unserved: by.flatMap((s, u) => (s.length === 0 ? [u] : [])),
    shared: by.flatMap((s, u) => (s.length > 1 ? [u] : [])),
  };
}

/** Flows grouped by the owner of their unit (null: no single owner). */
export function groupByOwner<F extends { src: string; port: number }>(
  flows: readonly F[],
  owners: readonly (string | null)[],
  unitOf: (f: F) => number,
): Map<string | null, F[]> {
  const groups = new Map<string | null, F[]>();
  for (const f of flows) {
    const owner = owners[unitOf(f)] ?? null;
    const g = groups.get(owner);
    if (g === undefined) groups.set(owner, [f]);
    else g.push(f);
  }
  return groups;
}
