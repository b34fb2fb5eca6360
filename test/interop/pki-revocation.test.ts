/**
 * Revocation end to end, as an operator does it: a namespace lab (2 members,
 * unicast) whose pki/ directory is the lab's CA store; `shoal pki` (the built
 * CLI) issues and revokes in it; the members' configurations name its crl.pem
 * (trust.crl and ipsec.crl), so no copy and no restart is needed.
 *
 *   pki issue-client (RSA, ECDSA) ─► strongSwan (charon, client namespace) connects, ping the app host
 *   pki revoke <client>           ─► the next IKE_AUTH gets AUTHENTICATION_FAILED; the other client still connects
 *   pki revoke member-2           ─► m2 restarted is refused at its join ("revoked"), m1 carries on alone
 *
 * strongSwan's own `pki --verify` agrees with the CRL. Runs as root (CI does);
 * a missing tool or privilege fails, never skips.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tearDown } from '../support/teardown.js';
import { CLUSTER, LAB_ADDRESSES } from '../../src/lab/plan.js';
import { ping, requireBinaries } from '../support/ipsec-lab.js';
import { LabCluster } from '../support/lab-cluster.js';
import { CHARON_BIN, clientSwanctlConf, StrongSwan, SWANCTL_BIN } from '../support/strongswan.js';

const CLI = join(process.cwd(), 'dist', 'src', 'mgmt', 'cli', 'main.js');
const PKI_BIN = '/usr/bin/pki';
const cluster = new LabCluster('pkr', 'unicast');
const work = mkdtempSync(join(tmpdir(), 'shoal-pki-revocation-'));
let sw: StrongSwan | null = null;
let pkiDir = '';

const CLIENTS = [
  { label: 'RSA', identity: 'rsa-user.shoal.test', keyType: 'rsa-2048' },
  { label: 'ECDSA', identity: 'ec-user.shoal.test', keyType: 'ecdsa-p256' },
] as const;

/** `shoal pki …` on the lab's CA directory; throws with its output unless it exits 0. */
function pki(...args: string[]): string {
  const r = spawnSync(process.execPath, [CLI, 'pki', ...args, '--dir', pkiDir], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`shoal pki ${args.join(' ')}: exit ${r.status}\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

function client(): StrongSwan {
  if (sw === null) throw new Error('strongSwan is not running (beforeAll failed?)');
  return sw;
}

/** Load the connection for `identity` and initiate it: resolves when established, rejects (swanctl's error) when refused. */
async function connect(identity: string): Promise<void> {
  const s = client();
  s.writeConfig(
    clientSwanctlConf({
      remoteAddr: CLUSTER.outsideAddress,
      proposals: 'aes256gcm16-prfsha256-ecp256',
      espProposals: 'aes256gcm16',
      localId: identity,
      certFile: `${identity}.pem`,
      remoteTs: LAB_ADDRESSES.innerNetwork,
    }),
  );
  await s.load();
  await s.initiate('home', 10);
}

async function disconnect(): Promise<void> {
  const s = client();
  if ((await s.listSas()).length === 0) return;
  await s.terminate('home');
  await s.waitForSas('terminated', (sas) => sas.length === 0, 5000);
}

function authFailures(): number {
  return (readFileSync(client().log, 'utf8').match(/received AUTHENTICATION_FAILED notify error/g) ?? []).length;
}

beforeAll(async () => {
  requireBinaries([CHARON_BIN, SWANCTL_BIN, PKI_BIN, '/usr/bin/ping', CLI]);
  await cluster.up(2, 0);
  pkiDir = cluster.members.pkiDir(cluster.name);
  const s = await StrongSwan.start({ ns: cluster.namespace('cl'), dir: join(work, 'client'), name: 'client' });
  sw = s;
  const caPem = readFileSync(join(pkiDir, 'ca.pem'), 'utf8');
  for (const c of CLIENTS) {
    const issued = JSON.parse(pki('issue-client', c.identity, '--key-type', c.keyType, '--json')) as { certificate: string; key: string };
    s.writeCredentials({ caPem, certPem: readFileSync(issued.certificate, 'utf8'), keyPem: readFileSync(issued.key, 'utf8'), certFile: `${c.identity}.pem`, keyFile: `${c.identity}.key` });
  }
}, 180_000);

afterAll(async () => {
  await tearDown(
    () => sw?.stop(),
    () => cluster.down(),
    () => rmSync(work, { recursive: true, force: true }),
  );
}, 60_000);

describe('shoal pki revoke against a running cluster', () => {
  for (const c of CLIENTS) {
    it(`a ${c.label} client certificate from \`pki issue-client\` authenticates and passes traffic`, async () => {
      await connect(c.identity);
      try {
        const [sa] = await client().listSas();
        expect(sa?.state).toBe('ESTABLISHED');
        expect(sa?.localId).toBe(c.identity);
        const r = await ping(cluster.namespace('cl'), LAB_ADDRESSES.appHost, { count: 3 });
        expect(r.received, r.output).toBe(r.sent);
      } finally {
        await disconnect();
      }
    });
  }

  it('after `pki revoke` the revoked client gets AUTHENTICATION_FAILED; the other still connects; strongSwan reads the CRL the same way', async () => {
    const [revoked, other] = CLIENTS;
    const out = pki('revoke', revoked.identity, '--reason', 'key-compromise');
    expect(out).toMatch(new RegExp(`^Revoked client certificate ${revoked.identity.replace(/\./g, '\\.')} `));
    const before = authFailures();
    await expect(connect(revoked.identity)).rejects.toThrow(/AUTHENTICATION_FAILED|establishing CHILD_SA 'home' failed|initiate failed/);
    expect(authFailures()).toBe(before + 1);
    expect(await client().listSas()).toEqual([]);
    const logs = readFileSync(cluster.members.files(cluster.name, 1).log, 'utf8') + readFileSync(cluster.members.files(cluster.name, 2).log, 'utf8');
    expect(logs).toMatch(/"event":"crl\.reloaded"/);

    await connect(other.identity);
    await disconnect();

    // strongSwan's own X.509 code, given the same CRL, calls the one revoked and the other good.
    const verify = (identity: string): string => {
      const r = spawnSync(PKI_BIN, ['--verify', '--in', join(pkiDir, 'issued', `${identity}.pem`), '--cacert', join(pkiDir, 'ca.pem'), '--crl', join(pkiDir, 'crl.pem')], { encoding: 'utf8' });
      return `${r.stdout}${r.stderr}`;
    };
    expect(verify(revoked.identity)).toMatch(/certificate was revoked/);
    expect(verify(other.identity)).toMatch(/certificate trusted, lifetimes valid, certificate not revoked/);
    expect(verify(other.identity)).toMatch(/crl correctly signed by/);
  }, 60_000);

  it('after `pki revoke member-2` a restarted m2 is refused at its join as revoked, and m1 serves every unit alone', async () => {
    pki('revoke', 'member-2');
    await cluster.members.kill(cluster.name, 2, 'SIGKILL');
    const log = cluster.members.files(cluster.name, 2).log;
    const logged = readFileSync(log, 'utf8').length;
    await cluster.members.start(cluster.name, 2);
    const t0 = Date.now();
    let refusal = '';
    while (Date.now() - t0 < 15_000) {
      refusal = readFileSync(log, 'utf8').slice(logged).split('\n').find((l) => l.includes('"join-refused"')) ?? '';
      if (refusal !== '') break;
      await sleep(100);
    }
    expect(refusal, readFileSync(log, 'utf8').slice(logged).slice(-3000)).toMatch(/"detail":"revoked: member-2 \(serial [0-9a-f]+\) is revoked by its CA's CRL/);
    // m2 runs but stays out (role 'refused'); m1 is master of a one-member cluster serving every unit.
    let view = await cluster.observe();
    const alone = (): boolean => {
      const m1 = view.observations.find((o) => o.member === 1);
      return m1?.status?.role === 'master' && m1.status.members === 1 && m1.units?.served.length === 1024;
    };
    while (!alone() && Date.now() - t0 < 20_000) {
      await sleep(100);
      view = await cluster.observe();
    }
    expect(alone(), JSON.stringify(view.observations.map((o) => [o.member, o.status?.role, o.status?.members, o.units?.served.length]))).toBe(true);
    expect(view.observations.find((o) => o.member === 2)?.status?.role).toBe('refused');
  }, 60_000);
});
