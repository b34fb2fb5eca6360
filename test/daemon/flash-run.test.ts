/**
 * `shoal run --flash` as the appliance runs it: the member boots its signed
 * personality (verified, checked against this software's digest, written to
 * a private runtime directory), starts from it and marks the slot good; a
 * new personality installed while it runs takes effect on `reload` (the slot
 * on trial becomes good once the member runs it); a tampered image or a
 * wrong trust root stops it before anything starts, with one line that says
 * what failed. Control-plane-only members on 127.0.0.1: no namespace needed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPersonality } from '../../src/flash/build.js';
import { deviceStatus, installPersonality } from '../../src/flash/device.js';
import { parseTrustRoot, signImage } from '../../src/flash/signing.js';
import { slotFile } from '../../src/flash/slots.js';
import { installationRoot, softwareDigest } from '../../src/flash/software-digest.js';
import { askMember } from '../../src/mgmt/admin/client.js';
import type { StatusView } from '../../src/mgmt/admin/views.js';
import { encodeImage } from '../../src/wire/flash-image.js';
import { adminKey, writeMember, type MemberOnDisk } from '../flash/member-fixture.js';

const CLI = join(process.cwd(), 'dist/src/mgmt/cli/main.js');
const dir = mkdtempSync(join(tmpdir(), 'shoal-flash-run-'));
const children: ChildProcess[] = [];
let member: MemberOnDisk;
let admin: ReturnType<typeof adminKey>;
let software: Uint8Array;

function image(version: number): Uint8Array {
  const doc = { ...member.config, cluster: { name: 'flash-test', configVersion: version }, log: { level: 'info' } };
  writeFileSync(member.configPath, JSON.stringify(doc));
  return signImage(encodeImage(buildPersonality({ configPath: member.configPath, softwareDigest: software })), admin.privateKey);
}

function run(device: string, runtime: string, root = join(dir, 'root.pem')): { child: ChildProcess; output: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [CLI, 'run', '--flash', device, '--trust-root', root, '--runtime-dir', runtime], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let text = '';
  child.stdout.on('data', (b: Buffer) => (text += b.toString()));
  child.stderr.on('data', (b: Buffer) => (text += b.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => text, exit };
}

async function status(socket: string): Promise<StatusView | null> {
  try {
    return (await askMember(socket, 'status', 1000)) as StatusView;
  } catch {
    return null;
  }
}

async function until<T>(what: string, f: () => Promise<T | null | undefined | false>, ms = 20_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  member = await writeMember(dir, { controlPlaneOnly: true, port: 20_000 + Math.floor(Math.random() * 30_000) });
  admin = adminKey();
  writeFileSync(join(dir, 'root.pem'), admin.publicPem);
  // the CLI checks the digest of the installation it runs from (dist, the addons, package.json): the test's build
  software = softwareDigest(installationRoot());
});

afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('shoal run --flash', () => {
  it('boots the personality, marks the slot good, and takes a newly installed one on reload', async () => {
    const device = join(dir, 'device-1');
    const runtime = join(dir, 'run-1');
    const root = parseTrustRoot(admin.publicPem);
    await installPersonality(device, image(1), root);
    const m = run(device, runtime);
    const socket = join(runtime, 'm1.sock');
    const s1 = await until('the member from slot a', async () => ((await status(socket))?.role === 'master' ? status(socket) : null));
    expect(s1?.configVersion).toBe(1);
    // version 2 into slot b, on trial until a member runs it
    await installPersonality(device, image(2), root);
    expect((await deviceStatus(device)).state).toMatchObject({ active: 'b', trial: true });
    expect(await askMember(socket, 'reload', 10_000)).toMatchObject({ changed: true, configVersion: 2 });
    await until('version 2 running', async () => (await status(socket))?.configVersion === 2);
    await until('slot b marked good', async () => (await deviceStatus(device)).state?.trial === false);
    expect((await deviceStatus(device)).state).toMatchObject({ active: 'b', trial: false, previous: 'a' });
    expect(m.output()).toMatch(/"event":"personality".*"slot":"a"/);
    m.child.kill('SIGTERM');
    expect(await m.exit).toBe(0);
  }, 60_000);

  it('a tampered image or a wrong trust root stops it before anything starts, with one line naming what failed', async () => {
    const device = join(dir, 'device-2');
    await installPersonality(device, image(1), parseTrustRoot(admin.publicPem));
    const other = adminKey();
    writeFileSync(join(dir, 'other.pem'), other.publicPem);
    const wrong = run(device, join(dir, 'run-2'), join(dir, 'other.pem'));
    expect(await wrong.exit).toBe(1);
    expect(wrong.output().trim().split('\n')).toHaveLength(1);
    expect(wrong.output()).toMatch(/not trusted|wrong signer|signed by/i);

    const slot = join(device, slotFile('a'));
    const bytes = readFileSync(slot);
    bytes[200] = bytes[200]! ^ 0x40;
    writeFileSync(slot, bytes);
    const tampered = run(device, join(dir, 'run-3'));
    expect(await tampered.exit).toBe(1);
    expect(tampered.output().trim().split('\n')).toHaveLength(1);
    expect(tampered.output()).toMatch(/signature does not verify/);
  }, 60_000);

  it('refuses to run without a config source, or --flash without its trust root (usage, exit 2)', async () => {
    const none = spawn(process.execPath, [CLI, 'run'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const noRoot = spawn(process.execPath, [CLI, 'run', '--flash', join(dir, 'device-1')], { stdio: ['ignore', 'pipe', 'pipe'] });
    const codes = await Promise.all([none, noRoot].map((c) => new Promise<number | null>((r) => c.once('exit', r))));
    expect(codes).toEqual([2, 2]);
  }, 30_000);
});
