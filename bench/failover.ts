/**
 * Failover in the namespace lab, on the real member daemons: how long after a
 * SIGKILL the cluster notices (detection) and serves the killed member's
 * units again (restoration), for a non-master member and for the master;
 * median and worst of 20 runs each (root needed).
 *
 *   first one warm-up kill, not counted; then per run:
 *             one settled cluster (every unit served once, loads even)
 *             → 50 UDP echo flows from the client namespace whose units the victim owns,
 *               each sending every 5 ms (echo-probe.ts), until every flow is answered
 *             → SIGKILL the victim (t0) → the probe reports each flow's first echo to a
 *               request sent after t0 → the daemons' logs give the detection time
 *             → restart the victim (a new incarnation) and wait for one settled cluster
 *
 * Detection is read from the daemons' JSON logs (src/mgmt/log.ts, one file per
 * member in the lab directory): for a member, the master's `member-removed`
 * (why "watchdog expired", logged at warn); for the master, the first
 * survivor's `joining` (why "master watchdog expired", info). Restoration is
 * the first echo a flow of the victim gets for a request sent at least
 * KILL_MARGIN_MS after the kill (so the victim, still dying, cannot have
 * answered it), measured from the kill; "all flows" is when the last of them
 * got one. All times are wall-clock ms of the one machine, taken by different
 * processes.
 *
 * Usage: node dist/bench/failover.js [--runs 20] [--mode unicast|multicast] [--members 3] [--flows 50] [--interval-ms 5]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { classifyInbound } from '../src/cluster/filter.js';
import { DEFAULT_TIMING } from '../src/cluster/membership/config.js';
import { DEFAULT_LAB_MODE, type LabMode } from '../src/lab/members.js';
import { addressAfter, CLUSTER, LAB_ADDRESSES, memberAddress } from '../src/lab/plan.js';
import { parseIpv4 } from '../src/lib/ipv4.js';
import type { UnitsView } from '../src/mgmt/admin/views.js';
import { IP_PROTOCOL, encodeIpv4 } from '../src/wire/ipv4.js';
import { encodeUdp } from '../src/wire/udp.js';
import type { ProbeReady, ProbeResult } from './echo-probe.js';
import {
  fileSize,
  flagValue,
  loadAverage1m,
  logLinesSince,
  median,
  modeFrom,
  restart,
  round1,
  settled,
  sleep,
  wallNow,
  withLab,
  worst,
  type BenchLab,
  type LogLine,
} from './lab-bench.js';
import { formatResult, saveResults, type BenchResult } from './result.js';

export interface FailoverOptions {
  runs: number;
  mode: LabMode;
  members: number;
  /** Echo flows per run, each on a different unit of the victim. */
  flows: number;
  /** Each flow sends one datagram per interval. */
  intervalMs: number;
}

export const FAILOVER_DEFAULTS: FailoverOptions = { runs: 20, mode: DEFAULT_LAB_MODE, members: 3, flows: 50, intervalMs: 5 };

const ECHO_PORT = 7;
/** Client source addresses × ports to draw flows from: 2,000 flows land on ~86% of the units, plenty for 50 distinct units of a victim holding ~340. */
const CLIENT_ADDRESSES = 20;
const PORTS = 100;
const FIRST_PORT = 41000;
/** Requests sent this soon after the kill do not count: a SIGKILLed process may still run for an instant. */
const KILL_MARGIN_MS = 5;
/** The probe waits this long for every flow to be answered before the kill. */
const WARM_MS = 3000;
/** …and at most this long after it for every flow to be answered again. */
const RESTORE_MAX_MS = 10_000;
const PROBE_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'echo-probe.js');

type Kind = 'member' | 'master';

interface Flow {
  src: string;
  port: number;
  unit: number;
}

interface Sample {
  victim: number;
  detectionMs: number;
  restorationMs: number;
  /** When the last flow got its first echo again; null when some did not within RESTORE_MAX_MS. */
  allFlowsMs: number | null;
  /** Master kill: when a survivor became master. */
  electedMs: number | null;
  /** Keepalives per watchdog window at the time of the kill. */
  n: number;
  /** Echo flows probed (each on its own unit of the victim). */
  flows: number;
}

/** The unit of a client flow to the cluster address, by the real filter on the packet the client sends. */
function unitOfFlow(src: string, port: number): number {
  const srcIp = parseIpv4(src);
  const dst = parseIpv4(CLUSTER.outsideAddress);
  const udp = encodeUdp({ srcPort: port, dstPort: ECHO_PORT, payload: new Uint8Array(1) }, { src: srcIp, dst });
  const packet = encodeIpv4({
    header: { dscp: 0, ecn: 0, id: 1, dontFragment: false, moreFragments: false, fragmentOffset: 0, ttl: 64, protocol: IP_PROTOCOL.UDP, src: srcIp, dst, options: new Uint8Array(0) },
    payload: udp,
  });
  return classifyInbound(packet);
}

function candidateFlows(): Flow[] {
  const flows: Flow[] = [];
  for (let a = 0; a < CLIENT_ADDRESSES; a++) {
    const src = addressAfter(LAB_ADDRESSES.clientExtraFirst, a);
    for (let p = 0; p < PORTS; p++) flows.push({ src, port: FIRST_PORT + p, unit: unitOfFlow(src, FIRST_PORT + p) });
  }
  return flows;
}

/** Up to `count` flows, each on a different unit that `owner` holds in `owners`. */
function flowsOwnedBy(candidates: readonly Flow[], owners: readonly (string | null)[], owner: string, count: number): Flow[] {
  const picked: Flow[] = [];
  const units = new Set<number>();
  for (const f of candidates) {
    if (picked.length === count) break;
    if (owners[f.unit] !== owner || units.has(f.unit)) continue;
    units.add(f.unit);
    picked.push(f);
  }
  return picked;
}

/** The echo probe running in the client namespace, and its JSON lines. */
class Probe {
  private readonly lines: Interface;
  private readonly queue: string[] = [];
  private waiting: ((line: string | null) => void) | null = null;
  private closed = false;

  constructor(readonly child: ChildProcess) {
    if (child.stdout === null) throw new Error('probe: no stdout');
    this.lines = createInterface({ input: child.stdout });
    this.lines.on('line', (line) => this.push(line));
    this.lines.on('close', () => {
      this.closed = true;
      this.push(null);
    });
  }

  private push(line: string | null): void {
    const w = this.waiting;
    this.waiting = null;
    if (w !== null) w(line);
    else if (line !== null) this.queue.push(line);
  }

  async next<T>(what: string, timeoutMs: number): Promise<T> {
    const line =
      this.queue.shift() ??
      (this.closed
        ? null
        : await new Promise<string | null>((resolve) => {
            const timer = setTimeout(() => {
              this.waiting = null;
              resolve(null);
            }, timeoutMs);
            this.waiting = (l) => {
              clearTimeout(timer);
              resolve(l);
            };
          }));
    if (line === null) throw new Error(`echo probe: no ${what} (exit ${this.child.exitCode ?? 'pending'})`);
    return JSON.parse(line) as T;
  }

  tell(o: { killedAt: number }): void {
    this.child.stdin?.write(`${JSON.stringify(o)}\n`);
  }

  stop(): void {
    if (this.child.exitCode === null && this.child.pid !== undefined) this.child.kill('SIGKILL');
  }
}

function startProbe(l: BenchLab, flows: readonly Flow[], o: FailoverOptions): Probe {
  const argv = [
    'netns', 'exec', `${l.prefix}cl`, process.execPath, PROBE_SCRIPT,
    CLUSTER.outsideAddress, String(ECHO_PORT), String(o.intervalMs), String(WARM_MS), String(RESTORE_MAX_MS),
    ...flows.map((f) => `${f.src}:${f.port}`),
  ];
  // Not detached: a Ctrl-C reaches it with us; otherwise the lab's cleanup stops it by its PID.
  return new Probe(spawn('ip', argv, { stdio: ['pipe', 'pipe', 'inherit'] }));
}

/** The earliest log line matching `match` among `logs` (member → [file, offset before the kill]); polls until one appears. */
async function earliestEvent(logs: ReadonlyMap<number, [string, number]>, match: (l: LogLine) => boolean, timeoutMs: number): Promise<{ member: number; at: number } | null> {
  const t0 = wallNow();
  for (;;) {
    let best: { member: number; at: number } | null = null;
    for (const [member, [file, offset]] of logs) {
      for (const line of await logLinesSince(file, offset)) if (match(line) && (best === null || line.at < best.at)) best = { member, at: line.at };
    }
    if (best !== null || wallNow() - t0 > timeoutMs) return best;
    await sleep(20);
  }
}

/** One kill of `kind` (`label` names it in the progress lines and errors). */
async function killOnce(l: BenchLab, kind: Kind, label: string, candidates: readonly Flow[], o: FailoverOptions): Promise<Sample> {
  for (let attempt = 1; ; attempt++) {
    const cluster = await settled(l);
    const master = cluster.members.find((m) => m.role === 'master');
    if (master === undefined) throw new Error('settled cluster without a master');
    // Always the same non-master (the highest numbered): the member that takes over its units is then a
    // long-running process, as in a cluster that has been up. Alternating victims would make the taker the
    // member restarted in the previous run, which answers its new units tens of ms later than a warm one.
    const victim = kind === 'master' ? master.member : Math.max(...cluster.members.filter((m) => m !== master).map((m) => m.member));
    const survivors = cluster.members.map((m) => m.member).filter((i) => i !== victim);
    const seen = (await l.members.observe(l.name)).find((x) => x.member === master.member);
    const owners: UnitsView['owners'] = seen?.units?.owners ?? [];
    const flows = flowsOwnedBy(candidates, owners, memberAddress(victim), o.flows);
    if (flows.length === 0) throw new Error(`no client flow lands on a unit of m${victim}`);

    const probe = startProbe(l, flows, o);
    const forget = l.onCleanup(() => probe.stop());
    try {
      const ready = await probe.next<ProbeReady>('ready line', WARM_MS + 5000);
      if (!ready.ready) {
        if (attempt >= 3) throw new Error(`only ${ready.answered} of ${flows.length} flows of m${victim} answered before the kill, ${attempt} times`);
        process.stderr.write(`  ${label}: ${ready.answered}/${flows.length} flows answered before the kill; again\n`);
        continue;
      }
      const logs = new Map<number, [string, number]>();
      for (const m of cluster.members) {
        const file = l.members.files(l.name, m.member).log;
        logs.set(m.member, [file, await fileSize(file)]);
      }

      const killedAt = wallNow();
      await l.members.kill(l.name, victim, 'SIGKILL');
      probe.tell({ killedAt: killedAt + KILL_MARGIN_MS });
      const result = await probe.next<ProbeResult>('result', RESTORE_MAX_MS + 5000);

      const victimId = parseIpv4(memberAddress(victim));
      const survivorLogs = new Map([...logs].filter(([m]) => survivors.includes(m)));
      // The removed member's id is the event's `member` field today, which overwrites the logger's own
      // `member` (its address); look for the id in any field so a rename of either does not break this.
      const removed = (x: LogLine): boolean => x.event === 'member-removed' && Object.values(x.fields).includes(victimId);
      const detected =
        kind === 'member'
          ? await earliestEvent(new Map([[master.member, logs.get(master.member)!]]), removed, 10_000)
          : await earliestEvent(survivorLogs, (x) => x.event === 'joining' && x.fields.why === 'master watchdog expired', 10_000);
      if (detected === null) throw new Error(`${label}: no detection event in the logs of ${[...(kind === 'member' ? [master.member] : survivors)].map((m) => `m${m}`).join(' ')}`);
      const elected = kind === 'master' ? await earliestEvent(survivorLogs, (x) => x.event === 'became-master', 10_000) : null;

      const echoes = result.firstEcho.filter((t): t is number => t !== null);
      if (echoes.length === 0) throw new Error(`${label}: no flow of m${victim} answered within ${RESTORE_MAX_MS} ms of the kill`);
      const sample: Sample = {
        victim,
        detectionMs: detected.at - killedAt,
        restorationMs: Math.min(...echoes) - killedAt,
        allFlowsMs: echoes.length === result.firstEcho.length ? Math.max(...echoes) - killedAt : null,
        electedMs: elected === null ? null : elected.at - killedAt,
        n: seen?.status?.n ?? 0,
        flows: flows.length,
      };
      const t0 = wallNow();
      await restart(l, victim);
      process.stderr.write(
        `  ${label}: killed m${victim}; detection ${sample.detectionMs.toFixed(0)} ms` +
          `${sample.electedMs === null ? '' : `, new master ${sample.electedMs.toFixed(0)} ms`}, restoration ${sample.restorationMs.toFixed(0)} ms` +
          ` (all ${flows.length} flows ${sample.allFlowsMs?.toFixed(0) ?? `— only ${echoes.length}`} ms); back in ${((wallNow() - t0) / 1000).toFixed(1)} s\n`,
      );
      return sample;
    } finally {
      probe.stop();
      forget();
    }
  }
}

function figures(kind: Kind, samples: readonly Sample[], o: FailoverOptions): BenchResult[] {
  const detection = samples.map((s) => s.detectionMs);
  const restoration = samples.map((s) => s.restorationMs);
  const all = samples.flatMap((s) => (s.allFlowsMs === null ? [] : [s.allFlowsMs]));
  const elected = samples.flatMap((s) => (s.electedMs === null ? [] : [s.electedMs]));
  const conditions = {
    runs: samples.length,
    mode: o.mode,
    members: o.members,
    watchdog: `W=${DEFAULT_TIMING.watchdogMs}ms n=${[...new Set(samples.map((s) => s.n))].join('/')}`,
    loadAverage1m: loadAverage1m(),
  };
  const detectedBy = kind === 'member' ? "master's log: member-removed (watchdog expired)" : "first survivor's log: joining (master watchdog expired)";
  const flows = Math.min(...samples.map((s) => s.flows));
  const restoredBy = `first echo to a request sent ≥${KILL_MARGIN_MS} ms after SIGKILL, ${flows} flows on the victim's units, each every ${o.intervalMs} ms`;
  const restorationExtra = {
    allFlowsMedianMs: round1(median(all)),
    allFlowsWorstMs: round1(worst(all)),
    runsWithAllFlowsBack: all.length,
    ...(kind === 'master' ? { newMasterMedianMs: round1(median(elected)), newMasterWorstMs: round1(worst(elected)) } : {}),
  };
  return [
    { name: `failover/${o.mode}/${kind}-kill/detection-median`, figure: round1(median(detection)), unit: 'ms', conditions: { ...conditions, detectedBy } },
    { name: `failover/${o.mode}/${kind}-kill/detection-worst`, figure: round1(worst(detection)), unit: 'ms', conditions: { ...conditions, detectedBy } },
    { name: `failover/${o.mode}/${kind}-kill/restoration-median`, figure: round1(median(restoration)), unit: 'ms', conditions: { ...conditions, restoredBy, ...restorationExtra } },
    { name: `failover/${o.mode}/${kind}-kill/restoration-worst`, figure: round1(worst(restoration)), unit: 'ms', conditions: { ...conditions, restoredBy, ...restorationExtra } },
  ];
}

export async function run(options: Partial<FailoverOptions> = {}): Promise<BenchResult[]> {
  const o = { ...FAILOVER_DEFAULTS, ...options };
  const candidates = candidateFlows();
  return withLab({ tag: 'bf', members: o.members, clientAddresses: CLIENT_ADDRESSES, mode: o.mode }, async (l) => {
    const out: BenchResult[] = [];
    // One kill not counted: every daemon has only just started (cold JIT, empty neighbour caches),
    // and worst-of-20 would measure that rather than failover.
    process.stderr.write('failover: one warm-up kill (not counted)\n');
    await killOnce(l, 'member', 'warm-up', candidates, o);
    for (const kind of ['member', 'master'] as const) {
      process.stderr.write(`failover: ${o.runs} kills of the ${kind === 'master' ? 'master' : 'non-master members'} (lab ${l.name}, ${o.mode} mode)\n`);
      const samples: Sample[] = [];
      for (let r = 1; r <= o.runs; r++) samples.push(await killOnce(l, kind, `${kind} run ${String(r).padStart(2)}`, candidates, o));
      out.push(...figures(kind, samples, o));
    }
    return out;
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const argv = process.argv.slice(2);
  const num = (flag: string, fallback: number): number => Number(flagValue(argv, flag) ?? fallback);
  const t0 = wallNow();
  const results = await run({
    runs: num('--runs', FAILOVER_DEFAULTS.runs),
    members: num('--members', FAILOVER_DEFAULTS.members),
    mode: modeFrom(argv, FAILOVER_DEFAULTS.mode),
    flows: num('--flows', FAILOVER_DEFAULTS.flows),
    intervalMs: num('--interval-ms', FAILOVER_DEFAULTS.intervalMs),
  });
  for (const r of results) console.log(formatResult(r));
  console.log(`failover: ${((wallNow() - t0) / 1000).toFixed(0)} s; wrote ${saveResults(results)}`);
}
