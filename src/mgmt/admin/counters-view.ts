/**
 * What `counters` shows: the member's traffic per side and direction, its
 * tunnels' ESP packets, every drop by layer and reason, the units it took
 * over from failed members, and its replication backlog. Built from the
 * raw counter maps each layer keeps (pure, so the metrics and the CLI show
 * the same figures).
 *
 *   data plane  ─ per side rx/tx packets and bytes, 'drop.<reason>', 'tx.dropped'
 *   ipsec       ─ 'esp.in' 'esp.out', 'esp.drop.<reason>', 'ike.drop.<reason>', 'esp.out-failed.<reason>'
 *   membership  ─ 'drop.<reason>' (control datagrams refused)
 */

export type SideName = 'outer' | 'inner';

export interface SideTraffic {
  side: SideName;
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
}

export interface DropCount {
  /** Where it was dropped: host (the userspace stack), tap, esp, ike, control. */
  layer: string;
  reason: string;
  count: number;
}

export interface CountersView {
  traffic: SideTraffic[];
  /** ESP packets accepted from clients and sent to them. */
  esp: { in: number; out: number };
  drops: DropCount[];
  /** Units this member took over without a hand-over (their owner failed or left). */
  failovers: number;
  replication: { ready: boolean; backlog: number; records: number };
}

export interface CounterSources {
  traffic: readonly SideTraffic[];
  host: Readonly<Record<string, number>> | null;
  ipsec: ReadonlyMap<string, number> | null;
  control: Readonly<Record<string, number>>;
  failovers: number;
  replication: { ready: boolean; backlog: number; records: number };
}

/** Counter-name prefixes that are drops, and the layer each belongs to. */
const DROP_PREFIXES: readonly { prefix: string; layer: string }[] = [
  { prefix: 'esp.drop.', layer: 'esp' },
  { prefix: 'esp.out-failed.', layer: 'esp' },
  { prefix: 'ike.drop.', layer: 'ike' },
];

export function countersView(src: CounterSources): CountersView {
  const drops: DropCount[] = [];
  for (const [name, count] of Object.entries(src.host ?? {})) {
    if (name === 'tx.dropped') drops.push({ layer: 'tap', reason: 'tx-refused', count });
    else if (name.startsWith('drop.')) drops.push({ layer: 'host', reason: name.slice(5), count });
  }
  for (const [name, count] of src.ipsec ?? []) {
    const p = DROP_PREFIXES.find((d) => name.startsWith(d.prefix));
    if (p) drops.push({ layer: p.layer, reason: p.prefix === 'esp.out-failed.' ? `out-failed-${name.slice(p.prefix.length)}` : name.slice(p.prefix.length), count });
  }
  for (const [name, count] of Object.entries(src.control)) {
    if (name.startsWith('drop.')) drops.push({ layer: 'control', reason: name.slice(5), count });
  }
  drops.sort((a, b) => a.layer.localeCompare(b.layer) || a.reason.localeCompare(b.reason));
  return {
    traffic: [...src.traffic],
    esp: { in: src.ipsec?.get('esp.in') ?? 0, out: src.ipsec?.get('esp.out') ?? 0 },
    drops: drops.filter((d) => d.count > 0),
    failovers: src.failovers,
    replication: { ...src.replication },
  };
}
