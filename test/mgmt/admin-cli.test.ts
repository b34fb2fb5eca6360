/**
 * The one-shot admin commands and the shell (without a terminal) against a
 * real admin socket served by a stand-in member: exit codes (0 ok, 1 failed,
 * 2 usage), one-line errors, `shoal log --level` filtering, and the shell
 * printing exactly what the one-shot command prints.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ShoalError } from '../../src/lib/errors.js';
import { AdminServer } from '../../src/mgmt/admin/server.js';
import type { AdminRequest } from '../../src/mgmt/admin/protocol.js';
import { buildProgram } from '../../src/mgmt/cli/program.js';
import { runShoal } from '../../src/mgmt/cli/run.js';
import { LogRing, jsonLogger } from '../../src/mgmt/log.js';
import { runShell } from '../../src/mgmt/shell/shell.js';

const dir = mkdtempSync(join(tmpdir(), 'shoal-admin-cli-'));
const sock = join(dir, 'm.sock');
const ring = new LogRing(100);
const seen: AdminRequest[] = [];
let server: AdminServer;

beforeAll(async () => {
  const log = jsonLogger(() => undefined, 'debug', { self: '198.18.3.11' }, ring);
  log.log('debug', 'tick', { n: 1 });
  log.log('info', 'started', { port: 5400 });
  log.log('warn', 'event-loop-stall', { ms: 130 });
  log.log('error', 'join-refused', { reason: 'config version 2 differs' });
  log.log('info', 'members', { members: ['198.18.3.11'] });
  server = await AdminServer.listen(sock, (req) => {
    seen.push(req);
    switch (req.command) {
      case 'log':
        return ring.last(req.args.lines, req.args.level);
      case 'tunnels':
        return [];
      case 'tunnel-kill':
        throw new ShoalError('NO_SUCH_TUNNEL', `no tunnel ${req.args.id} on this member`);
      case 'cluster-leave':
        return { role: 'left', released: 3 };
      default:
        throw new Error(`not in this stand-in: ${req.command}`);
    }
  });
});

afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** `shoal <args>` in process: exit code, stdout and stderr. */
async function shoal(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => ((out += String(c)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => ((err += String(c)), true));
  try {
    const code = await runShoal(buildProgram(), args, 'user');
    return { code, out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

describe('one-shot admin commands', () => {
  it('shoal log --level warn prints only warn and error lines, oldest first, one per entry', async () => {
    const r = await shoal('log', '--level', 'warn', '--socket', sock);
    expect(r.code).toBe(0);
    const lines = r.out.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\S+Z WARN {2}event-loop-stall self=198\.18\.3\.11 ms=130$/);
    expect(lines[1]).toMatch(/ ERROR join-refused self=198\.18\.3\.11 reason="config version 2 differs"$/);
    expect(seen.at(-1)).toEqual({ command: 'log', args: { lines: 50, level: 'warn' } });
  });

  it('shoal log -n 2 --json gives the newest entries as objects', async () => {
    const r = await shoal('log', '-n', '2', '--json', '--socket', sock);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject([{ level: 'error', event: 'join-refused' }, { level: 'info', event: 'members', members: ['198.18.3.11'] }]);
  });

  it('a refused request is exit 1 with the member\'s one line; a bad id or option is exit 2 and nothing is sent', async () => {
    expect(await shoal('tunnel', 'kill', '00112233445566ff', '--socket', sock)).toEqual({ code: 1, out: '', err: 'shoal: error: no tunnel 00112233445566ff on this member\n' });
    const n = seen.length;
    expect(await shoal('tunnel', 'kill', 'zz', '--socket', sock)).toMatchObject({ code: 2, err: "shoal: tunnel kill: 'zz' is not a tunnel id (16 hex digits, as 'shoal tunnels' shows it)\n" });
    expect((await shoal('log', '--level', 'chatty', '--socket', sock)).code).toBe(2);
    expect((await shoal('log', '-n', '99999', '--socket', sock)).code).toBe(2);
    expect(seen.length).toBe(n);
  });

  it('a dead socket is exit 1 and one line naming it', async () => {
    const dead = join(dir, 'nobody.sock');
    for (const args of [['tunnels'], ['counters'], ['cluster', 'join'], ['log']]) {
      expect(await shoal(...args, '--socket', dead)).toEqual({ code: 1, out: '', err: `shoal: error: no member answers on ${dead}\n` });
    }
  });

  it('cluster leave reports what it released', async () => {
    expect(await shoal('cluster', 'leave', '--socket', sock)).toEqual({ code: 0, out: "left the cluster: released 3 units; 'cluster join' brings this member back\n", err: '' });
  });
});

describe('shoal shell without a terminal', () => {
  /** The shell fed `lines` on stdin (no TTY: no prompt, no history); its stdout, stderr and exit code. */
  async function shell(lines: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const o = vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => ((out += String(c)), true));
    const e = vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => ((err += String(c)), true));
    try {
      const code = await runShell({ program: buildProgram, socket: sock, historyFile: null, input: Readable.from([lines.map((l) => `${l}\n`).join('')]), output: process.stdout });
      return { code, out, err };
    } finally {
      o.mockRestore();
      e.mockRestore();
    }
  }

  it('prints exactly what the one-shot commands print, using its own --socket', async () => {
    const oneShot = (await shoal('log', '--level', 'warn', '--socket', sock)).out + (await shoal('log', '-n', '2', '--json', '--socket', sock)).out + (await shoal('tunnels', '--socket', sock)).out;
    const r = await shell(['show log --level warn', 'show log -n 2 --json', '', 'show tunnels']);
    expect(r).toEqual({ code: 0, out: oneShot, err: '' });
  });

  it('an error is one line and the shell goes on; the exit code is the last command\'s', async () => {
    const r = await shell(['show nothing', 'tunnel kill 00112233445566ff', 'show tunnels', 'config set "unterminated']);
    expect(r.err).toBe(
      [
        'shoal: show nothing: expected one of cluster, members, units, tunnels, sessions, counters, log',
        'shoal: error: no tunnel 00112233445566ff on this member',
        'shoal: unterminated double quote',
        '',
      ].join('\n'),
    );
    expect(r.out).toBe('no tunnels on this member\n');
    expect(r.code).toBe(2);
    expect((await shell(['show tunnels', 'exit', 'show log'])).out).toBe('no tunnels on this member\n');
  });
});
