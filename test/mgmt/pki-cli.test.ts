/**
 * `shoal pki` as an operator runs it: the built CLI (`node dist/src/mgmt/cli/main.js`,
 * built by `npm test` before vitest), its files, its text and JSON output, and
 * its errors: one line on stderr, exit 2 for bad values, 1 for refusals.
 */
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runNode, type NodeRun } from '../support/run-node.js';
import type { IndexEntry } from '../../src/pki/store-index.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(ROOT, 'dist', 'src', 'mgmt', 'cli', 'main.js');
const work = mkdtempSync(join(tmpdir(), 'shoal-pki-cli-'));
const dir = join(work, 'ca');

type Run = NodeRun;

function shoal(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return runNode([CLI, ...args], { cwd: work, timeoutMs: 60_000, env: { ...process.env, SHOAL_PKI_DIR: '', ...env } });
}

/** `shoal pki <args> --dir <dir> --json`, which must succeed; its JSON. */
async function pkiJson<T>(...args: string[]): Promise<T> {
  const r = await shoal(['pki', ...args, '--dir', dir, '--json']);
  expect(r.stderr, r.stderr).toBe('');
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout) as T;
}

/** The run failed with exit `status` and exactly one line on stderr matching `message`. */
function expectError(r: Run, status: number, message: RegExp): void {
  expect(r.status, r.stdout + r.stderr).toBe(status);
  expect(r.stderr).toMatch(/^shoal: [^\n]*\n$/);
  expect(r.stderr).toMatch(message);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

type Listed = { ca: { keyType: string }; development: boolean; crlNumber: number; certificates: (IndexEntry & { status: string })[] };

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: build with \`npm run build\` (npm test does) before running this file`);
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('shoal pki', () => {
  it('init-ca, issue-member/client/server with both key families, revoke, list: files, text and JSON', async () => {
    const init = await shoal(['pki', 'init-ca', '--dir', dir, '--key-type', 'rsa-2048', '--days', '400']);
    expect(init.stderr).toBe('');
    expect(init.status).toBe(0);
    expect(init.stdout).toMatch(/^Made CA "CN=Shoal Cluster CA, O=Shoal" in .*ca \(rsa-2048, serial [0-9a-f]+, valid to /);
    expect(statSync(join(dir, 'ca.key')).mode & 0o777).toBe(0o600);
    for (const f of ['ca.pem', 'crl.pem', 'index.json']) expect(existsSync(join(dir, f)), f).toBe(true);

    // One at a time: the directory's lock refuses a second command while one changes it.
    const member = await pkiJson<IndexEntry & { certificate: string; key: string }>('issue-member', 'member-1', '--address', '198.18.3.11');
    const ec = await pkiJson<IndexEntry>('issue-client', 'client1.shoal.test', '--key-type', 'ecdsa-p256');
    expect(member).toMatchObject({ kind: 'member', name: 'member-1', keyType: 'ecdsa-p256', san: ['dns:member-1.shoal.test', 'ip:198.18.3.11'] });
    expect(member.certificate).toBe(join(dir, 'issued', 'member-1.pem'));
    expect(statSync(member.key).mode & 0o777).toBe(0o600);
    expect(ec).toMatchObject({ kind: 'client', keyType: 'ecdsa-p256', san: ['dns:client1.shoal.test'] });
    const rsaClient = await pkiJson<IndexEntry>('issue-client', 'client2.shoal.test', '--key-type', 'rsa-2048', '--days', '30');
    expect(rsaClient).toMatchObject({ kind: 'client', keyType: 'rsa-2048' });
    expect(Date.parse(rsaClient.notAfter) - Date.parse(rsaClient.notBefore)).toBe(31 * 86_400_000);
    const vpn = await shoal(['pki', 'issue-server', 'vpn.shoal.test', '--address', '198.18.1.10', '--key-type', 'ecdsa-p384', '--dir', dir]);
    expect(vpn.status).toBe(0);
    expect(vpn.stdout).toMatch(/^Issued server certificate vpn\.shoal\.test \(serial [0-9a-f]+, ecdsa-p384, dns:vpn\.shoal\.test ip:198\.18\.1\.10, valid to /);

    const revoked = await pkiJson<IndexEntry & { crlNumber: number }>('revoke', 'member-1', '--reason', 'key-compromise');
    expect(revoked).toMatchObject({ serial: member.serial, revocationReason: 'key-compromise', crlNumber: 2 });
    expect(revoked.revokedAt).not.toBeNull();

    const listed = await pkiJson<Listed>('list');
    expect(listed.ca.keyType).toBe('rsa-2048');
    expect(listed.development).toBe(false);
    expect(listed.certificates.map((c) => [c.name, c.kind, c.status])).toEqual([
      ['member-1', 'member', 'revoked'],
      ['client1.shoal.test', 'client', 'valid'],
      ['client2.shoal.test', 'client', 'valid'],
      ['vpn.shoal.test', 'server', 'valid'],
    ]);
    const text = await shoal(['pki', 'list', '--dir', dir]);
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(/NAME\s+KIND\s+SERIAL\s+STATUS\s+KEY\s+NOT AFTER\s+SAN/);
    expect(text.stdout).toMatch(/member-1\s+member\s+[0-9a-f]+\s+revoked \d{4}-\d\d-\d\d \(key-compromise\)/);
    expect(text.stdout).toMatch(/vpn\.shoal\.test\s+server\s+[0-9a-f]+\s+valid\s+ecdsa-p384/);

    const crl = await pkiJson<{ crlNumber: number; revoked: number }>('crl');
    expect(crl).toMatchObject({ crlNumber: 3, revoked: 1 });
  }, 60_000);

  it('refusals exit 1 with one line: existing CA, existing files, no CA, unknown name, already revoked', async () => {
    const own = join(work, 'refusals');
    expect((await shoal(['pki', 'init-ca', '--dir', own, '--development'])).status).toBe(0);
    // Commands that change `own` run one at a time (its lock refuses a second one meanwhile).
    const [again, missing] = await Promise.all([shoal(['pki', 'init-ca', '--dir', own]), shoal(['pki', 'list', '--dir', join(work, 'nowhere')])]);
    const unknown = await shoal(['pki', 'revoke', 'member-9', '--dir', own]);
    expectError(again, 1, /a CA exists in .*--force replaces it/);
    expectError(missing, 1, /no CA in .*nowhere .*shoal pki init-ca/);
    expectError(unknown, 1, /no certificate named or numbered 'member-9'/);
    expect((await shoal(['pki', 'issue-member', 'member-1', '--address', '198.18.0.1', '--dir', own])).status).toBe(0);
    expectError(await shoal(['pki', 'issue-member', 'member-1', '--address', '198.18.0.1', '--dir', own]), 1, /member-1\.pem and .*member-1\.key exist: --force replaces them/);
    expect((await shoal(['pki', 'revoke', 'member-1', '--dir', own])).status).toBe(0);
    expectError(await shoal(['pki', 'revoke', 'member-1', '--dir', own]), 1, /'member-1' \(serial [0-9a-f]+\) is already revoked/);
    const forced = await shoal(['pki', 'init-ca', '--dir', own, '--force', '--json']);
    expect(forced.status).toBe(0);
    expect((JSON.parse(forced.stdout) as { development: boolean }).development).toBe(false);
  }, 60_000);

  it('bad values exit 2 with one line: key type, reason, days, address, identity, missing --address, unknown subcommand', async () => {
    const cases: [string[], RegExp][] = [
      [['pki', 'init-ca', '--key-type', 'ed25519'], /--key-type.*'ed25519'.*ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072/],
      [['pki', 'revoke', 'x', '--reason', 'bored'], /--reason.*'bored'/],
      [['pki', 'issue-client', 'a.example.com', '--days', '0'], /--days.*1 to 36500/],
      [['pki', 'issue-member', 'member-2', '--address', '198.18.0.256', '--dir', dir], /member address '198\.18\.0\.256' is not an IPv4 address/],
      [['pki', 'issue-client', 'not valid!', '--dir', dir], /identity 'not valid!'/],
      [['pki', 'issue-member', 'member-2', '--dir', dir], /required option '--address <ip>'/],
      [['pki', 'frobnicate'], /unknown command 'frobnicate'/],
    ];
    const runs = await Promise.all(cases.map(([args]) => shoal(args)));
    runs.forEach((r, i) => expectError(r, 2, cases[i]?.[1] ?? /./));
  }, 60_000);

  it('takes the directory from $SHOAL_PKI_DIR, else ./certs/ca; --help describes every subcommand', async () => {
    const fromEnv = join(work, 'from-env');
    expect((await shoal(['pki', 'init-ca', '--key-type', 'ecdsa-p384'], { SHOAL_PKI_DIR: fromEnv })).status).toBe(0);
    expect(existsSync(join(fromEnv, 'ca.pem'))).toBe(true);
    expect((await shoal(['pki', 'init-ca'])).status).toBe(0);
    expect(existsSync(join(work, 'certs', 'ca', 'ca.pem'))).toBe(true);
    const help = await shoal(['pki', '--help']);
    expect(help.status).toBe(0);
    for (const sub of ['init-ca', 'issue-member', 'issue-client', 'issue-server', 'revoke', 'list', 'crl']) expect(help.stdout).toMatch(new RegExp(`^\\s+${sub}\\b`, 'm'));
    const sub = await shoal(['pki', 'issue-client', '--help']);
    expect(sub.stdout).toMatch(/--key-type <type>/);
    expect(sub.stdout).toMatch(/--json/);
  }, 60_000);
});
