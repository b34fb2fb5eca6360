/**
 * A member's metrics, from the same views the admin commands print (so
 * `shoal members`, `shoal counters` and a scrape never disagree). Pure:
 * snapshot in, metric families out; the HTTP adapter serves the text.
 */
import type { CountersView } from '../admin/counters-view.js';
import type { MemberView, StatusView } from '../admin/views.js';
import type { MetricFamily } from './exposition.js';

export interface MetricsSnapshot {
  status: StatusView;
  members: readonly MemberView[];
  counters: CountersView;
  /** IKE SAs (established and half-open) and CHILD SAs on this member. */
  tunnels: { ike: number; child: number };
  /** Event-loop delay since start, in ms. */
  eventLoop: { p99Ms: number; maxMs: number };
}

const ROLES = ['joining', 'offering', 'master', 'member', 'refused', 'left'] as const;

export function shoalMetrics(s: MetricsSnapshot): MetricFamily[] {
  const c = s.counters;
  return [
    { name: 'shoal_members', help: 'Members of the cluster, as this member sees it.', type: 'gauge', samples: [{ value: s.status.members }] },
    {
      name: 'shoal_member_units',
      help: 'Work units owned by each member, as this member sees the unit table.',
      type: 'gauge',
      samples: s.members.map((m) => ({ labels: { member: m.address, role: m.role }, value: m.units })),
    },
    { name: 'shoal_served_units', help: 'Work units this member serves.', type: 'gauge', samples: [{ value: s.status.servedUnits }] },
    {
      name: 'shoal_role',
      help: "This member's role (1 for the current one).",
      type: 'gauge',
      samples: ROLES.map((role) => ({ labels: { role }, value: s.status.role === role ? 1 : 0 })),
    },
    { name: 'shoal_term', help: 'The membership term (master elections seen).', type: 'gauge', samples: [{ value: s.status.term }] },
    { name: 'shoal_ike_sas', help: 'IKE SAs (tunnels) on this member.', type: 'gauge', samples: [{ value: s.tunnels.ike }] },
    { name: 'shoal_child_sas', help: 'CHILD SAs (sessions) on this member.', type: 'gauge', samples: [{ value: s.tunnels.child }] },
    {
      name: 'shoal_packets_total',
      help: 'Frames through the TAP ports, by side and direction.',
      type: 'counter',
      samples: c.traffic.flatMap((t) => [
        { labels: { side: t.side, direction: 'rx' }, value: t.rxPackets },
        { labels: { side: t.side, direction: 'tx' }, value: t.txPackets },
      ]),
    },
    {
      name: 'shoal_bytes_total',
      help: 'Bytes of frames through the TAP ports, by side and direction.',
      type: 'counter',
      samples: c.traffic.flatMap((t) => [
        { labels: { side: t.side, direction: 'rx' }, value: t.rxBytes },
        { labels: { side: t.side, direction: 'tx' }, value: t.txBytes },
      ]),
    },
    {
      name: 'shoal_esp_packets_total',
      help: 'ESP packets accepted from clients (in) and sent to them (out).',
      type: 'counter',
      samples: [
        { labels: { direction: 'in' }, value: c.esp.in },
        { labels: { direction: 'out' }, value: c.esp.out },
      ],
    },
    {
      name: 'shoal_drops_total',
      help: 'Packets and messages dropped, by layer and reason.',
      type: 'counter',
      samples: c.drops.map((d) => ({ labels: { layer: d.layer, reason: d.reason }, value: d.count })),
    },
    { name: 'shoal_failovers_total', help: 'Work units this member took over from a failed or departed member.', type: 'counter', samples: [{ value: c.failovers }] },
    { name: 'shoal_replication_backlog', help: 'Replication messages sent and not yet acknowledged by every peer.', type: 'gauge', samples: [{ value: c.replication.backlog }] },
    { name: 'shoal_replication_records', help: "Other members' session records held here.", type: 'gauge', samples: [{ value: c.replication.records }] },
    { name: 'shoal_replication_ready', help: '1 once this member holds the records of every peer (only then may it serve units).', type: 'gauge', samples: [{ value: c.replication.ready ? 1 : 0 }] },
    {
      name: 'shoal_event_loop_delay_seconds',
      help: 'Event-loop delay since start: the 99th percentile and the maximum.',
      type: 'gauge',
      samples: [
        { labels: { stat: 'p99' }, value: s.eventLoop.p99Ms / 1000 },
        { labels: { stat: 'max' }, value: s.eventLoop.maxMs / 1000 },
      ],
    },
  ];
}
