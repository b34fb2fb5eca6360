/**
 * Who may use the admin socket: its directory and mode whatever the umask,
 * and the peer-uid check (SO_PEERCRED through the native addon) against a
 * real process of another user (`setpriv --reuid=nobody`). Needs root, like
 * the other tests that start members.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { askMember } from '../../src/mgmt/admin/client.js';
import { AdminServer } from '../../src/mgmt/admin/server.js';
import type { Logger, LogLevel } from '../../src/mgmt/log.js';

const run = promisify(execFile);
const NOBODY = 65534;

let dir = '';
let server: AdminServer | null = null;
let umask = 0;
const logged: { level: LogLevel; event: string; fields: Record<string, unknown> }[] = [];
const logger: Logger = { log: (level, event, fields = {}) => logged.push({ level, event, fields }) };
const handled: string[] = [];
const handler = (req: { command: string }): unknown => (handled.push(req.command), { answered: req.command });

beforeEach(() => {
  if (process.geteuid?.() !== 0) throw new Error('these tests need root (they start a process as nobody)');
  dir = mkdtempSync(join(tmpdir(), 'shoal-admin-access-'));
  umask = process.umask(0); // the widest umask: a mode that depended on it would show
  logged.length = 0;
  handled.length = 0;
});

afterEach(async () => {
  process.umask(umask);
  await server?.close();
  server = null;
  rmSync(dir, { recursive: true, force: true });
});

const modeOf = (p: string): number => statSync(p).mode & 0o777;

/**
 * One request sent from a process running as nobody: what it got back, or the connect error's code.
 * Plain node:net in `-e`, so nobody needs no access to the checkout.
 */
async function askAsNobody(sock: string): Promise<string> {
  const script = `
    const c = require('node:net').connect(process.argv[1]);
    let got = '';
    c.on('connect', () => c.write(JSON.stringify({ v: 2, command: 'status', args: {} }) + '\\n'));
    c.on('data', (d) => (got += d));
    c.on('end', () => process.stdout.write('reply ' + got.trim()));
    c.on('error', (e) => process.stdout.write('error ' + e.code));`;
  const { stdout } = await run('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, '-e', script, sock]);
  return stdout;
}

describe('admin socket modes', () => {
  it('a missing directory is made 0700 and the socket is 0600, under umask 0', async () => {
    const sock = join(dir, 'run', 'shoal', 'm.sock');
    server = await AdminServer.listen(sock, handler, { logger });
    expect(modeOf(join(dir, 'run', 'shoal'))).toBe(0o700);
    expect(modeOf(sock)).toBe(0o600);
    expect(await askMember(sock, 'status')).toEqual({ answered: 'status' });
  });

  it('a user other than root cannot even connect, by the socket’s own mode, in a directory others may enter', async () => {
    chmodSync(dir, 0o711); // an existing directory nobody may pass through (not list, not write)
    const sock = join(dir, 'm.sock');
    server = await AdminServer.listen(sock, handler, { logger });
    expect(modeOf(sock)).toBe(0o600);
    expect(await askAsNobody(sock)).toBe('error EACCES');
    expect(handled).toEqual([]);
  });

  it('refuses an existing directory that others could write to (and one another user owns)', async () => {
    const open = join(dir, 'open');
    mkdirSync(open, { mode: 0o777 });
    await expect(AdminServer.listen(join(open, 'm.sock'), handler)).rejects.toMatchObject({
      code: 'ADMIN_SOCKET_DIR',
      message: `admin socket directory ${open} is writable by others than its owner (mode 777), who could replace the socket: use a private directory (the default is /run/shoal, made 0700)`,
    });
    const theirs = join(dir, 'theirs');
    mkdirSync(theirs, { mode: 0o700 });
    await run('chown', [String(NOBODY), theirs]);
    await expect(AdminServer.listen(join(theirs, 'm.sock'), handler)).rejects.toMatchObject({ code: 'ADMIN_SOCKET_DIR' });
  });
});

describe('admin socket peer check', () => {
  it('refuses a peer that is neither root nor the daemon’s user, even where the modes let it connect, and logs its uid', async () => {
    const sock = join(dir, 'm.sock');
    server = await AdminServer.listen(sock, handler, { logger });
    // An administrator widened the modes by hand: the uid check still stands.
    chmodSync(dir, 0o711);
    chmodSync(sock, 0o666);
    const out = await askAsNobody(sock);
    expect(out).toBe(`reply ${JSON.stringify({ ok: false, error: 'uid 65534 may not use the admin socket (only root)' })}`);
    expect(handled).toEqual([]);
    expect(logged).toEqual([{ level: 'warn', event: 'admin-peer-refused', fields: { uid: NOBODY, pid: expect.any(Number) as number, reason: 'uid-not-allowed' } }]);
    // Root still gets its answer.
    expect(await askMember(sock, 'status')).toEqual({ answered: 'status' });
    expect(handled).toEqual(['status']);
  });

  it('admits the daemon’s own user when it is not root', async () => {
    const sock = join(dir, 'm.sock');
    server = await AdminServer.listen(sock, handler, { logger, ownUid: NOBODY });
    chmodSync(dir, 0o711);
    chmodSync(sock, 0o666);
    expect(await askAsNobody(sock)).toBe(`reply ${JSON.stringify({ ok: true, result: { answered: 'status' } })}`);
    expect(logged).toEqual([]);
  });

  it('refuses every peer when the credentials cannot be read (fail closed), saying why in the log', async () => {
    const sock = join(dir, 'm.sock');
    const peerCred = (): never => {
      throw new Error('SO_PEERCRED failed: Bad file descriptor');
    };
    server = await AdminServer.listen(sock, handler, { logger, peerCred });
    await expect(askMember(sock, 'status')).rejects.toMatchObject({ code: 'ADMIN_REFUSED', message: 'the admin socket could not identify you' });
    expect(handled).toEqual([]);
    expect(logged).toEqual([{ level: 'warn', event: 'admin-peer-refused', fields: { reason: 'peer-unknown', error: 'SO_PEERCRED failed: Bad file descriptor' } }]);
  });
});
