/**
 * The file-backed config store: staging, diff, validated commits that bump
 * the config version, bounded history, rollback, atomic writes (a failed
 * write leaves the active file as it was), and the reload it asks of a
 * member answering on the admin socket.
 */
import * as fs from 'node:fs';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ShoalError } from '../../src/lib/errors.js';
import { NODE_FILE_OPS, writeFileAtomic, type FileOps } from '../../src/mgmt/atomic-file.js';
import { AdminServer } from '../../src/mgmt/admin/server.js';
import type { AdminRequest } from '../../src/mgmt/admin/protocol.js';
import { formatChange } from '../../src/mgmt/config-doc.js';
import { HISTORY_LIMIT, openConfigStore } from '../../src/mgmt/config-store.js';
import { shoal } from '../support/cli-in-process.js';

let dir = '';
let config = '';
/** No member answers here, unless a test starts one. */
let socket = '';

const BASE = {
  cluster: { name: 'store-test', configVersion: 1 },
  member: { address: '198.18.3.11', certificate: 'm1.pem', key: 'm1.key' },
  trust: { ca: ['ca.pem'] },
  log: { level: 'info' },
};

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'shoal-store-'));
  config = join(dir, 'member.json');
  socket = join(dir, 'admin.sock');
  writeFileSync(config, `${JSON.stringify({ ...BASE, admin: { socket: 'admin.sock' } }, null, 2)}\n`);
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

function active(): Record<string, unknown> {
  return JSON.parse(readFileSync(config, 'utf8')) as Record<string, unknown>;
}

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof ShoalError) return e.code;
    throw e;
  }
  return 'none';
}

async function rejection(p: Promise<unknown>): Promise<ShoalError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ShoalError) return e;
    throw e;
  }
  throw new Error('expected a ShoalError');
}

describe('set and diff', () => {
  it('stage into <config>.candidate, parsing JSON values and keeping other text as strings; the active file is untouched', () => {
    const store = openConfigStore(config);
    const before = readFileSync(config, 'utf8');
    expect(store.set('log.level', 'debug')).toBe('debug');
    expect(store.set('timing.watchdogMs', '300')).toBe(300);
    expect(store.set('trust.revokedSerials', '["0a", "0b"]')).toEqual(['0a', '0b']);
    expect(store.set('trust.ca.1', 'other-ca.pem')).toBe('other-ca.pem');
    expect(readFileSync(config, 'utf8')).toBe(before);
    expect(store.candidate()).toMatchObject({ log: { level: 'debug' }, timing: { watchdogMs: 300 }, trust: { ca: ['ca.pem', 'other-ca.pem'] } });
    expect(store.diff().map(formatChange)).toEqual([
      '~ log.level: "info" → "debug"',
      '+ timing.watchdogMs: 300',
      '~ trust.ca: ["ca.pem"] → ["ca.pem","other-ca.pem"]',
      '+ trust.revokedSerials: ["0a","0b"]',
    ]);
  });

  it('refuse a path through a value that is not an object, and malformed paths', () => {
    const store = openConfigStore(config);
    expect(codeOf(() => store.set('log.level.deeper', 'x'))).toBe('BAD_PATH');
    expect(codeOf(() => store.set('log..level', 'x'))).toBe('BAD_PATH');
    expect(codeOf(() => store.set('trust.ca.5', 'x'))).toBe('BAD_PATH');
    expect(store.candidate()).toBeNull();
  });

  it('refuse __proto__, constructor and prototype in a path, so a set cannot reach Object.prototype', () => {
    const store = openConfigStore(config);
    for (const path of ['__proto__.polluted', 'log.__proto__.polluted', 'constructor.prototype.polluted', 'log.constructor', 'prototype']) {
      expect(codeOf(() => store.set(path, 'yes'))).toBe('BAD_PATH');
    }
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(store.candidate()).toBeNull();
  });

  it('diff is empty with nothing staged, and shows removals', () => {
    const store = openConfigStore(config);
    expect(store.diff()).toEqual([]);
    writeFileSync(`${config}.candidate`, JSON.stringify({ ...BASE, admin: { socket: 'admin.sock' }, log: {} }));
    expect(store.diff().map(formatChange)).toEqual(['+ log: {}', '- log.level: "info"']);
  });
});

describe('commit', () => {
  it('bumps the config version by one, keeps the previous file as <config>.v<N>, drops the candidate', async () => {
    const store = openConfigStore(config);
    const original = readFileSync(config, 'utf8');
    store.set('log.level', 'debug');
    const r = await store.commit();
    expect(r.configVersion).toBe(2);
    expect(r.previousVersion).toBe(1);
    expect(r.kept).toBe(`${config}.v1`);
    expect(readFileSync(`${config}.v1`, 'utf8')).toBe(original);
    expect(active()).toMatchObject({ cluster: { configVersion: 2 }, log: { level: 'debug' } });
    expect(store.candidate()).toBeNull();
    expect(r.changes.map(formatChange)).toEqual(['~ cluster.configVersion: 1 → 2', '~ log.level: "info" → "debug"']);
    // Nobody answers on the configured socket: said, not thrown.
    expect(r.reload).toMatchObject({ answered: false, socket });
  });

  it('refuses a candidate that does not validate with the field’s one-line error, changing nothing', async () => {
    const store = openConfigStore(config);
    const original = readFileSync(config, 'utf8');
    store.set('log.level', 'loud');
    const e = await rejection(store.commit());
    expect(e.code).toBe('BAD_CONFIG');
    expect(e.message).toBe('config: log.level: must be one of debug, info, warn, error');
    expect(readFileSync(config, 'utf8')).toBe(original);
    expect(store.history()).toEqual([]);
    expect(store.candidate()).toMatchObject({ log: { level: 'loud' } }); // still there to fix
  });

  it('refuses when nothing is staged, or the candidate equals the active file', async () => {
    const store = openConfigStore(config);
    expect((await rejection(store.commit())).code).toBe('NOTHING_STAGED');
    store.set('log.level', 'info');
    expect((await rejection(store.commit())).code).toBe('NOTHING_STAGED');
    expect(store.candidate()).toBeNull();
  });

  it('takes a config version staged by hand as it is (to match the cluster’s master)', async () => {
    const store = openConfigStore(config);
    store.set('cluster.configVersion', '7');
    expect((await store.commit()).configVersion).toBe(7);
    store.set('log.level', 'warn');
    expect((await store.commit()).configVersion).toBe(8);
    expect(store.history()).toEqual([1, 7]);
  });

  it(`keeps the newest ${HISTORY_LIMIT} earlier versions only`, async () => {
    const store = openConfigStore(config);
    for (let i = 0; i < HISTORY_LIMIT + 3; i++) {
      store.set('timing.watchdogMs', String(200 + i));
      await store.commit();
    }
    expect(store.history()).toEqual(Array.from({ length: HISTORY_LIMIT }, (_, k) => k + 4));
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('asks the member answering on the admin socket to reload, and reports its answer', async () => {
    const asked: AdminRequest[] = [];
    const admin = await AdminServer.listen(socket, (request) => {
      asked.push(request);
      return { changed: true, configVersion: 2 };
    });
    try {
      const store = openConfigStore(config);
      store.set('log.level', 'debug');
      const r = await store.commit();
      expect(asked).toEqual([{ command: 'reload' }]);
      expect(r.reload).toEqual({ answered: true, socket, changed: true, configVersion: 2 });
    } finally {
      await admin.close();
    }
  });
});

describe('rollback', () => {
  it('makes the previous version’s content active again as a new, higher version', async () => {
    const store = openConfigStore(config);
    store.set('log.level', 'debug');
    await store.commit(); // v2
    store.set('log.level', 'warn');
    await store.commit(); // v3
    const r = await store.rollback();
    expect(r.restored).toBe(2);
    expect(r.configVersion).toBe(4);
    expect(active()).toMatchObject({ cluster: { configVersion: 4 }, log: { level: 'debug' } });
    expect(r.changes.map(formatChange)).toEqual(['~ cluster.configVersion: 3 → 4', '~ log.level: "warn" → "debug"']);
    expect(store.history()).toEqual([1, 2, 3]);
  });

  it('refuses when no earlier version is kept', async () => {
    expect((await rejection(openConfigStore(config).rollback())).code).toBe('NO_HISTORY');
  });
});

describe('atomic writes', () => {
  /** Node's file operations, with one step failing for the active file's temporary copy. */
  function failing(step: 'write' | 'fsync' | 'rename'): FileOps {
    const activeTmp = (p: string): boolean => p.startsWith(`${config}.tmp-`);
    const fds = new Set<number>();
    return {
      ...NODE_FILE_OPS,
      openSync: (path, flags, mode) => {
        const fd = NODE_FILE_OPS.openSync(path, flags, mode);
        if (activeTmp(path)) fds.add(fd);
        return fd;
      },
      writeSync: (fd, data, offset, length) => {
        if (step === 'write' && fds.has(fd)) {
          NODE_FILE_OPS.writeSync(fd, data, offset, Math.min(length, 10)); // a torn write, then the disk is full
          throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
        }
        return NODE_FILE_OPS.writeSync(fd, data, offset, length);
      },
      fsyncSync: (fd) => {
        if (step === 'fsync' && fds.has(fd)) throw new Error('EIO: i/o error');
        NODE_FILE_OPS.fsyncSync(fd);
      },
      renameSync: (from, to) => {
        if (step === 'rename' && activeTmp(from)) throw new Error('EXDEV: cross-device link');
        NODE_FILE_OPS.renameSync(from, to);
      },
    };
  }

  it.each(['write', 'fsync', 'rename'] as const)('a commit whose %s fails leaves the active file as it was, and no temporary file', async (step) => {
    const original = readFileSync(config, 'utf8');
    const store = openConfigStore(config, { fileOps: failing(step) });
    store.set('log.level', 'debug');
    const e = await rejection(store.commit());
    expect(e.code).toBe('WRITE_FAILED');
    expect(e.message).toContain(config);
    expect(readFileSync(config, 'utf8')).toBe(original);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
    // The candidate survives, so the commit can be tried again once the disk is fixed.
    const retry = await openConfigStore(config).commit();
    expect(retry.configVersion).toBe(2);
  });

  it('writeFileAtomic keeps the replaced file’s mode', () => {
    const f = join(dir, 'mode.json');
    writeFileSync(f, '{}', { mode: 0o640 });
    fs.chmodSync(f, 0o640);
    writeFileAtomic(f, '{"a":1}');
    expect(fs.statSync(f).mode & 0o777).toBe(0o640);
    expect(readFileSync(f, 'utf8')).toBe('{"a":1}');
  });
});

describe('file modes (the documents hold pre-shared keys)', () => {
  const modeOf = (f: string): number => fs.statSync(f).mode & 0o777;
  let umask = 0;
  beforeEach(() => {
    umask = process.umask(0); // the widest umask: a mode that depended on it would show
  });
  afterEach(() => process.umask(umask));

  it('the candidate and the kept versions are 0600 whatever the umask; the active document loses what others could read', async () => {
    fs.chmodSync(config, 0o644);
    const store = openConfigStore(config);
    store.set('log.level', 'debug');
    expect(modeOf(`${config}.candidate`)).toBe(0o600);
    const r = await store.commit();
    expect(modeOf(r.kept)).toBe(0o600);
    expect(modeOf(config)).toBe(0o640);
  });

  it('an existing candidate or kept version that is wider is narrowed to 0600 on the next write', async () => {
    const store = openConfigStore(config);
    store.set('log.level', 'debug');
    fs.chmodSync(`${config}.candidate`, 0o666);
    store.set('log.level', 'warn');
    expect(modeOf(`${config}.candidate`)).toBe(0o600);
    writeFileSync(`${config}.v1`, '{}', { mode: 0o644 });
    fs.chmodSync(`${config}.v1`, 0o644);
    expect((await store.commit()).kept).toBe(`${config}.v1`);
    expect(modeOf(`${config}.v1`)).toBe(0o600);
  });

  it('a file the administrator narrowed stays as narrow', async () => {
    fs.chmodSync(config, 0o600);
    const store = openConfigStore(config);
    store.set('log.level', 'debug');
    await store.commit();
    expect(modeOf(config)).toBe(0o600);
  });
});

describe('shoal config (in process)', () => {
  it('set, diff, commit --json and show print what the store did', async () => {
    expect((await shoal('config', 'set', 'log.level', 'debug', '--config', config)).stdout).toBe(
      `staged log.level = "debug" ('config diff' shows it, 'config commit' applies it)\n`,
    );
    expect((await shoal('config', 'diff', '--config', config)).stdout).toBe('~ log.level: "info" → "debug"\n');
    const committed = JSON.parse((await shoal('config', 'commit', '--config', config, '--json')).stdout) as { configVersion: number; reload: { answered: boolean } };
    expect(committed.configVersion).toBe(2);
    expect(committed.reload.answered).toBe(false);
    const shown = JSON.parse((await shoal('config', 'show', '--config', config, '--json')).stdout) as { staged: boolean; history: number[]; document: { log: { level: string } } };
    expect(shown).toMatchObject({ staged: false, history: [1], document: { log: { level: 'debug' } } });
    expect((await shoal('config', 'diff', '--config', config)).stdout).toBe('no staged changes\n');
  });

  it('SHOAL_CONFIG names the default file', async () => {
    const before = process.env['SHOAL_CONFIG'];
    process.env['SHOAL_CONFIG'] = config;
    try {
      const out = (await shoal('config', 'show')).stdout;
      expect(JSON.parse(out)).toMatchObject({ cluster: { name: 'store-test' } });
    } finally {
      if (before === undefined) delete process.env['SHOAL_CONFIG'];
      else process.env['SHOAL_CONFIG'] = before;
    }
  });
});
