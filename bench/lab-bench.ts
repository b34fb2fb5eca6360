/**
 * What the lab benchmarks (failover.ts, control-traffic.ts) share: one
 * namespace lab of member daemons for the whole bench, built and waited for
 * once and always taken down at the end — after an error, and on SIGINT or
 * SIGTERM too — plus the small measuring helpers they both need.
 *
 * The lab is named `<tag><pid><random>` so its namespaces (`shl-<name>-…`)
 * never meet another run's; `lab.down` stops only the daemons it recorded and
 * deletes only its own namespaces.
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { NamespaceLab } from '../src/lab/lab.js';
import { parseLabMode, type ClusterReport, type LabMembers, type LabMode } from '../src/lab/members.js';
import { labPrefix } from '../src/lab/plan.js';
import { NodeCommandRunner } from '../src/ports/command-node.js';

/** Forming plus the master's first rebalance (every 2 s) fits well inside this, even on a loaded machine. */
export const CLUSTER_TIMEOUT_MS = 30_000;

export interface LabBenchOptions {
  /** A few lower-case letters naming the bench in the lab name. */
  tag: string;
  members: number;
  clientAddresses: number;
  mode: LabMode;
}

/** The running lab a bench body works with. */
export interface BenchLab {
  name: string;
  /** `shl-<name>-`: the lab's namespaces. */
  prefix: string;
  lab: NamespaceLab;
  members: LabMembers;
  mode: LabMode;
  /** How many member daemons should be running now (grows with addMember). */
  size: number;
  /** Run `fn` before the lab goes down (a helper process the body started); removed by calling the returned function. */
  onCleanup(fn: () => void): () => void;
}

/** Wall-clock milliseconds with sub-millisecond resolution: comparable across processes (the daemons' log times). */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  if (s.length === 0) return NaN;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function worst(xs: readonly number[]): number {
  return xs.length === 0 ? NaN : Math.max(...xs);
}

/** One decimal: figures in ms and bytes/s do not need more. */
export function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

export function loadAverage1m(): number {
  return Math.round(loadavg()[0]! * 100) / 100;
}

/** `--name value` from argv, or undefined. */
export function flagValue(argv: readonly string[], flag: string): string | undefined {
  const k = argv.indexOf(flag);
  return k >= 0 ? argv[k + 1] : undefined;
}

export function modeFrom(argv: readonly string[], fallback: LabMode): LabMode {
  const m = flagValue(argv, '--mode');
  return m === undefined ? fallback : parseLabMode(m);
}

/** Start member-i's daemon (configured for the lab's mode). */
async function startMember(l: BenchLab, i: number): Promise<void> {
  await l.members.writeConfig(l.name, i, l.mode);
  await l.members.start(l.name, i);
}

/** Wait until the lab's running daemons are one cluster with every unit served once and loads even. */
export async function settled(l: BenchLab): Promise<ClusterReport> {
  return l.members.waitForCluster(l.name, l.size, CLUSTER_TIMEOUT_MS, { balanced: true });
}

/** Bring a killed member back (same configuration, new incarnation) and wait for one settled cluster. */
export async function restart(l: BenchLab, i: number): Promise<ClusterReport> {
  await l.members.start(l.name, i);
  return settled(l);
}

/** Grow the lab to `size` members (lab grow: namespaces and links; certificates; daemons) and wait for one settled cluster. */
export async function growTo(l: BenchLab, size: number): Promise<ClusterReport> {
  const first = l.size + 1;
  while (l.size < size) l.size = (await l.lab.grow(l.name)).member;
  await l.members.ensurePki(l.name, l.size);
  for (let i = first; i <= l.size; i++) await startMember(l, i);
  return settled(l);
}

/**
 * Build a lab, start its members, wait for one settled cluster, run `body`,
 * and take the lab down whatever happens. A signal while the body runs takes
 * the lab down and exits 128+signal.
 */
export async function withLab<T>(o: LabBenchOptions, body: (l: BenchLab) => Promise<T>): Promise<T> {
  const name = `${o.tag}${process.pid}${randomBytes(2).toString('hex')}`;
  const lab = new NamespaceLab({ runner: new NodeCommandRunner() });
  const cleanups = new Set<() => void>();
  let down: Promise<void> | null = null;
  const takeDown = (): Promise<void> =>
    (down ??= (async () => {
      for (const fn of cleanups) {
        try {
          fn();
        } catch {
          // already gone
        }
      }
      await lab.down(name).then(
        () => undefined,
        (e: unknown) => console.error(`lab '${name}' did not come down cleanly: ${e instanceof Error ? e.message : String(e)}`),
      );
    })());
  const onSignal = (signal: NodeJS.Signals): void => {
    console.error(`${signal}: taking lab '${name}' down`);
    void takeDown().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const l: BenchLab = {
    name,
    prefix: labPrefix(name),
    lab,
    members: lab.members,
    mode: o.mode,
    size: o.members,
    onCleanup(fn) {
      cleanups.add(fn);
      return () => cleanups.delete(fn);
    },
  };
  try {
    await lab.up({ name, members: o.members, clientAddresses: o.clientAddresses });
    await lab.members.ensurePki(name, o.members);
    for (let i = 1; i <= o.members; i++) await startMember(l, i);
    await settled(l);
    return await body(l);
  } finally {
    await takeDown();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

export { fileSize, logLinesSince, type LogLine } from '../src/lab/daemon-log.js';
