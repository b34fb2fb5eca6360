/**
 * How the failover tests read an echo stream against the cluster (pure):
 * flows attributed to the member serving their unit, units that moved
 * between two views, what the data planes dropped, when missed requests were
 * sent, and one line per restoration summary for the printed figures.
 */
import {
  flowUnit,
  groupByOwner,
  histogram,
  missedSendTimes,
  streamEnd,
  toSeries,
  type FlowSeries,
  type RestorationSummary,
} from '../../src/lab/echo-stream-analysis.js';
import type { EchoStreamResult } from '../../src/lab/echo-stream.js';
import { CLUSTER } from '../../src/lab/plan.js';
import { ECHO_PORT, type ClusterView } from './lab-cluster.js';

/** "123 ms", or "—" for null. */
export const ms = (x: number | null): string => (x === null ? '—' : `${x.toFixed(0)} ms`);

export interface Attributed {
  flows: FlowSeries[];
  start: number;
  end: number;
  /** Flows by the member (address) serving their unit in the view given. */
  byOwner: Map<string | null, FlowSeries[]>;
}

export function unitOf(f: { src: string; port: number }): number {
  return flowUnit(f.src, f.port, CLUSTER.outsideAddress, ECHO_PORT);
}

export function attribute(result: EchoStreamResult, view: ClusterView): Attributed {
  const flows = toSeries(result);
  return { flows, start: result.epoch + result.startedAt, end: streamEnd(result), byOwner: groupByOwner(flows, view.table.owners, unitOf) };
}

/** Units whose owner differs between two views, leaving out those `except` served before. */
export function movedUnits(before: ClusterView, after: ClusterView, except: string | null = null): Set<number> {
  const moved = new Set<number>();
  before.table.owners.forEach((o, u) => {
    if (o !== except && o !== after.table.owners[u]) moved.add(u);
  });
  return moved;
}

/**
 * What the data planes of the members present in both views dropped between
 * them (every drop.* counter but drop.not-mine, the filter doing its job, and
 * the TAP writes that failed).
 */
/** Counters that mean a packet was lost; 'not-mine' only where every packet a member sees should be its own (forwarding mode). */
const LOST = /^(drop\.|tx\.dropped$|hold\.(overflow|expired|discarded|await-timeout)$)/;

export function dataPlaneDrops(before: ClusterView, after: ClusterView, notMineIsLoss = false): string {
  const drops = new Map<string, number>();
  for (const a of after.observations) {
    const b = before.observations.find((o) => o.member === a.member && o.pid === a.pid);
    for (const [k, v] of Object.entries(a.status?.dataPlane ?? {})) {
      if (!LOST.test(k) || (k === 'drop.not-mine' && !notMineIsLoss)) continue;
      const d = v - (b?.status?.dataPlane?.[k] ?? 0);
      if (d > 0) drops.set(`m${a.member} ${k}`, d);
    }
    // The membership core's own drops (bad MAC, replay, not from our master…): forwarded packets pass through them.
    for (const [k, v] of Object.entries(a.status?.counters ?? {})) {
      if (!k.startsWith('drop.')) continue;
      const d = v - (b?.status?.counters?.[k] ?? 0);
      if (d > 0) drops.set(`m${a.member} core.${k}`, d);
    }
  }
  return drops.size === 0 ? 'none' : [...drops].map(([k, n]) => `${k}=${n}`).join(' ');
}

/** When the missed requests in [from, to] were sent, per 250 ms after `origin`; "none" when none were. */
export function missedWhen(flows: readonly FlowSeries[], from: number, to: number, origin: number): string {
  return histogram(missedSendTimes(flows, from, to), origin, 250) || 'none';
}

export function restorationLine(s: RestorationSummary): string {
  return `${s.affected}/${s.flows} interrupted (${s.missed} echoes missed), served again after median ${ms(s.medianMs)}, p95 ${ms(s.p95Ms)}, worst ${ms(s.maxMs)}; longest silence ${ms(s.maxSilentMs)}`;
}
