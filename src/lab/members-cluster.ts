/**
 * What the lab does with its running member daemons as a cluster: ask each
 * for its status and units (over its admin socket), wait until they form one
 * settled cluster, and send UDP echo flows from the client namespace to the
 * cluster address to see each flow answered exactly once.
 *
 * A daemon that has exited while the lab waits fails the wait at once, with
 * the last line of its log, rather than letting it run into the timeout.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { UNIT_COUNT } from '../cluster/types.js';
import { ShoalError } from '../lib/errors.js';
import { askMember } from '../mgmt/admin/client.js';
import type { StatusView, UnitsView } from '../mgmt/admin/views.js';
import type { CommandRunner } from '../ports/command.js';
import type { MemberLayout } from './members-files.js';
import { daemonStates, runningDaemons } from './members-process.js';
import { CLUSTER, LAB_ADDRESSES, labPrefix, memberAddress } from './plan.js';
import type { FlowResult } from './udp-flows.js';

const ECHO_PORT = 7;

export interface ClusterMemberRow {
  member: number;
  address: string;
  pid: number | null;
  role: string;
  master: string | null;
  units: number;
}

export interface ClusterReport {
  master: string;
  members: ClusterMemberRow[];
  elapsedMs: number;
}

/** One poll of every running member's admin socket (null where it did not answer). */
export interface MemberObservation {
  member: number;
  pid: number | null;
  status: (StatusView & { dataPlane?: Record<string, number> | null }) | null;
  units: UnitsView | null;
}

export interface TrafficReport {
  target: string;
  port: number;
  firstSource: string;
  addresses: number;
  portsPerAddress: number;
  flows: number;
  answeredOnce: number;
  missing: number;
  duplicated: number;
  /** Of the answered flows, the median milliseconds to the first echo. */
  medianMs: number | null;
  elapsedMs: number;
  /** Echoes each member sent during the demo (its `udp-7` counter's growth). */
  perMember: { member: number; address: string; answered: number }[];
}

export interface TrafficOptions {
  /** First client source address; default the client's first extra address. */
  firstSource?: string;
  addresses: number;
  portsPerAddress: number;
  /** How long the flows wait for echoes; default 2000 ms. */
  waitMs?: number;
}

export interface WaitOptions {
  /** Also wait until the loads differ by at most one unit (after the master's first rebalance). */
  balanced?: boolean;
}

/** How trafficDemo runs the flows script: the runner, the node binary, and the script (asked when needed). */
export interface TrafficRunner {
  runner: CommandRunner;
  nodePath: string;
  script: () => string;
}

/** Ask every running member for its status and units, at once. */
export async function observeMembers(layout: MemberLayout, name: string, timeoutMs: number): Promise<MemberObservation[]> {
  const alive = await runningDaemons(layout, name);
  return Promise.all(
    alive.map(async (d) => {
      const socket = layout.files(name, d.member).socket;
      const [status, units] = await Promise.all([
        askMember(socket, 'status', timeoutMs).then((r) => r as MemberObservation['status'], () => null),
        askMember(socket, 'units', timeoutMs).then((r) => r as UnitsView, () => null),
      ]);
      return { member: d.member, pid: d.pid, status, units };
    }),
  );
}

/**
 * Poll the running members until `expected` of them answer, exactly one is
 * master and all name it, each counts `expected` members, and every unit is
 * served by exactly one of them (with `balanced`, also evenly).
 */
export async function waitForCluster(layout: MemberLayout, name: string, expected: number, timeoutMs: number, options: WaitOptions): Promise<ClusterReport> {
  const t0 = performance.now();
  let last: MemberObservation[] = [];
  for (;;) {
    last = await observeMembers(layout, name, 500);
    const why = clusterProblem(last, expected, options.balanced === true);
    if (why === null) {
      const master = last.find((o) => o.status?.role === 'master')?.status?.self ?? '';
      return {
        master,
        elapsedMs: performance.now() - t0,
        members: last.map((o) => ({
          member: o.member,
          address: o.status?.self ?? memberAddress(o.member),
          pid: o.pid,
          role: o.status?.role ?? 'unknown',
          master: o.status?.master ?? null,
          units: o.units?.served.length ?? 0,
        })),
      };
    }
    if (last.length < expected) {
      const dead = (await daemonStates(layout, name)).filter((d) => !d.running);
      throw new ShoalError(
        'LAB_MEMBER_DIED',
        `lab '${name}': ${last.length} of ${expected} member daemons run; ${dead.map((d) => `m${d.member} exited (${logTail(layout, name, d.member)})`).join('; ') || 'none started'}`,
      );
    }
    if (performance.now() - t0 > timeoutMs)
      throw new ShoalError(
        'LAB_CLUSTER_TIMEOUT',
        `lab '${name}': no cluster of ${expected} after ${timeoutMs} ms: ${why}; now ${describe(last)}; logs in ${layout.labDir(name)}/m<i>.log`,
      );
    await sleep(50);
  }
}

/** UDP echo flows from the client namespace to the cluster address; counts what came back. */
export async function trafficDemo(layout: MemberLayout, run: TrafficRunner, name: string, o: TrafficOptions): Promise<TrafficReport> {
  const t0 = performance.now();
  const firstSource = o.firstSource ?? LAB_ADDRESSES.clientExtraFirst;
  const waitMs = o.waitMs ?? 2000;
  const script = run.script();
  const before = await observeMembers(layout, name, 500);
  const argv = [
    'ip', 'netns', 'exec', `${labPrefix(name)}cl`,
    // One socket per flow: raise the descriptor limit for this process only (as far as allowed).
    'sh', '-c', 'ulimit -n 16384 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"', 'sh',
    run.nodePath, script, CLUSTER.outsideAddress, String(ECHO_PORT), firstSource, String(o.addresses), String(o.portsPerAddress), String(waitMs),
  ];
  const r = await run.runner.run(argv);
  if (r.code !== 0) throw new ShoalError('LAB_TRAFFIC_FAILED', `the UDP flows in the client namespace failed (exit ${r.code}): ${r.stderr.trim().split('\n').slice(-2).join('; ')}`);
  let flows: FlowResult[];
  try {
    flows = (JSON.parse(r.stdout) as { flows: FlowResult[] }).flows;
  } catch {
    throw new ShoalError('LAB_TRAFFIC_FAILED', 'the UDP flows printed no result');
  }
  const after = await observeMembers(layout, name, 500);
  const echoes = (obs: MemberObservation[], i: number): number => obs.find((x) => x.member === i)?.status?.dataPlane?.[`udp-${ECHO_PORT}`] ?? 0;
  const times = flows.flatMap((f) => (f.ms === null ? [] : [f.ms])).sort((a, b) => a - b);
  return {
    target: CLUSTER.outsideAddress,
    port: ECHO_PORT,
    firstSource,
    addresses: o.addresses,
    portsPerAddress: o.portsPerAddress,
    flows: flows.length,
    answeredOnce: flows.filter((f) => f.replies === 1).length,
    missing: flows.filter((f) => f.replies === 0).length,
    duplicated: flows.filter((f) => f.replies > 1).length,
    medianMs: times.length === 0 ? null : (times[times.length >> 1] ?? null),
    elapsedMs: performance.now() - t0,
    perMember: after.map((x) => ({ member: x.member, address: memberAddress(x.member), answered: echoes(after, x.member) - echoes(before, x.member) })),
  };
}

/** Why `obs` is not yet one settled cluster of `expected`; null when it is. */
function clusterProblem(obs: readonly MemberObservation[], expected: number, balanced: boolean): string | null {
  if (obs.length !== expected) return `${obs.length} member daemons run, expected ${expected}`;
  const silent = obs.filter((o) => o.status === null || o.units === null);
  if (silent.length > 0) return `no answer from ${silent.map((o) => `m${o.member}`).join(' ')}`;
  const masters = obs.filter((o) => o.status?.role === 'master');
  if (masters.length !== 1) return `${masters.length} masters`;
  const master = masters[0]?.status?.self;
  if (obs.some((o) => o.status?.master !== master)) return 'members disagree on the master';
  if (obs.some((o) => o.status?.members !== expected)) return 'membership not complete';
  const counts = obs.map((o) => o.units?.served.length ?? 0);
  const served = new Set(obs.flatMap((o) => o.units?.served ?? []));
  if (served.size !== UNIT_COUNT || counts.reduce((a, b) => a + b, 0) !== UNIT_COUNT) return `${served.size} of ${UNIT_COUNT} units served, ${counts.reduce((a, b) => a + b, 0)} servings`;
  if (balanced && Math.max(...counts) - Math.min(...counts) > 1) return `loads not balanced yet (${counts.join('/')})`;
  return null;
}

function describe(obs: readonly MemberObservation[]): string {
  return obs.map((o) => `m${o.member} ${o.status?.role ?? 'silent'} ${o.units?.served.length ?? '?'} units`).join(', ') || 'no member runs';
}

function logTail(layout: MemberLayout, name: string, i: number): string {
  try {
    const lines = readFileSync(layout.files(name, i).log, 'utf8').trim().split('\n');
    return lines.at(-1)?.slice(0, 300) || 'empty log';
  } catch {
    return 'no log';
  }
}

