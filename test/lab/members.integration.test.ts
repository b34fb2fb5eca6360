/**
 * `shoal lab` for real, in process through buildProgram(): the lab is built,
 * three member daemons form a cluster and answer 1,000 UDP echo flows exactly
 * once; a killed member's units move to the survivors; a restarted and an
 * added member get units; a partition makes several masters and healing it
 * leaves one; `lab down` leaves no namespace, no daemon and no lab directory.
 * Runs as root (CI does); a missing privilege or tool (ip, nft) fails, never skips.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UNIT_COUNT } from '../../src/cluster/types.js';
import { parseNetnsList } from '../../src/lab/commands.js';
import { DEFAULT_STATE_DIR, memberAddCommands, NamespaceLab, type LabStatus } from '../../src/lab/lab.js';
import type { ClusterReport, MemberObservation, TrafficReport } from '../../src/lab/members.js';
import { labPrefix, planLab } from '../../src/lab/plan.js';
import { NodeCommandRunner } from '../../src/ports/command-node.js';
import { shoal } from '../support/cli-in-process.js';

const runner = new NodeCommandRunner();
const NAME = `mt${process.pid % 100000}${randomBytes(2).toString('hex')}`;
const PREFIX = labPrefix(NAME);
const LAB_DIR = join(DEFAULT_STATE_DIR, NAME);
const lab = new NamespaceLab({ runner });
const members = lab.members;

/** Every daemon PID the lab recorded, with the start time it recorded (so a reused PID is never signalled). */
const recorded = new Map<number, string>();

async function sh(...argv: string[]): Promise<string> {
  const r = await runner.run(argv);
  if (r.code !== 0) throw new Error(`${argv.join(' ')}: exit ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

async function labNamespaces(): Promise<string[]> {
  return parseNetnsList(await sh('ip', 'netns', 'list')).filter((n) => n.startsWith(PREFIX));
}

/** The start time of a live (not zombie) process, from /proc/<pid>/stat; null when it has exited. */
function startTime(pid: number): string | null {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
    return fields[0] === 'Z' || fields[0] === 'X' ? null : (fields[19] ?? null);
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  return startTime(pid) !== null;
}

function record(): void {
  for (let i = 1; i <= 8; i++) {
    const d = members.daemon(NAME, i);
    if (d.pid !== null && d.running) recorded.set(d.pid, readFileSync(members.files(NAME, i).start, 'utf8').trim());
  }
}

/** Poll the running members until `done` holds; the milliseconds it took. */
async function until(what: string, timeoutMs: number, done: (obs: MemberObservation[]) => boolean): Promise<number> {
  const t0 = performance.now();
  let last: MemberObservation[] = [];
  for (;;) {
    last = await members.observe(NAME, 300);
    if (done(last)) return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs)
      throw new Error(`${what}: not within ${timeoutMs} ms; last: ${last.map((o) => `m${o.member} ${o.status?.role ?? '-'} ${o.units?.served.length ?? '-'}`).join(', ')}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function servedOnce(obs: MemberObservation[]): boolean {
  const served = obs.flatMap((o) => o.units?.served ?? []);
  return obs.every((o) => o.units !== null) && served.length === UNIT_COUNT && new Set(served).size === UNIT_COUNT;
}

function masters(obs: MemberObservation[]): number {
  return obs.filter((o) => o.status?.role === 'master').length;
}

describe(`shoal lab '${NAME}' with member daemons (real namespaces, as root)`, () => {
  beforeAll(async () => {
    expect(process.geteuid?.(), 'the lab member test must run as root').toBe(0);
    await sh('ip', '-V');
    await sh('nft', '--version');
    expect(existsSync(members.distFile('src/mgmt/cli/main.js'))).toBe(true);
    expect(await labNamespaces()).toEqual([]);
  });

  afterAll(async () => {
    record();
    await lab.down(NAME).catch(() => undefined);
    for (const [pid, started] of recorded) if (startTime(pid) === started) process.kill(pid, 'SIGKILL');
    for (const n of await labNamespaces()) await runner.run(['ip', 'netns', 'del', n]);
  });

  it('bare `shoal lab` builds the lab, forms a cluster of 3 and answers every UDP flow exactly once', async () => {
    const t0 = performance.now();
    const r = await shoal('lab', '--name', NAME, '--json');
    record();
    const report = JSON.parse(r.stdout) as { cluster: ClusterReport; traffic: TrafficReport; started: { member: number; pid: number }[] };
    expect(r.exitCode ?? 0).toBe(0);
    expect(report.started.map((s) => s.member)).toEqual([1, 2, 3]);
    const c = report.cluster;
    expect(c.members).toHaveLength(3);
    expect(c.members.filter((m) => m.role === 'master')).toHaveLength(1);
    expect(c.members.every((m) => m.master === c.master)).toBe(true);
    expect(c.members.reduce((a, m) => a + m.units, 0)).toBe(UNIT_COUNT);
    const t = report.traffic;
    expect({ flows: t.flows, answeredOnce: t.answeredOnce, missing: t.missing, duplicated: t.duplicated }).toEqual({
      flows: 1000,
      answeredOnce: 1000,
      missing: 0,
      duplicated: 0,
    });
    expect(t.perMember.reduce((a, m) => a + m.answered, 0)).toBe(1000);

    const s = JSON.parse((await shoal('lab', 'status', '--name', NAME, '--json')).stdout) as LabStatus;
    const m2 = s.nodes.find((n) => n.node === 'm2');
    expect(m2?.daemon).toEqual({ pid: report.started[1]?.pid, running: true });
    expect(m2?.certificates).toEqual({ ca: join(LAB_DIR, 'pki', 'ca.pem'), certificate: join(LAB_DIR, 'pki', 'm2.pem'), key: join(LAB_DIR, 'pki', 'm2.key') });
    expect(s.nodes.find((n) => n.node === 'cl')).toMatchObject({ daemon: null, certificates: null });
    console.log(`lab: ${s.members} members up, cluster and 1,000 flows in ${((performance.now() - t0) / 1000).toFixed(1)} s; median ${t.medianMs?.toFixed(1)} ms`);
  });

  it('lab kill m2: the survivors serve every unit within 1.5 s', async () => {
    const pid = members.daemon(NAME, 2).pid;
    await shoal('lab', 'kill', '--name', NAME, 'm2');
    expect(pid !== null && alive(pid)).toBe(false);
    expect(members.daemon(NAME, 2)).toMatchObject({ pid, running: false });
    const ms = await until('survivors serve all units', 1500, (obs) => obs.length === 2 && servedOnce(obs));
    console.log(`kill m2: all units served by m1 and m3 ${ms.toFixed(0)} ms after the kill returned`);
  });

  it('lab start m2 brings it back, and lab add brings a 4th member that gets units', async () => {
    const started = await shoal('lab', 'start', '--name', NAME, 'm2', '--json');
    record();
    expect((JSON.parse(started.stdout) as { cluster: ClusterReport }).cluster.members.find((m) => m.member === 2)?.units).toBeGreaterThan(0);
    const t0 = performance.now();
    const r = await shoal('lab', 'add', '--name', NAME, '--json');
    record();
    const added = JSON.parse(r.stdout) as { member: number; cluster: ClusterReport };
    expect(added.member).toBe(4);
    expect(added.cluster.members).toHaveLength(4);
    expect(added.cluster.members.find((m) => m.member === 4)?.units).toBeGreaterThan(0);
    expect(await labNamespaces()).toContain(`${PREFIX}m4`);
    expect((await lab.status(NAME)).members).toBe(4);
    console.log(`add: m4 joined and got units in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  });

  it('lab partition makes several masters; lab heal leaves one cluster again', async () => {
    await shoal('lab', 'partition', '--name', NAME);
    const cut = await until('a master on each side of the cut', 2000, (obs) => masters(obs) >= 2);
    const t0 = performance.now();
    await shoal('lab', 'heal', '--name', NAME);
    const healed = await members.waitForCluster(NAME, 4, 10_000);
    expect(healed.members.filter((m) => m.role === 'master')).toHaveLength(1);
    console.log(`partition: ≥2 masters after ${cut.toFixed(0)} ms; heal: one cluster of 4 after ${(performance.now() - t0).toFixed(0)} ms`);
  });

  it('lab down stops every daemon and leaves no namespace and no lab directory', async () => {
    record();
    expect(recorded.size).toBe(5); // m1, m2 twice, m3, m4
    const r = await shoal('lab', 'down', '--name', NAME, '--json');
    const down = JSON.parse(r.stdout) as { stoppedDaemons: { member: number }[]; removedLabDir: boolean };
    expect(down.stoppedDaemons.map((d) => d.member)).toEqual([1, 2, 3, 4]);
    expect(down.removedLabDir).toBe(true);
    expect(await labNamespaces()).toEqual([]);
    expect([...recorded.keys()].filter(alive)).toEqual([]);
    expect(existsSync(LAB_DIR)).toBe(false);
    expect(existsSync(join(DEFAULT_STATE_DIR, `${NAME}.json`))).toBe(false);
  });
});

describe('memberAddCommands (what `lab add` runs)', () => {
  it('makes only the new member: its namespace, its settings, its links from the switch, its own devices', () => {
    const steps = memberAddCommands(planLab({ name: 'grow', members: 4, clientAddresses: 10 }), 4);
    expect(steps.map((s) => [s.phase, s.argv.join(' ')])).toEqual([
      [0, 'ip -batch -'],
      [1, 'ip netns exec shl-grow-m4 sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1'],
      [2, 'ip -n shl-grow-sw -batch -'],
      [3, 'ip -n shl-grow-m4 -batch -'],
    ]);
    expect(steps[0]?.input).toBe('netns add shl-grow-m4\n');
    expect(steps[2]?.input?.trim().split('\n')).toEqual([
      'link add o-m4 type veth peer name o0 netns shl-grow-m4',
      'link add i-m4 type veth peer name i0 netns shl-grow-m4',
      'link add c-m4 type veth peer name ic0 netns shl-grow-m4',
      'link set o-m4 master out',
      'link set i-m4 master in',
      'link set c-m4 master ic',
      'link set o-m4 up',
      'link set i-m4 up',
      'link set c-m4 up',
    ]);
    expect(steps[3]?.input).toMatch(/address add 198\.18\.3\.14\/24 dev ic0/);
    expect(steps.map((s) => s.input ?? '').join('')).not.toMatch(/m[1-3]\b|shl-grow-(rt|cl|ap)/);
  });
});
