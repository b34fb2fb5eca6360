/**
 * Control traffic on the lab's interconnect, real daemons on a real (veth)
 * wire: bytes and packets per second in steady state (cluster formed, loads
 * even, no data traffic) for 3, 8 and 16 members, and over the first seconds
 * after a non-master member is SIGKILLed (root needed).
 *
 *   members ─ic0═c-m<i>─ sw/ic bridge      counters of the switch ends, `ip -s -j link` in sw:
 *                                           rx on c-m<i> = what member i put on the wire
 *                                           tx on c-m<i> = what the bridge delivered to member i
 *
 * "On the wire" is the sum of what the members sent (each multicast frame
 * once); "delivered" adds up every copy the bridge handed out (a multicast
 * frame reaches every other member), the figure the simulator bench reports.
 * Byte counts are the veth's: Ethernet header, IP, UDP and payload, no
 * preamble or FCS. The interconnect carries nothing but the cluster's control
 * protocol (plus the odd ARP between members), so no filtering is needed.
 *
 * One lab for the whole bench: 3 members measured, then grown to 8 and to 16
 * (lab grow, the members' own certificates) and measured again.
 *
 * Usage: node dist/bench/control-traffic.js [--seconds 10] [--mode unicast|multicast] [--sizes 3,8,16]
 */
import { DEFAULT_LAB_MODE, type LabMode } from '../src/lab/members.js';
import { SWITCH_BRIDGES } from '../src/lab/plan.js';
import { NodeCommandRunner } from '../src/ports/command-node.js';
import { growTo, flagValue, loadAverage1m, modeFrom, restart, round1, settled, sleep, wallNow, withLab, type BenchLab } from './lab-bench.js';
import { formatResult, saveResults, type BenchResult } from './result.js';

export interface ControlTrafficOptions {
  /** Length of each measurement. */
  seconds: number;
  /** Quiet time after the cluster settles, before measuring (the rebalance that settled it is still being acknowledged). */
  settleMs: number;
  mode: LabMode;
  /** Cluster sizes to measure, in increasing order (the lab grows between them). */
  sizes: number[];
}

export const CONTROL_TRAFFIC_DEFAULTS: ControlTrafficOptions = { seconds: 10, settleMs: 2000, mode: DEFAULT_LAB_MODE, sizes: [3, 8, 16] };

/** One switch port's counters. */
interface PortCounters {
  rxBytes: number;
  rxPackets: number;
  txBytes: number;
  txPackets: number;
}

interface LinkJson {
  ifname: string;
  stats64?: { rx: { bytes: number; packets: number }; tx: { bytes: number; packets: number } };
}

const runner = new NodeCommandRunner();

/** Counters of every member's interconnect port (c-m<i>) on the switch, by member number. */
async function interconnectCounters(l: BenchLab): Promise<Map<number, PortCounters>> {
  const r = await runner.run(['ip', '-n', `${l.prefix}sw`, '-s', '-j', 'link', 'show', 'master', SWITCH_BRIDGES.interconnect]);
  if (r.code !== 0) throw new Error(`ip -s link in the switch: ${r.stderr.trim()}`);
  const out = new Map<number, PortCounters>();
  for (const link of JSON.parse(r.stdout) as LinkJson[]) {
    const m = /^c-m(\d+)$/.exec(link.ifname);
    if (m === null || link.stats64 === undefined) continue;
    const s = link.stats64;
    out.set(Number(m[1]), { rxBytes: s.rx.bytes, rxPackets: s.rx.packets, txBytes: s.tx.bytes, txPackets: s.tx.packets });
  }
  return out;
}

interface Rates {
  seconds: number;
  /** Per member: what it sent, per second. */
  sent: Map<number, { bytes: number; packets: number }>;
  totalBytes: number;
  totalPackets: number;
  deliveredBytes: number;
  deliveredPackets: number;
}

function rates(before: Map<number, PortCounters>, after: Map<number, PortCounters>, seconds: number): Rates {
  const sent = new Map<number, { bytes: number; packets: number }>();
  let deliveredBytes = 0;
  let deliveredPackets = 0;
  for (const [i, a] of after) {
    const b = before.get(i) ?? { rxBytes: 0, rxPackets: 0, txBytes: 0, txPackets: 0 };
    sent.set(i, { bytes: (a.rxBytes - b.rxBytes) / seconds, packets: (a.rxPackets - b.rxPackets) / seconds });
    deliveredBytes += (a.txBytes - b.txBytes) / seconds;
    deliveredPackets += (a.txPackets - b.txPackets) / seconds;
  }
  const totals = [...sent.values()];
  return {
    seconds,
    sent,
    totalBytes: totals.reduce((x, s) => x + s.bytes, 0),
    totalPackets: totals.reduce((x, s) => x + s.packets, 0),
    deliveredBytes,
    deliveredPackets,
  };
}

/** Counters over `seconds`, from the instant `start` (if given) has run. */
async function measure(l: BenchLab, seconds: number, start?: () => Promise<void>): Promise<Rates> {
  const before = await interconnectCounters(l);
  const t0 = wallNow();
  await start?.();
  await sleep(seconds * 1000 - (wallNow() - t0));
  const after = await interconnectCounters(l);
  return rates(before, after, (wallNow() - t0) / 1000);
}

function figures(mode: LabMode, phase: string, size: number, master: number, r: Rates, killed: number | null, extra: Record<string, string | number>): BenchResult[] {
  const others = [...r.sent].filter(([i]) => i !== master && i !== killed);
  const perMember = others.reduce((x, [, s]) => x + s.bytes, 0) / Math.max(1, others.length);
  const conditions = {
    members: size,
    seconds: round1(r.seconds),
    masterBytesPerS: round1(r.sent.get(master)?.bytes ?? 0),
    // the mean over the live members other than the master
    memberBytesPerS: round1(perMember),
    perMember: [...r.sent].map(([i, s]) => `m${i}${i === master ? '*' : ''}=${Math.round(s.bytes)}B/${round1(s.packets)}p`).join(' '),
    deliveredBytesPerS: round1(r.deliveredBytes),
    deliveredPacketsPerS: round1(r.deliveredPackets),
    loadAverage1m: loadAverage1m(),
    ...extra,
  };
  return [
    { name: `control-traffic/${mode}/${size}-members/${phase}-bytes`, figure: round1(r.totalBytes), unit: 'bytes/s on the wire (all senders)', conditions },
    { name: `control-traffic/${mode}/${size}-members/${phase}-packets`, figure: round1(r.totalPackets), unit: 'packets/s on the wire (all senders)', conditions },
  ];
}

async function measureSize(l: BenchLab, o: ControlTrafficOptions): Promise<BenchResult[]> {
  const size = l.size;
  const cluster = await settled(l);
  await sleep(o.settleMs);
  const master = cluster.members.find((m) => m.role === 'master')?.member ?? 0;
  process.stderr.write(`control traffic: ${size} members, master m${master}: ${o.seconds} s steady…\n`);
  const steady = await measure(l, o.seconds);
  // The member with the highest number that is not the master: the last to join, like any other.
  const victim = Math.max(...cluster.members.map((m) => m.member).filter((i) => i !== master));
  process.stderr.write(`control traffic: ${size} members: kill m${victim}, ${o.seconds} s…\n`);
  const afterKill = await measure(l, o.seconds, async () => {
    await l.members.kill(l.name, victim, 'SIGKILL');
  });
  await restart(l, victim);
  return [...figures(o.mode, 'steady', size, master, steady, null, {}), ...figures(o.mode, 'after-kill', size, master, afterKill, victim, { killed: `m${victim}` })];
}

export async function run(options: Partial<ControlTrafficOptions> = {}): Promise<BenchResult[]> {
  const o = { ...CONTROL_TRAFFIC_DEFAULTS, ...options };
  const [first, ...more] = o.sizes;
  if (first === undefined) return [];
  return withLab({ tag: 'bc', members: first, clientAddresses: 0, mode: o.mode }, async (l) => {
    const out = await measureSize(l, o);
    for (const size of more) {
      process.stderr.write(`control traffic: growing the lab to ${size} members…\n`);
      await growTo(l, size);
      out.push(...(await measureSize(l, o)));
    }
    return out;
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const argv = process.argv.slice(2);
  const t0 = wallNow();
  const sizes = flagValue(argv, '--sizes')?.split(',').map(Number) ?? CONTROL_TRAFFIC_DEFAULTS.sizes;
  const results = await run({ seconds: Number(flagValue(argv, '--seconds') ?? CONTROL_TRAFFIC_DEFAULTS.seconds), mode: modeFrom(argv, CONTROL_TRAFFIC_DEFAULTS.mode), sizes });
  for (const r of results) console.log(formatResult(r));
  console.log(`control traffic: ${((wallNow() - t0) / 1000).toFixed(0)} s; wrote ${saveResults(results)}`);
}
