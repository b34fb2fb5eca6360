/**
 * Regression (issue 11, "every I/O and timer entry point catches, counts and
 * logs"): a handler whose result could not be encoded (a BigInt, a cycle)
 * made the admin server's reply throw inside a promise chain nobody handled,
 * and an unhandled rejection ends a Node process: one `shoal status` could
 * stop a member. The asker now gets an error line, the exception is counted
 * and logged, and the socket goes on answering.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { askMember } from '../../src/mgmt/admin/client.js';
import { AdminServer } from '../../src/mgmt/admin/server.js';
import type { Logger, LogLevel } from '../../src/mgmt/log.js';

let dir = '';
let server: AdminServer | null = null;
const logged: { level: LogLevel; event: string; fields: Record<string, unknown> }[] = [];
const logger: Logger = { log: (level, event, fields = {}) => logged.push({ level, event, fields }) };
const rejections: unknown[] = [];
const onRejection = (e: unknown): void => void rejections.push(e);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'shoal-admin-guard-'));
  logged.length = 0;
  rejections.length = 0;
  process.on('unhandledRejection', onRejection);
});

afterEach(async () => {
  process.off('unhandledRejection', onRejection);
  await server?.close();
  server = null;
  rmSync(dir, { recursive: true, force: true });
});

describe('admin server entry points', () => {
  it('a result that cannot be encoded is answered with an error line, counted and logged; the next request is answered', async () => {
    const sock = join(dir, 'admin.sock');
    const handler = (req: { command: string }): unknown => (req.command === 'status' ? { sas: 1n } : { fine: true });
    server = await AdminServer.listen(sock, handler, { logger, peerCred: () => ({ uid: 0, pid: 1, gid: 0 }) });
    await expect(askMember(sock, 'status', 2000)).rejects.toThrow(/internal error: .*BigInt/);
    expect(await askMember(sock, 'members', 2000)).toEqual({ fine: true });
    await new Promise((r) => setImmediate(r));
    expect(rejections).toEqual([]);
    expect(logged).toContainEqual(expect.objectContaining({ level: 'error', event: 'admin.exception', fields: expect.objectContaining({ where: 'request', count: 1 }) }));
  });
});
