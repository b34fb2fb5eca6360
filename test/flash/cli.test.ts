/**
 * `shoal flash …` as an administrator runs it: the CLI built with tsc and
 * started as `node dist/src/mgmt/cli/main.js flash …`. Exit codes (0 ok,
 * 1 a check failed, 2 bad input), one-line errors, and inspect/diff output
 * that never carries private key material or pre-shared secrets.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runNode, type NodeRun } from '../support/run-node.js';
import { buildPersonality } from '../../src/flash/build.js';
import { directoryMedium } from '../../src/flash/medium.js';
import { markGood } from '../../src/flash/slots.js';
import { encodeImage } from '../../src/wire/flash-image.js';
import { developmentCa, PSK_SECRET, writeMember, type MemberOnDisk } from './member-fixture.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(ROOT, 'dist', 'src', 'mgmt', 'cli', 'main.js');
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const DIGEST = 'ab'.repeat(32);

type Run = NodeRun;

const run = (args: string[], timeoutMs = 30_000): Promise<Run> => runNode(args, { cwd: ROOT, timeoutMs });

const flash = (...args: string[]): Promise<Run> => run([CLI, 'flash', ...args]);

/** A failed run: the exit code, and stderr as exactly one line. */
function failed(r: Run, code: number): string {
  expect(r.status, r.stderr + r.stdout).toBe(code);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  return lines[0] ?? '';
}

function ok(r: Run): string {
  expect(r.status, r.stderr).toBe(0);
  expect(r.stderr).toBe('');
  return r.stdout;
}

const dir = mkdtempSync(join(tmpdir(), 'shoal-flash-cli-'));
const at = (f: string): string => join(dir, f);
let member: MemberOnDisk;

beforeAll(async () => {
  // tsc emits even when a file elsewhere in the tree has a type error; only a missing CLI fails these tests.
  const build = run([TSC, '-p', 'tsconfig.json'], 300_000);
  member = await writeMember(dir);
  await build;
  statSync(CLI);
}, 320_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('shoal flash', () => {
  it('keygen, build, sign, verify: the round trip, with exit codes', async () => {
    expect(ok(await flash('keygen', '--out', at('admin')))).toMatch(/^ecdsa-p256 key sha256:[0-9a-f]{64} → /);
    expect(statSync(at('admin.key')).mode & 0o777).toBe(0o600);
    expect(failed(await flash('keygen', '--out', at('admin')), 2)).toMatch(/^shoal: cannot write .*admin\.key: already exists \(not replaced\)$/);
    const keygen = JSON.parse(ok(await flash('keygen', '--out', at('other'), '--type', 'ed25519', '--json'))) as { type: string; keyId: string };
    expect(keygen.type).toBe('ed25519');

    expect(ok(await flash('build', '--config', member.configPath, '--out', at('v1.img'), '--software-digest', DIGEST))).toMatch(/^built .*v1\.img: \d+ bytes, config version 1, unsigned/);
    expect(statSync(at('v1.img')).mode & 0o777).toBe(0o600);
    expect(failed(await flash('verify', at('v1.img'), '--trust-root', at('admin.pub')), 1)).toBe('shoal: error: flash image: not signed (sign it with `shoal flash sign`)');
    expect(ok(await flash('sign', at('v1.img'), '--key', at('admin.key'), '--out', at('v1.signed')))).toMatch(/^signed .* with key sha256:[0-9a-f]{16}/);
    expect(ok(await flash('verify', at('v1.signed'), '--trust-root', at('admin.pub')))).toMatch(/^ok: signed by sha256:[0-9a-f]{16} \(public key\), config version 1, software digest not checked/);
    const v = JSON.parse(ok(await flash('verify', at('v1.signed'), '--trust-root', at('admin.pub'), '--software-digest', DIGEST, '--json'))) as Record<string, unknown>;
    expect(v).toMatchObject({ ok: true, configVersion: 1, softwareDigest: DIGEST, softwareChecked: true });
  });

  it('verify refuses a wrong signer, a tampered image and a wrong software digest, in one line each', async () => {
    expect(failed(await flash('verify', at('v1.signed'), '--trust-root', at('other.pub')), 1)).toMatch(/^shoal: error: flash image: signed by key sha256:[0-9a-f]{16}, which this box does not trust/);
    const bad = readFileSync(at('v1.signed'));
    bad[300] = (bad[300] ?? 0) ^ 0x01;
    writeFileSync(at('tampered.img'), bad);
    expect(failed(await flash('verify', at('tampered.img'), '--trust-root', at('admin.pub')), 1)).toMatch(/^shoal: error: flash image: signature does not verify/);
    expect(failed(await flash('verify', at('v1.signed'), '--trust-root', at('admin.pub'), '--software-digest', 'cd'.repeat(32)), 1)).toBe(
      `shoal: error: software digest mismatch: the personality requires sha256:${DIGEST}, this software is sha256:${'cd'.repeat(32)}`,
    );
    expect(failed(await flash('verify', at('missing.img'), '--trust-root', at('admin.pub')), 2)).toMatch(/^shoal: cannot read image .*missing\.img/);
    expect(failed(await flash('verify', at('v1.signed'), '--trust-root', at('admin.key')), 2)).toMatch(/holds a private key/);
  });

  it('inspect shows every section but no key material, as text and as JSON', async () => {
    const secrets = [member.memberKeyPem, member.vpnKeyPem].flatMap((pem) => pem.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----')));
    secrets.push(PSK_SECRET);
    const text = ok(await flash('inspect', at('v1.signed')));
    const json = ok(await flash('inspect', at('v1.signed'), '--json'));
    for (const out of [text, json]) for (const secret of secrets) expect(out.includes(secret), `leaked ${secret.slice(0, 12)}…`).toBe(false);
    expect(text).toMatch(/member key +ec-p256 private key \(public key sha256:[0-9a-f]{16}\)/);
    expect(text).toMatch(/file +ipsec-key\.pem: secret, ec-p256 private key/);
    expect(text).toMatch(/allowed members +member-1, member-2/);
    const s = JSON.parse(json) as Record<string, unknown> & { files: { name: string; secret: boolean; key?: { type: string } }[]; config: { ipsec: { psk: { secret: string }[] } } };
    expect(Object.keys(s)).toEqual(['formatVersion', 'bytes', 'signature', 'softwareDigest', 'configVersion', 'config', 'memberChain', 'memberKey', 'trustedCas', 'allowedMembers', 'revokedSerials', 'policy', 'logArea', 'files', 'skippedSections']);
    expect(s.memberKey).toMatchObject({ type: 'ec-p256' });
    expect(s.files.find((f) => f.name === 'ipsec-key.pem')).toMatchObject({ secret: true, key: { type: 'ec-p256' } });
    expect(s.config.ipsec.psk[0]?.secret).toBe(`(redacted, ${PSK_SECRET.length} characters)`);
    expect(failed(await flash('inspect', at('admin.pub')), 1)).toBe('shoal: error: flash image: does not start with "SHOALFPI" (not a personality image)');
  });

  it('diff names the changed version, configuration keys and secrets without showing them', async () => {
    const doc = JSON.parse(readFileSync(member.configPath, 'utf8')) as { cluster: { configVersion: number }; ipsec: { pool: string; psk: { secret: string }[] } };
    doc.cluster.configVersion = 2;
    doc.ipsec.pool = '198.20.0.0/16';
    doc.ipsec.psk[0] = { ...doc.ipsec.psk[0], secret: 'another-secret-value' } as { secret: string };
    writeFileSync(at('m1-v2.json'), JSON.stringify(doc));
    ok(await flash('build', '--config', at('m1-v2.json'), '--out', at('v2.img'), '--software-digest', DIGEST));
    ok(await flash('sign', at('v2.img'), '--key', at('admin.key'), '--out', at('v2.img')));
    const out = ok(await flash('diff', at('v1.signed'), at('v2.img')));
    expect(out.split('\n').filter(Boolean)).toEqual([
      'config version: 1 → 2',
      'config cluster.configVersion: 1 → 2',
      'config ipsec.pool: "198.19.0.0/16" → "198.20.0.0/16"',
      'config ipsec.psk[0].secret: (secret) → (secret, changed)',
    ]);
    expect(out).not.toContain('another-secret-value');
    const json = JSON.parse(ok(await flash('diff', at('v1.signed'), at('v1.signed'), '--json'))) as unknown[];
    expect(json).toEqual([]);
    expect(ok(await flash('diff', at('v1.signed'), at('v1.img')))).toBe(`signer: sha256:${(await keyIdHex('admin.pub')).slice(0, 16)} → unsigned\n`);
  });

  it('install, status, rollback on a device directory', async () => {
    const dev = at('device');
    const installed = ok(await flash('install', at('v1.signed'), '--device', dev, '--trust-root', at('admin.pub')));
    expect(installed).toBe('installed config version 1 in slot a: active slot a good, previous none, lowest config version accepted 1, generation 1\n');
    expect(failed(await flash('rollback', '--device', dev, '--trust-root', at('admin.pub')), 1)).toMatch(/^shoal: error: no previous slot to roll back to/);
    const second = JSON.parse(ok(await flash('install', at('v2.img'), '--device', dev, '--trust-root', at('admin.pub'), '--json'))) as Record<string, unknown>;
    expect(second).toMatchObject({ slot: 'b', configVersion: 2, state: { active: 'b', previous: 'a', trial: true } });
    expect(failed(await flash('install', at('v1.signed'), '--device', dev, '--trust-root', at('admin.pub')), 1)).toMatch(/slot b is on trial/);
    const status = JSON.parse(ok(await flash('status', '--device', dev, '--json'))) as { state: { active: string }; slots: Record<string, number> };
    expect(status.state.active).toBe('b');
    expect(Object.keys(status.slots)).toEqual(['a', 'b']);
    expect(ok(await flash('rollback', '--device', dev, '--trust-root', at('admin.pub')))).toMatch(/^rolled back from slot b to slot a \(config version 1\)/);
    expect(ok(await flash('status', '--device', dev))).toMatch(
      /^active slot a good, previous b, lowest config version accepted 1, generation 3; note: rolled back from slot b by the administrator\nslot a: \d+ bytes\nslot b: \d+ bytes\n$/,
    );
    // Forward to version 2 again, and let it run (what the daemon's start does): version 1 is refused from now on.
    ok(await flash('rollback', '--device', dev, '--trust-root', at('admin.pub')));
    await markGood(await directoryMedium(dev), 'b', 2);
    expect(failed(await flash('rollback', '--device', dev, '--trust-root', at('admin.pub')), 1)).toMatch(
      /^shoal: error: cannot roll back to slot a: slot a holds config version 1, below 2, the highest this box has run \(anti-rollback\)/,
    );
    expect(failed(await flash('install', at('v1.signed'), '--device', dev, '--trust-root', at('admin.pub')), 1)).toMatch(/^shoal: error: the image has config version 1, below 2/);
    expect(ok(await flash('install', at('v1.signed'), '--device', dev, '--trust-root', at('admin.pub'), '--allow-downgrade'))).toBe(
      'installed config version 1 in slot a: active slot a on trial (0 boot attempts), previous b, lowest config version accepted 1, generation 6; note: config version lowered from 2 to 1 by the administrator\n',
    );
    expect(failed(await flash('install', at('tampered.img'), '--device', at('device2'), '--trust-root', at('admin.pub')), 1)).toMatch(/signature does not verify/);
  });

  it('build refuses development certificates and unreadable input, in one line', async () => {
    const devDir = at('dev');
    mkdirSync(devDir);
    const dev = await writeMember(devDir, { ca: await developmentCa() });
    expect(failed(await flash('build', '--config', dev.configPath, '--out', at('dev.img'), '--software-digest', DIGEST), 1)).toMatch(
      /^shoal: error: development certificates \(OU=Shoal development\) cannot go into a personality image: member-chain\[0\]/,
    );
    // An image made some other way with a development CA in it is refused at signing too.
    const p = buildPersonality({ configPath: member.configPath, softwareDigest: new Uint8Array(32) });
    writeFileSync(at('dev.img'), encodeImage({ ...p, trustedCas: [...p.trustedCas, (await developmentCa()).rootDer] }));
    expect(failed(await flash('sign', at('dev.img'), '--key', at('admin.key'), '--out', at('dev.signed')), 1)).toMatch(/^shoal: error: development certificates .*trusted-cas\[1\] .*CN=Shoal Lab Dev CA/);
    expect(failed(await flash('build', '--config', at('nope.json'), '--out', at('x.img'), '--software-digest', DIGEST), 2)).toMatch(/^shoal: cannot read configuration .*nope\.json/);
    expect(failed(await flash('build', '--config', member.configPath, '--out', at('x.img'), '--software-digest', 'xyz'), 2)).toBe("shoal: 'xyz' is not a SHA-256 digest (64 hex digits)");
    expect(failed(await flash('keygen', '--out', at('k'), '--type', 'rsa'), 2)).toMatch(/expected ecdsa-p256 or ed25519/);
    expect(failed(await flash('sign', at('v1.img'), '--out', at('y.img')), 2)).toMatch(/required option '-k, --key <file>' not specified/);
  });

  it('builds for this installation by default, and has help for every command', async () => {
    expect(ok(await flash('build', '--config', member.configPath, '--out', at('here.img')))).toMatch(/^built /);
    const s = JSON.parse(ok(await flash('inspect', at('here.img'), '--json'))) as { softwareDigest: string };
    expect(s.softwareDigest).toMatch(/^[0-9a-f]{64}$/);
    expect(s.softwareDigest).not.toBe(DIGEST);
    const help = ok(await flash('--help'));
    for (const c of ['keygen', 'build', 'sign', 'verify', 'inspect', 'diff', 'install', 'rollback', 'status']) expect(help).toContain(c);
    expect(ok(await flash('inspect', '--help'))).toContain('--json');
  });
});

async function keyIdHex(pub: string): Promise<string> {
  const { readTrustRoot } = await import('../../src/flash/signing.js');
  return Buffer.from(readTrustRoot(at(pub)).keys[0]?.keyId ?? []).toString('hex');
}
