/**
 * The config version in the membership rule, with real `shoal run` daemons
 * (control plane only: no "outer"/"inner" sections) in network namespaces on
 * a bridged interconnect (198.18.3.0/24), over UDP multicast:
 * - members 1 and 2 run version 2; members 3 and 4 start at version 1, are
 *   told to leave with that reason (their log, `shoal status --json`) and
 *   serve nothing; member 3's file is then rewritten at version 2 and member
 *   4's is committed with `shoal config set` + `commit`: both rejoin in the
 *   same process and get units;
 * - member 5 runs alone (a cluster of its own): `shoal config set log.level
 *   debug` + `commit` restarts it at the next version, logging at debug.
 * Runs as root (CI does); a missing privilege fails.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { askMember } from '../../src/mgmt/admin/client.js';
import type { StatusView, UnitsView } from '../../src/mgmt/admin/views.js';
import { writeDevMembers } from '../support/dev-members.js';
import { deleteNamespaces, interconnect, listNamespaces, runPrefix, sh, spawnIn } from '../support/netns.js';

const MEMBERS = 5;
const CLI = join(process.cwd(), 'dist/src/mgmt/cli/main.js');
const prefix = runPrefix('cv');
const dir = mkdtempSync(join(tmpdir(), 'shoal-cv-'));
const procs = new Map<number, ChildProcess>();
const logs = new Map<number, string[]>();
const socket = (i: number): string => join(dir, `m${i}.sock`);
let configs: string[] = [];
const configOf = (i: number): string => configs[i - 1] ?? '';

/** The versions each member starts with; member 5 is alone in a cluster of its own. */
const START_VERSION: Record<number, number> = { 1: 2, 2: 2, 3: 1, 4: 1, 5: 1 };

async function status(i: number): Promise<StatusView | null> {
  try {
    return (await askMember(socket(i), 'status', 1000)) as StatusView;
  } catch {
    return null;
  }
}

async function served(i: number): Promise<number[] | null> {
  try {
    return ((await askMember(socket(i), 'units', 1000)) as UnitsView).served;
  } catch {
    return null;
  }
}

/** Every JSON log line member i wrote so far, parsed. */
function logLines(i: number): Record<string, unknown>[] {
  return (logs.get(i) ?? [])
    .join('')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function waitFor(what: string, ok: () => Promise<boolean>, ms: number): Promise<number> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (await ok()) return Date.now() - t0;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}\n${[...logs].map(([i, l]) => `--- m${i}\n${l.join('').slice(-3000)}`).join('\n')}`);
}

/** The built CLI, run as an operator would (from the root namespace: the admin sockets are files). */
function cli(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { timeout: 30_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ status: code, stdout, stderr }));
  });
}

function start(ns: (i: number) => string, i: number): void {
  logs.set(i, []);
  procs.set(i, spawnIn(ns(i), [process.execPath, CLI, 'run', '--config', configOf(i)], (l) => logs.get(i)?.push(l)));
}

let ns: (i: number) => string = () => '';

beforeAll(async () => {
  sh(['test', '-f', CLI]); // dist is built by `npm test` before vitest
  const net = interconnect(prefix, MEMBERS);
  ns = net.ns;
  configs = await writeDevMembers(dir, MEMBERS, net.address(1), (i, pem) => ({
    cluster: { name: i === 5 ? `alone-${prefix}` : `cv-${prefix}`, configVersion: START_VERSION[i] },
    member: { address: net.address(i), certificate: pem.certificate, key: pem.key },
    trust: { ca: [pem.ca] },
    interconnect: { group: '239.255.83.72', port: i === 5 ? 5401 : 5400 },
    admin: { socket: socket(i) },
    log: { level: 'info' },
  }));
  for (const i of [1, 2, 5]) start(ns, i);
});

afterAll(() => {
  for (const child of procs.values()) if (child.exitCode === null) child.kill('SIGKILL');
  deleteNamespaces(prefix);
  rmSync(dir, { recursive: true, force: true });
  expect(listNamespaces(prefix)).toEqual([]);
});

describe('a member whose config version differs from the master’s', () => {
  it('is told to leave with that reason, in its log and `shoal status --json`, and serves no unit', async () => {
    await waitFor('members 1 and 2 in one cluster', async () => (await Promise.all([1, 2].map(status))).every((s) => s?.members === 2), 8000);
    start(ns, 3);
    start(ns, 4);
    await waitFor('members 3 and 4 excluded', async () => (await Promise.all([3, 4].map(status))).every((s) => s?.role === 'excluded'), 8000);

    for (const i of [3, 4]) {
      const mismatch = logLines(i).filter((l) => l['event'] === 'config-version-mismatch');
      expect(mismatch).toHaveLength(1);
      expect(mismatch[0]).toMatchObject({ level: 'error', configVersion: 1, masterConfigVersion: 2, reason: "config version 1 differs from the master's 2" });
      const out = await cli('status', '--socket', socket(i), '--json');
      expect(out.status).toBe(0);
      const s = JSON.parse(out.stdout) as StatusView;
      expect(s).toMatchObject({ role: 'excluded', excluded: "config version 1 differs from the master's 2", configVersion: 1, servedUnits: 0 });
      const human = await cli('status', '--socket', socket(i));
      expect(human.stdout).toContain("excluded: config version 1 differs from the master's 2");
    }
    // Watched for a while (past a rebalance): they never serve, and the other two serve every unit.
    const t0 = Date.now();
    while (Date.now() - t0 < 2500) {
      expect(await served(3)).toEqual([]);
      expect(await served(4)).toEqual([]);
      await new Promise((r) => setTimeout(r, 250));
    }
    const two = await Promise.all([1, 2].map(served));
    expect(new Set(two.flatMap((u) => u ?? [])).size).toBe(1024);
    for (const i of [3, 4]) expect(logLines(i).filter((l) => l['event'] === 'config-version-mismatch')).toHaveLength(1); // no flapping
  });

  it('rejoins and gets units once its file is updated (rewritten, or with `shoal config set` + `commit`), in the same process', async () => {
    const pids = [3, 4].map((i) => procs.get(i)?.pid);
    // Member 3: the file rewritten at the master's version; the supervisor sees it within a second.
    const doc = JSON.parse(readFileSync(configOf(3), 'utf8')) as { cluster: { configVersion: number } };
    doc.cluster.configVersion = 2;
    writeFileSync(configOf(3), JSON.stringify(doc, null, 2));
    // Member 4: through the config store; the commit bumps 1 → 2 and asks the member to reload.
    expect((await cli('config', 'set', 'log.level', 'debug', '--config', configOf(4))).status).toBe(0);
    const commit = await cli('config', 'commit', '--config', configOf(4), '--json');
    expect(commit.status, commit.stderr).toBe(0);
    expect(JSON.parse(commit.stdout)).toMatchObject({ configVersion: 2, previousVersion: 1, reload: { answered: true, changed: true, configVersion: 2 } });

    const took = await waitFor(
      'members 3 and 4 back in the cluster with units',
      async () => {
        const s = await Promise.all([1, 2, 3, 4].map(status));
        const units = await Promise.all([3, 4].map(served));
        return s.every((x) => x?.members === 4 && x.excluded === null) && units.every((u) => (u?.length ?? 0) > 0);
      },
      10_000,
    );
    console.log(`updated members rejoined and got units ${took} ms after the update`);
    for (const i of [3, 4]) {
      const s = await status(i);
      expect(s).toMatchObject({ configVersion: 2, excluded: null, role: 'member' });
      expect(logLines(i).some((l) => l['event'] === 'restarting')).toBe(true);
    }
    // The same processes, restarted in place.
    expect([3, 4].map((i) => procs.get(i)?.pid)).toEqual(pids);
    expect([3, 4].map((i) => procs.get(i)?.exitCode)).toEqual([null, null]);
    const all = await Promise.all([1, 2, 3, 4].map(served));
    const flat = all.flatMap((u) => u ?? []);
    expect(flat.length).toBe(1024);
    expect(new Set(flat).size).toBe(1024);
  });
});

describe('a config change committed on a single member', () => {
  it('`shoal config set log.level debug` + `commit`: status shows the new version and the member logs at debug', async () => {
    await waitFor('member 5 master of its own cluster', async () => (await status(5))?.role === 'master', 8000);
    expect(logLines(5).some((l) => l['level'] === 'debug')).toBe(false);
    expect((await cli('config', 'set', 'log.level', 'debug', '--config', configOf(5))).status).toBe(0);
    const diff = await cli('config', 'diff', '--config', configOf(5));
    expect(diff.stdout).toBe('~ log.level: "info" → "debug"\n');
    const commit = await cli('config', 'commit', '--config', configOf(5));
    expect(commit.status, commit.stderr).toBe(0);
    expect(commit.stdout).toContain('committed configuration version 2');
    await waitFor('member 5 running version 2', async () => (await status(5))?.configVersion === 2 && (await status(5))?.role === 'master', 8000);
    await waitFor('a debug line in member 5’s log', async () => logLines(5).some((l) => l['level'] === 'debug'), 5000);
    const human = await cli('status', '--socket', socket(5));
    expect(human.stdout).toContain('config version 2');
  });
});
