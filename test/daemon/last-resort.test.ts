/**
 * The last resort behind every entry point's own guard (issue 11): an
 * exception nothing caught, and a promise rejection nobody handled, used to
 * end `shoal run`. Injected here into a real member (alone in its namespace,
 * control plane only) by a preloaded module: the member logs `uncaught`,
 * restarts in the same process, and answers on its admin socket again.
 * Runs as root (CI does); a missing privilege fails.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { askMember } from '../../src/mgmt/admin/client.js';
import type { StatusView } from '../../src/mgmt/admin/views.js';
import { writeDevMembers } from '../support/dev-members.js';
import { deleteNamespaces, interconnect, listNamespaces, runPrefix, sh, spawnIn } from '../support/netns.js';

const CLI = join(process.cwd(), 'dist/src/mgmt/cli/main.js');
const prefix = runPrefix('lr');
const dir = mkdtempSync(join(tmpdir(), 'shoal-last-resort-'));
const socket = join(dir, 'm1.sock');
const output: string[] = [];
let member: ChildProcess | null = null;

function events(): Record<string, unknown>[] {
  return output
    .join('')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function waitFor(what: string, ok: () => Promise<boolean> | boolean, ms: number): Promise<void> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}; exit ${String(member?.exitCode)}\n${output.join('').slice(-3000)}`);
}

beforeAll(async () => {
  sh(['test', '-f', CLI]); // dist is built by `npm test` before vitest
  const net = interconnect(prefix, 1);
  const [config] = await writeDevMembers(dir, 1, net.address(1), (i, pem) => ({
    cluster: { name: `lr-${prefix}`, configVersion: 1 },
    member: { address: net.address(i), certificate: pem.certificate, key: pem.key },
    trust: { ca: [pem.ca] },
    interconnect: { group: '239.255.83.72', port: 5400 },
    admin: { socket },
    log: { level: 'info' },
  }));
  // What a bug behind an unguarded callback would do: one exception from a timer, one rejection nobody handles.
  const inject = join(dir, 'inject.mjs');
  writeFileSync(
    inject,
    "setTimeout(() => { throw new TypeError('injected: uncaught'); }, 2000);\n" +
      "setTimeout(() => { void Promise.reject(new RangeError('injected: unhandled rejection')); }, 4000);\n",
  );
  member = spawnIn(net.ns(1), [process.execPath, '--import', inject, CLI, 'run', '--config', config ?? ''], (l) => output.push(l));
});

afterAll(() => {
  if (member?.exitCode === null) member.kill('SIGKILL');
  deleteNamespaces(prefix);
  rmSync(dir, { recursive: true, force: true });
  expect(listNamespaces(prefix)).toEqual([]);
});

describe('shoal run, last resort', () => {
  it('an uncaught exception and an unhandled rejection restart the member in the same process; it answers again', async () => {
    await waitFor('two uncaught events', () => events().filter((e) => e['event'] === 'uncaught').length === 2, 15_000);
    await waitFor('the member answering after its second restart', async () => {
      const restarts = events().filter((e) => e['event'] === 'restarting' && e['why'] === 'uncaught exception').length;
      const s = (await askMember(socket, 'status', 1000).catch(() => null)) as StatusView | null;
      return restarts === 2 && s?.role === 'master';
    }, 15_000);
    expect(member?.exitCode).toBeNull();
    const uncaught = events().filter((e) => e['event'] === 'uncaught');
    // The logger escapes control characters: a stack's line breaks arrive as a backslash and an n.
    expect(uncaught.map((e) => String(e['error']).split(/\n|\\n/)[0])).toEqual(['TypeError: injected: uncaught', 'RangeError: injected: unhandled rejection']);
    expect(uncaught.map((e) => e['recoveries'])).toEqual([1, 2]);
  });
});
