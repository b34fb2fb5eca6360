/**
 * The supervisor's decisions, with its file config source for real and
 * stand-in members (the real daemons are in config-version.test.ts): when it
 * restarts, when it does not, and what `reload` answers.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DaemonConfig } from '../../src/daemon/config.js';
import type { Daemon, DaemonHooks } from '../../src/daemon/daemon.js';
import type { MemberRunner } from '../../src/daemon/member-runner.js';
import { MAX_RECOVERIES, RECOVERY_WINDOW_MS, Supervisor, fileConfigSource } from '../../src/daemon/supervisor.js';
import { ShoalError } from '../../src/lib/errors.js';
import { silentLogger } from '../../src/mgmt/log.js';

let dir = '';
let path = '';

function write(version: number, level = 'info'): void {
  writeFileSync(
    path,
    JSON.stringify({
      cluster: { name: 'sup', configVersion: version },
      member: { address: '198.18.3.11', certificate: 'm.pem', key: 'm.key' },
      trust: { ca: ['ca.pem'] },
      log: { level },
    }),
  );
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'shoal-sup-'));
  path = join(dir, 'member.json');
  write(1);
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A member stand-in: its role is set by the test; starts and stops are recorded. */
class Members {
  role = 'member';
  readonly started: DaemonConfig[] = [];
  stopped = 0;
  hooks: DaemonHooks = {};

  start = (config: DaemonConfig, hooks: DaemonHooks): Promise<Daemon> => {
    this.started.push(config);
    this.hooks = hooks;
    const runner = { core: { status: () => ({ role: this.role }) } } as unknown as MemberRunner;
    return Promise.resolve({
      config,
      runner,
      logger: silentLogger,
      stop: () => {
        this.stopped++;
        return Promise.resolve();
      },
    });
  };
}

const tick = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits (up to 5 s, for a loaded machine) until `ok` holds. */
async function until(ok: () => boolean): Promise<void> {
  for (let t = 0; t < 5000 && !ok(); t += 10) await tick(10);
}

describe('fileConfigSource', () => {
  it('reports a change after a write and not before; a bad file throws BAD_CONFIG once and is not re-read until it changes', async () => {
    const source = fileConfigSource(path);
    expect(source.changed()).toBe(true); // never loaded
    expect(source.load().configVersion).toBe(1);
    expect(source.changed()).toBe(false);
    await tick(5);
    write(2);
    expect(source.changed()).toBe(true);
    expect(source.load().configVersion).toBe(2);
    writeFileSync(path, '{"cluster": {}}');
    expect(() => source.load()).toThrow(ShoalError);
    expect(source.changed()).toBe(false);
  });
});

describe('Supervisor', () => {
  it('reload: the same configuration changes nothing; a different one answers first, then restarts the member with it', async () => {
    const m = new Members();
    const sup = await Supervisor.run(fileConfigSource(path), { start: m.start, pollMs: 20 });
    expect(m.hooks.reload?.()).toEqual({ changed: false, configVersion: 1 });
    write(2, 'debug');
    expect(m.hooks.reload?.()).toEqual({ changed: true, configVersion: 2 });
    expect(m.started).toHaveLength(1); // not yet: the answer goes out first
    await until(() => m.started.length === 2);
    expect(m.started.map((c) => [c.configVersion, c.logLevel])).toEqual([
      [1, 'info'],
      [2, 'debug'],
    ]);
    expect(m.stopped).toBe(1);
    expect(sup.restarts).toBe(1);
    await sup.stop();
  });

  it('reload of a configuration that does not validate throws the field’s error and keeps the member running', async () => {
    const m = new Members();
    const sup = await Supervisor.run(fileConfigSource(path), { start: m.start, pollMs: 20 });
    write(2, 'loud');
    expect(() => m.hooks.reload?.()).toThrow('config: log.level: must be one of debug, info, warn, error');
    await tick(50);
    expect(m.started).toHaveLength(1);
    expect(m.stopped).toBe(0);
    await sup.stop();
  });

  it('follows its file by itself only while excluded', async () => {
    const m = new Members();
    const sup = await Supervisor.run(fileConfigSource(path), { start: m.start, pollMs: 20 });
    await tick(5);
    write(2);
    await tick(100);
    expect(m.started).toHaveLength(1); // a serving member restarts only when told
    m.role = 'excluded';
    await until(() => m.started.length === 2);
    expect(m.started.map((c) => c.configVersion)).toEqual([1, 2]);
    await sup.stop();
    expect(m.stopped).toBe(2);
  });

  it('a member whose stop throws is still replaced, logged, and nothing escapes as an unhandled rejection', async () => {
    const m = new Members();
    const lines: string[] = [];
    const rejections: unknown[] = [];
    const onRejection = (e: unknown): void => void rejections.push(e);
    process.on('unhandledRejection', onRejection);
    try {
      const start = async (config: DaemonConfig, hooks: DaemonHooks): Promise<Daemon> => {
        const d = await m.start(config, hooks);
        return { ...d, logger: { log: (_l, event) => void lines.push(event) }, stop: () => Promise.reject(new Error('runner: close failed')) };
      };
      const sup = await Supervisor.run(fileConfigSource(path), { start, pollMs: 20 });
      write(2);
      expect(m.hooks.reload?.()).toEqual({ changed: true, configVersion: 2 });
      await until(() => m.started.length === 2);
      expect(m.started.map((c) => c.configVersion)).toEqual([1, 2]);
      write(3);
      expect(m.hooks.reload?.()).toEqual({ changed: true, configVersion: 3 }); // the restart queue still works
      await until(() => m.started.length === 3);
      await tick(20);
      expect(lines.filter((l) => l === 'stop-failed')).toHaveLength(2);
      expect(rejections).toEqual([]);
      await sup.stop().catch(() => undefined);
    } finally {
      process.off('unhandledRejection', onRejection);
    }
  });

  it('recover: an uncaught exception restarts the member with its configuration; too many in a minute settle failed', async () => {
    const m = new Members();
    const sup = await Supervisor.run(fileConfigSource(path), { start: m.start, pollMs: 20 });
    let failed: Error | null = null;
    void sup.failed.then((e) => (failed = e));
    for (let k = 1; k <= MAX_RECOVERIES; k++) {
      sup.recover(new TypeError(`cannot read properties of undefined (${k})`), 1000 * k);
      await until(() => m.started.length === k + 1);
    }
    expect(m.started.map((c) => c.configVersion)).toEqual([1, 1, 1, 1]);
    expect(m.stopped).toBe(MAX_RECOVERIES);
    expect(failed).toBeNull();
    sup.recover(new TypeError('once too often'), 1000 * (MAX_RECOVERIES + 1));
    await tick(20);
    expect(m.started).toHaveLength(MAX_RECOVERIES + 1); // no more restarts
    expect(failed).toEqual(new TypeError('once too often'));
    await sup.stop();
  });

  it('recover: exceptions spread wider than the window keep restarting the member', async () => {
    const m = new Members();
    const sup = await Supervisor.run(fileConfigSource(path), { start: m.start, pollMs: 20 });
    for (let k = 1; k <= MAX_RECOVERIES + 2; k++) {
      sup.recover(new Error('rare'), k * RECOVERY_WINDOW_MS);
      await until(() => m.started.length === k + 1);
    }
    expect(m.started).toHaveLength(MAX_RECOVERIES + 3);
    await sup.stop();
  });

  it('starts the old configuration again when the new one fails to start', async () => {
    const m = new Members();
    const start = (config: DaemonConfig, hooks: DaemonHooks): Promise<Daemon> =>
      config.configVersion === 2 ? Promise.reject(new ShoalError('ADMIN_SOCKET_IN_USE', 'taken')) : m.start(config, hooks);
    const sup = await Supervisor.run(fileConfigSource(path), { start, pollMs: 20 });
    write(2);
    m.hooks.reload?.();
    await until(() => m.started.length === 2);
    expect(m.started.map((c) => c.configVersion)).toEqual([1, 1]);
    await sup.stop();
  });
});
