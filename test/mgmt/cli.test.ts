/**
 * The simulated cluster demo (src/sim/demo.ts) called directly, and the
 * `shoal` CLI built with tsc and run as a user would: `node dist/src/mgmt/cli/main.js`.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { runNode, type NodeRun } from '../support/run-node.js';
import { ShoalError } from '../../src/lib/errors.js';
import { runDemo, type DemoReport } from '../../src/sim/demo.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(ROOT, 'dist', 'src', 'mgmt', 'cli', 'main.js');
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

type Run = NodeRun;

const run = (args: string[], timeoutMs: number): Promise<Run> => runNode(args, { cwd: ROOT, timeoutMs });

/**
 * Build dist with tsc, started when this file loads so it overlaps the runDemo tests.
 * tsc emits even when some file elsewhere in the tree has a type error; only a missing CLI fails the CLI tests.
 */
const build = run([TSC, '-p', 'tsconfig.json'], 120_000);

/** Run the built CLI (asynchronously, so a test can run several at once). */
function shoal(...args: string[]): Promise<Run> {
  return run([CLI, ...args], 30_000);
}

/** The parts of a report a seed decides (not the wall-clock speed). */
function simulated(r: DemoReport): unknown {
  return { formation: r.formation, failover: r.failover, join: r.join, final: r.final, events: r.speed.events };
}

describe('runDemo', () => {
  it('forms, fails over, rebalances and ends converged', async () => {
    const r = await runDemo({ members: 3, seed: 1 });
    expect(r.problem).toBe('');
    expect(r.ok).toBe(true);
    expect(r.warnings).toEqual([]);
    expect(r.formation.converged).toBe(true);
    expect(r.formation.master).toMatch(/^198\.18\.0\.[1-3]$/);
    expect(r.formation.members.map((m) => m.id)).toEqual(['198.18.0.1', '198.18.0.2', '198.18.0.3']);
    expect(r.formation.members.reduce((sum, m) => sum + m.units, 0)).toBe(r.unitCount);

    const f = r.failover;
    if (f === null) throw new Error('no failover phase');
    expect(f.killed).toBe(r.formation.master);
    expect(f.newMaster).not.toBeNull();
    expect(f.newMaster).not.toBe(f.killed);
    expect(f.newMasterAfterMs).toBeGreaterThan(0);
    expect(f.allUnitsServedAfterMs).toBeGreaterThanOrEqual(f.newMasterAfterMs ?? Infinity);
    expect(f.converged).toBe(true);

    expect(r.join.added).toBe('198.18.0.4');
    expect(r.join.joinedAfterMs).not.toBeNull();
    expect(r.join.evenAfterMs).not.toBeNull();
    const after = r.join.loads.map((l) => l.after);
    expect(after).toHaveLength(3);
    expect(Math.max(...after) - Math.min(...after)).toBeLessThanOrEqual(1);
    expect(r.join.spread).toBeLessThanOrEqual(1);

    expect(r.invariants).toMatchObject({ converged: true, safetyViolation: null, doubleServedMs: 0 });
    expect(r.final.atMs).toBeGreaterThanOrEqual(12_000);
    expect(r.speed.simulatedSeconds).toBeGreaterThanOrEqual(12);
    expect(r.speed.ratio).toBeGreaterThan(0);
  });

  it('is the same run for the same seed, fresh certificates or not', async () => {
    const [a, b] = await Promise.all([runDemo({ members: 4, seed: 7 }), runDemo({ members: 4, seed: 7 })]);
    expect(simulated(a)).toEqual(simulated(b));
  });

  it('a single member skips the failover and still ends converged with the joiner', async () => {
    const r = await runDemo({ members: 1, seed: 2, seconds: 1 });
    expect(r.ok).toBe(true);
    expect(r.failover).toBeNull();
    expect(r.join.loads.map((l) => l.after)).toEqual([512, 512]);
  });

  it('refuses out-of-range options with a ShoalError', async () => {
    await expect(runDemo({ members: 0 })).rejects.toThrow(ShoalError);
    await expect(runDemo({ members: 65 })).rejects.toThrow(/members must be a whole number from 1 to 64/);
    await expect(runDemo({ lossPercent: -1 })).rejects.toThrow(ShoalError);
    await expect(runDemo({ seconds: Number.NaN })).rejects.toThrow(ShoalError);
  });
});

describe('shoal CLI (built with tsc)', () => {
  beforeAll(async () => {
    const tsc = await build;
    if (!existsSync(CLI)) throw new Error(`tsc did not build ${CLI} (exit ${tsc.status}): ${tsc.stdout}${tsc.stderr}`);
  }, 150_000);

  it('--help lists sim and lab; --version prints the package version', async () => {
    const [help, version] = await Promise.all([shoal('--help'), shoal('--version')]);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^\s+sim\b/m);
    expect(help.stdout).toMatch(/^\s+lab\b/m);
    expect(version.status).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    expect(version.stdout.trim()).not.toContain('unknown');
  });

  it('sim --json prints one parseable report and exits 0', async () => {
    const r = await shoal('sim', '--json', '--members', '3', '--seed', '1');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout) as DemoReport;
    expect(report.ok).toBe(true);
    expect(report.options).toEqual({ members: 3, seed: 1, seconds: 12, lossPercent: 0 });
    expect(report.formation.master).toMatch(/^198\.18\.0\.\d$/);
    expect(report.failover?.newMasterAfterMs).toBeGreaterThan(0);
    expect(report.failover?.allUnitsServedAfterMs).toBeGreaterThan(0);
    expect(report.join.loads).toHaveLength(3);
    expect(report.invariants.converged).toBe(true);
    expect(report.speed.ratio).toBeGreaterThan(0);
  });

  it('bad option values and unknown commands are usage errors: exit 2, one line on stderr, no stack', async () => {
    const cases: [string[], RegExp][] = [
      [['sim', '--members', '0'], /--members.*'0'.*1 to 64/],
      [['sim', '--members', '65'], /--members/],
      [['sim', '--seed', 'x'], /--seed/],
      [['sim', '--loss', '101'], /--loss/],
      [['lab', '--members', '0'], /--members/],
      [['lab', '--mode', 'broadcast'], /broadcast.*unicast, multicast, forwarding/],
      [['sim', '--bogus'], /--bogus/],
      [['nonsense'], /nonsense/],
    ];
    const runs = await Promise.all(cases.map(([args]) => shoal(...args)));
    runs.forEach((r, i) => {
      const [args, mentions] = cases[i] ?? [[], /$^/];
      const what = args.join(' ');
      expect(r.status, what).toBe(2);
      expect(r.stdout, what).toBe('');
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines, what).toHaveLength(1);
      expect(lines[0], what).toMatch(/^shoal: /);
      expect(lines[0], what).toMatch(mentions);
      expect(r.stderr, what).not.toMatch(/\bat .*:\d+:\d+/);
    });
  });

  it('lab --help describes the namespace lab and points to sim for the simulated demo', async () => {
    const help = await shoal('lab', '--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/namespace lab/);
    expect(help.stdout).toMatch(/shoal sim/);
    expect(help.stdout).not.toMatch(/not built/);
    for (const sub of ['up', 'down', 'status', 'exec', 'start', 'kill', 'add', 'partition', 'heal']) expect(help.stdout).toMatch(new RegExp(`^\\s+${sub}\\b`, 'm'));
  });
});
