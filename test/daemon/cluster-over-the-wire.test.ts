/**
 * Real members over a real wire: three `shoal run` daemons, each in its own
 * network namespace on a bridged interconnect (198.18.3.0/24), form one
 * cluster by UDP multicast, report it on their admin sockets, and survive a
 * SIGKILL of the master. Runs as root (CI does); a missing privilege fails.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { askMember } from '../../src/mgmt/admin/client.js';
import type { MemberView, StatusView, UnitsView } from '../../src/mgmt/admin/views.js';
import { writeDevMembers } from '../support/dev-members.js';
import { deleteNamespaces, interconnect, listNamespaces, runPrefix, sh, spawnIn } from '../support/netns.js';

const MEMBERS = 3;
const CLI = join(process.cwd(), 'dist/src/mgmt/cli/main.js');
const prefix = runPrefix('w');
const dir = mkdtempSync(join(tmpdir(), 'shoal-wire-'));
const procs = new Map<number, ChildProcess>();
const logs = new Map<number, string[]>();
const socket = (i: number): string => join(dir, `m${i}.sock`);

async function ask<T>(i: number, command: 'status' | 'members' | 'units'): Promise<T | null> {
  try {
    return (await askMember(socket(i), command, 1000)) as T;
  } catch {
    return null;
  }
}

async function waitFor(what: string, ok: () => Promise<boolean>, ms: number): Promise<number> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (await ok()) return Date.now() - t0;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}\n${[...logs].map(([i, l]) => `--- m${i}\n${l.join('').slice(-2000)}`).join('\n')}`);
}

async function statuses(ids: number[]): Promise<(StatusView | null)[]> {
  return Promise.all(ids.map((i) => ask<StatusView>(i, 'status')));
}

beforeAll(async () => {
  sh(['test', '-f', CLI]); // dist is built by `npm test` before vitest
  const net = interconnect(prefix, MEMBERS);
  const configs = await writeDevMembers(dir, MEMBERS, net.address(1), (i, pem) => ({
    cluster: { name: `wire-${prefix}`, configVersion: 1 },
    member: { address: net.address(i), certificate: pem.certificate, key: pem.key },
    trust: { ca: [pem.ca] },
    interconnect: { group: '239.255.83.72', port: 5400 },
    admin: { socket: socket(i) },
    log: { level: 'info' },
  }));
  configs.forEach((config, k) => {
    const i = k + 1;
    logs.set(i, []);
    const child = spawnIn(net.ns(i), [process.execPath, CLI, 'run', '--config', config], (l) => logs.get(i)?.push(l));
    procs.set(i, child);
  });
});

afterAll(() => {
  for (const child of procs.values()) if (child.exitCode === null) child.kill('SIGKILL');
  deleteNamespaces(prefix);
  rmSync(dir, { recursive: true, force: true });
  expect(listNamespaces(prefix)).toEqual([]);
});

describe('members in namespaces over UDP multicast', () => {
  let master = 0;

  it('form one cluster with one master, every member agreeing, every unit served once', async () => {
    const ids = [1, 2, 3];
    const took = await waitFor(
      'one master and three members everywhere',
      async () => {
        const s = await statuses(ids);
        return s.every((x) => x?.members === MEMBERS) && s.filter((x) => x?.role === 'master').length === 1;
      },
      5000,
    );
    console.log(`three daemons formed a cluster in ${took} ms`);
    const s = await statuses(ids);
    master = ids[s.findIndex((x) => x?.role === 'master')] ?? 0;
    for (const x of s) expect(x?.master).toBe(s.find((y) => y?.role === 'master')?.self);
    await waitFor(
      'every unit served exactly once, evenly',
      async () => {
        const units = await Promise.all(ids.map((i) => ask<UnitsView>(i, 'units')));
        const served = units.flatMap((u) => u?.served ?? []);
        const counts = units.map((u) => u?.served.length ?? 0);
        return served.length === 1024 && new Set(served).size === 1024 && Math.max(...counts) - Math.min(...counts) <= 1;
      },
      5000,
    );
    const members = await ask<MemberView[]>(master, 'members');
    expect(members?.map((m) => m.role).sort()).toEqual(['master', 'member', 'member']);
    // The built-in demo application heard of it through the hooks and logged it.
    for (const i of ids) {
      const events = (logs.get(i) ?? []).join('').split('\n').filter((l) => l.includes('"demo.'));
      const parsed = events.map((l) => JSON.parse(l) as { event: string; count?: number; added?: string[] });
      expect(parsed.some((e) => e.event === 'demo.gained' && (e.count ?? 0) > 0), `m${i} logged no demo.gained`).toBe(true);
      expect(parsed.some((e) => e.event === 'demo.members' && (e.added ?? []).length > 0), `m${i} logged no demo.members`).toBe(true);
    }
  });

  it('elect a new master and serve every unit again after the master is SIGKILLed', async () => {
    const survivors = [1, 2, 3].filter((i) => i !== master);
    const before = await Promise.all(survivors.map((i) => ask<UnitsView>(i, 'units')));
    procs.get(master)?.kill('SIGKILL');
    const t0 = Date.now();
    await waitFor(
      'a new master among the survivors',
      async () => (await statuses(survivors)).filter((x) => x?.role === 'master').length === 1,
      3000,
    );
    const elected = Date.now() - t0;
    await waitFor(
      'all 1024 units served by the survivors',
      async () => {
        const units = await Promise.all(survivors.map((i) => ask<UnitsView>(i, 'units')));
        const served = units.flatMap((u) => u?.served ?? []);
        return served.length === 1024 && new Set(served).size === 1024;
      },
      3000,
    );
    const restored = Date.now() - t0;
    console.log(`master SIGKILLed: new master after ${elected} ms, all units served after ${restored} ms`);
    expect(restored).toBeLessThan(1500);
    // A master failure interrupts only the master's own units: the survivors kept theirs.
    const after = await Promise.all(survivors.map((i) => ask<UnitsView>(i, 'units')));
    before.forEach((b, k) => {
      const now = new Set(after[k]?.served ?? []);
      for (const u of b?.served ?? []) expect(now.has(u)).toBe(true);
    });
  });
});
