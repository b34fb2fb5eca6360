/**
 * The admin CLI against a running namespace lab (2 members, unicast, each
 * with metrics on 127.0.0.1:9105 in its namespace) and the lab's real
 * strongSwan client:
 *
 *   shell:   `shoal shell` in a pseudo-terminal (tmux, its own server socket):
 *            show cluster | members | units print what the one-shot commands
 *            print; sh<Tab> completes to "show "; Up recalls the last command;
 *            Ctrl-C drops the line; the history file holds the commands; Ctrl-D leaves
 *   metrics: GET /metrics from member 1's namespace agrees with `shoal units --json`
 *   kill:    `shoal tunnel kill <id>` on the member holding the client's IKE SA
 *            removes it there, its replica on the other member becomes a
 *            tombstone, and the client hears the Delete (its SA list is empty)
 *   config:  `config set | diff | commit` in the shell: member 1 restarts with
 *            version 2 at debug level; the member whose version is not the
 *            master's is excluded until member 2 commits the same change
 *
 * Runs as root (CI does); a missing privilege, tmux, curl or strongSwan fails.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tearDown } from '../support/teardown.js';
import { LAB_IPSEC } from '../../src/lab/ipsec-pki.js';
import { CLUSTER, LAB_ADDRESSES, memberAddress } from '../../src/lab/plan.js';
import type { TunnelView, SessionView } from '../../src/mgmt/admin/ipsec-views.js';
import type { StatusView, UnitsView } from '../../src/mgmt/admin/views.js';
import { requireBinaries } from '../support/ipsec-lab.js';
import { LabCluster } from '../support/lab-cluster.js';
import { CHARON_BIN, StrongSwan, SWANCTL_BIN, clientSwanctlConf } from '../support/strongswan.js';

const MEMBERS = 2;
const CLI = join(process.cwd(), 'dist/src/mgmt/cli/main.js');
const METRICS = '127.0.0.1:9105';
const TMUX = '/usr/bin/tmux';
const c = new LabCluster('adm', 'unicast');
const work = mkdtempSync(join(tmpdir(), 'shoal-admin-'));
const tmuxSocket = `shoal-${c.name}`;
let sw: StrongSwan | null = null;

const socket = (i: number): string => c.members.files(c.name, i).socket;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The built CLI, run as a user would. */
function shoal(...args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function shoalJson<T>(...args: string[]): Promise<T> {
  const r = await shoal(...args, '--json');
  if (r.code !== 0) throw new Error(`shoal ${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

function tmux(...args: string[]): string {
  const r = spawnSync(TMUX, ['-L', tmuxSocket, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tmux ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

function tmuxAlive(): boolean {
  return spawnSync(TMUX, ['-L', tmuxSocket, 'has-session', '-t', 'shell'], { encoding: 'utf8' }).status === 0;
}

/** The pane as text: its scrollback and screen, wrapped lines joined, trailing blanks dropped. */
function screen(): string[] {
  // -J keeps trailing blanks (it joins wrapped lines): drop them, as people read the screen.
  return tmux('capture-pane', '-p', '-J', '-S', '-', '-t', 'shell')
    .replace(/\n+$/, '')
    .split('\n')
    .map((l) => l.trimEnd());
}

async function waitScreen(what: string, ok: (lines: string[]) => boolean, timeoutMs = 10_000): Promise<string[]> {
  const t0 = Date.now();
  for (;;) {
    const lines = screen();
    if (ok(lines)) return lines;
    if (Date.now() - t0 > timeoutMs) throw new Error(`shell: no ${what} within ${timeoutMs} ms; screen:\n${lines.join('\n')}`);
    await sleep(50);
  }
}

/**
 * Type `keys` (literally) and Enter; resolves with what the command printed
 * once the next prompt shows. `shown`: the command line as the screen shows
 * it, when completion or recall made it differ from what was typed.
 */
async function shellRun(prompt: string, keys: string, shown = keys): Promise<string> {
  // Command lines above the one being typed (the last line of the screen).
  const before = screen().slice(0, -1).filter((l) => l.startsWith(prompt)).length;
  if (keys !== '') tmux('send-keys', '-t', 'shell', '-l', keys);
  tmux('send-keys', '-t', 'shell', 'Enter');
  const lines = await waitScreen(`prompt after '${shown}'`, (ls) => ls.slice(0, -1).filter((l) => l.startsWith(prompt)).length > before && ls[ls.length - 1] === prompt.trimEnd());
  return outputOf(lines, prompt, shown);
}

/** What was printed between the last `<prompt><line>` and the prompt after it. */
function outputOf(lines: string[], prompt: string, line: string): string {
  const at = lines.lastIndexOf(`${prompt}${line}`);
  if (at < 0) throw new Error(`'${prompt}${line}' is not on the screen:\n${lines.join('\n')}`);
  const end = lines.findIndex((l, k) => k > at && l.startsWith(prompt.trimEnd()));
  return lines.slice(at + 1, end).join('\n');
}

/** `shoal status` with its live figures masked: the counter values move between any two readings. */
function statusShape(text: string): string[] {
  const [head1, head2, ...table] = text.trimEnd().split('\n');
  return [head1 ?? '', head2 ?? '', ...table.map((l) => l.trim().replace(/\s+\d+$/, ' #'))];
}

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  requireBinaries([TMUX, '/usr/bin/curl', CHARON_BIN, SWANCTL_BIN, '/usr/bin/ping']);
  if (process.geteuid?.() !== 0) throw new Error('the admin lab test needs root (network namespaces): run as root');
  await c.lab.up({ name: c.name, members: MEMBERS, clientAddresses: 4 });
  await c.members.ensurePki(c.name, MEMBERS);
  for (let i = 1; i <= MEMBERS; i++) {
    const path = await c.members.writeConfig(c.name, i, c.mode);
    const config = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    writeFileSync(path, JSON.stringify({ ...config, metrics: { listen: METRICS } }, null, 2));
    await c.members.start(c.name, i);
  }
  await c.members.waitForCluster(c.name, MEMBERS, 20_000, { balanced: true });
  await c.settled(MEMBERS, 1500);
}, 120_000);

afterAll(async () => {
  await tearDown(
    // The server may be exiting on its own (its last shell just left): a "no server running" is fine here.
    () => spawnSync(TMUX, ['-L', tmuxSocket, 'kill-server'], { encoding: 'utf8' }),
    // The tmux server of this run leaves its socket file behind.
    () => rmSync(join(process.env['TMUX_TMPDIR'] ?? '/tmp', `tmux-${process.getuid?.() ?? 0}`, tmuxSocket), { force: true }),
    () => sw?.stop(),
    () => c.down(),
    () => rmSync(work, { recursive: true, force: true }),
  );
}, 60_000);

describe('shoal shell in a pseudo-terminal', () => {
  it('shows the cluster, members and units as the one-shot commands do; completes, recalls history, clears on Ctrl-C, leaves on Ctrl-D', async () => {
    const home = join(work, 'home');
    spawnSync('mkdir', ['-p', home]);
    tmux('new-session', '-d', '-s', 'shell', '-x', '220', '-y', '80', `env HOME=${home} TERM=xterm ${process.execPath} ${CLI} shell --socket ${socket(1)}`);
    const status = await shoalJson<StatusView>('status', '--socket', socket(1));
    const prompt = `${status.cluster}/${memberAddress(1)} ${status.role}> `;
    await waitScreen('first prompt', (ls) => ls[ls.length - 1] === prompt.trimEnd());

    const shownCluster = await shellRun(prompt, 'show cluster');
    const oneShotCluster = await shoal('status', '--socket', socket(1));
    expect(oneShotCluster.code).toBe(0);
    expect(statusShape(shownCluster)).toEqual(statusShape(oneShotCluster.stdout));
    expect(shownCluster).toMatch(/^cluster lab-.*: member 198\.18\.3\.11 is (master|member)/);

    const shownMembers = await shellRun(prompt, 'show members');
    const oneShotMembers = await shoal('members', '--socket', socket(1));
    // The master's loss estimates move; everything else must be the same text.
    const loss = (t: string): string => t.trimEnd().replace(/\d\.\d{4}/g, '0.####');
    expect(loss(shownMembers)).toBe(loss(oneShotMembers.stdout));
    expect(shownMembers).toContain(memberAddress(2));

    const shownUnits = await shellRun(prompt, 'show units');
    expect(shownUnits).toBe((await shoal('units', '--socket', socket(1))).stdout.trimEnd());
    expect(await shellRun(prompt, 'show units --json')).toBe((await shoal('units', '--json', '--socket', socket(1))).stdout.trimEnd());

    // Tab completion: "sh" + Tab → "show ", then the rest typed.
    tmux('send-keys', '-t', 'shell', '-l', 'sh');
    tmux('send-keys', '-t', 'shell', 'Tab');
    await waitScreen('"sh" completed to "show "', (ls) => ls[ls.length - 1] === `${prompt}show`);
    expect(loss(await shellRun(prompt, 'members', 'show members'))).toBe(loss(shownMembers));

    // History: Up recalls the last command, Enter runs it again.
    tmux('send-keys', '-t', 'shell', 'Up');
    await waitScreen('the recalled command', (ls) => ls[ls.length - 1] === `${prompt}show members`);
    expect(loss(await shellRun(prompt, '', 'show members'))).toBe(loss(shownMembers));

    // Ctrl-C drops the line being typed and gives a fresh prompt.
    tmux('send-keys', '-t', 'shell', '-l', 'show units');
    tmux('send-keys', '-t', 'shell', 'C-c');
    await waitScreen('an empty prompt after Ctrl-C', (ls) => ls[ls.length - 1] === prompt.trimEnd() && ls[ls.length - 2] === `${prompt}show units^C`);
    expect(await shellRun(prompt, 'bogus')).toBe("shoal: unknown command 'bogus' (type 'help')");
    expect(await shellRun(prompt, 'show tunnels')).toBe((await shoal('tunnels', '--socket', socket(1))).stdout.trimEnd());

    tmux('send-keys', '-t', 'shell', 'C-d');
    const t0 = Date.now();
    while (tmuxAlive() && Date.now() - t0 < 5000) await sleep(50);
    expect(tmuxAlive()).toBe(false);
    const history = readFileSync(join(home, '.shoal_history'), 'utf8').trimEnd().split('\n');
    expect(history).toEqual(['show cluster', 'show units', 'show units --json', 'show members', 'bogus', 'show tunnels']);
  });
});

describe('metrics', () => {
  it("member 1's GET /metrics agrees with shoal units --json and shoal members", async () => {
    const ns = c.namespace('m1');
    const r = spawnSync('ip', ['netns', 'exec', ns, 'curl', '-sS', '-D', '-', `http://${METRICS}/metrics`], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const [head = '', body = ''] = r.stdout.split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 200/);
    expect(head.toLowerCase()).toContain('content-type: text/plain; version=0.0.4; charset=utf-8');
    const value = (series: string): number | undefined => {
      const line = body.split('\n').find((l) => l.startsWith(`${series} `));
      return line === undefined ? undefined : Number(line.slice(series.length + 1));
    };
    const units = await shoalJson<UnitsView>('units', '--socket', socket(1));
    const perOwner = new Map<string, number>();
    for (const o of units.owners) if (o !== null) perOwner.set(o, (perOwner.get(o) ?? 0) + 1);
    expect(value('shoal_members')).toBe(MEMBERS);
    expect(value('shoal_served_units')).toBe(units.served.length);
    const members = await shoalJson<{ address: string; role: string }[]>('members', '--socket', socket(1));
    expect(members).toHaveLength(MEMBERS);
    for (const m of members) expect(value(`shoal_member_units{member="${m.address}",role="${m.role}"}`), m.address).toBe(perOwner.get(m.address));
    expect([...perOwner.values()].reduce((a, b) => a + b, 0)).toBe(1024);
    expect(body).toMatch(/^# TYPE shoal_drops_total counter$/m);
    expect(value('shoal_packets_total{side="outer",direction="rx"}')).toBeGreaterThan(0);
    const notFound = spawnSync('ip', ['netns', 'exec', ns, 'curl', '-sS', '-o', '/dev/null', '-w', '%{http_code}', `http://${METRICS}/`], { encoding: 'utf8' });
    expect(notFound.stdout).toBe('404');
  });
});

describe('shoal tunnel kill', () => {
  it("deletes the strongSwan client's IKE SA: gone from the member, tombstoned on the other, and the client hears the Delete", async () => {
    const client = LAB_IPSEC.clients[0];
    const pkiDir = c.members.pkiDir(c.name);
    const s = await StrongSwan.start({ ns: c.namespace('cl'), dir: join(work, 'client'), name: 'client' });
    sw = s;
    s.writeCredentials({
      caPem: readFileSync(join(pkiDir, 'ca.pem'), 'utf8'),
      certPem: readFileSync(join(pkiDir, client.cert), 'utf8'),
      keyPem: readFileSync(join(pkiDir, client.key), 'utf8'),
    });
    s.writeConfig(clientSwanctlConf({ remoteAddr: CLUSTER.outsideAddress, proposals: 'aes256gcm16-prfsha256-ecp256', espProposals: 'aes256gcm16', localId: client.name, remoteTs: LAB_ADDRESSES.innerNetwork }));
    await s.load();
    await s.initiate('home', 10);
    const [sa] = await s.listSas();
    if (sa === undefined) throw new Error(`no SA after initiate:\n${s.logTail()}`);
    const ping = spawnSync('ip', ['netns', 'exec', c.namespace('cl'), 'ping', '-n', '-c', '3', '-i', '0.2', '-W', '2', LAB_ADDRESSES.appHost], { encoding: 'utf8' });
    expect(ping.stdout).toMatch(/3 received/);

    // The member holding the tunnel: the owner of its unit.
    const views = await Promise.all([1, 2].map((i) => shoalJson<TunnelView[]>('tunnels', '--socket', socket(i))));
    const owner = views.findIndex((v) => v.some((t) => t.id === sa.responderSpi)) + 1;
    expect(owner, JSON.stringify(views)).toBeGreaterThan(0);
    const other = owner === 1 ? 2 : 1;
    const tunnel = views[owner - 1]!.find((t) => t.id === sa.responderSpi)!;
    expect(tunnel).toMatchObject({ state: 'established', children: 1, virtualIp: sa.localVips[0], peer: `${sa.localHost}:${sa.localPort}` });
    expect(tunnel.identity).toContain(client.name);
    expect(tunnel.bytesIn).toBeGreaterThan(0);
    const sessions = await shoalJson<SessionView[]>('sessions', '--socket', socket(owner));
    const child = sa.children[0]!;
    expect(sessions).toMatchObject([{ tunnel: tunnel.id, spiIn: child.spiOut, spiOut: child.spiIn }]);
    const replicasBefore = (await shoalJson<{ replication: { records: number } }>('status', '--socket', socket(other))).replication.records;
    expect(replicasBefore).toBe(1);

    const wrong = await shoal('tunnel', 'kill', '00000000000000ff', '--socket', socket(owner));
    expect(wrong).toMatchObject({ code: 1, stderr: 'shoal: error: no tunnel 00000000000000ff on this member\n' });
    expect((await shoal('tunnel', 'kill', 'nothex', '--socket', socket(owner))).code).toBe(2);

    const killed = await shoal('tunnel', 'kill', tunnel.id, '--socket', socket(owner));
    expect(killed).toMatchObject({ code: 0, stdout: `tunnel ${tunnel.id} deleted; its client was sent a Delete\n`, stderr: '' });
    await s.waitForSas('the IKE SA deleted by the responder', (sas) => sas.length === 0, 5000);
    expect(s.logTail(400)).toMatch(/received DELETE for IKE_SA home\[\d+\]/);
    expect(await shoalJson<TunnelView[]>('tunnels', '--socket', socket(owner))).toEqual([]);
    const t0 = Date.now();
    let replicas = replicasBefore;
    while (replicas !== 0 && Date.now() - t0 < 3000) {
      await sleep(50);
      replicas = (await shoalJson<{ replication: { records: number } }>('status', '--socket', socket(other))).replication.records;
    }
    expect(replicas).toBe(0);
    expect((await shoal('tunnel', 'kill', tunnel.id, '--socket', socket(owner))).code).toBe(1);
  });
});

describe('shoal cluster leave | join', () => {
  it('a member that leaves serves nothing and its units go to the other (counted as failovers); after join the loads are even again', async () => {
    const before = await shoalJson<{ failovers: number }>('counters', '--socket', socket(1));
    const left = await shoal('cluster', 'leave', '--socket', socket(2));
    expect(left).toMatchObject({ code: 0, stdout: "left the cluster: released 512 units; 'cluster join' brings this member back\n" });
    expect(await shoalJson<StatusView>('status', '--socket', socket(2))).toMatchObject({ role: 'left', servedUnits: 0, members: 0 });
    expect((await shoal('cluster', 'leave', '--socket', socket(2))).code).toBe(1); // once is enough
    const t0 = Date.now();
    let s1 = await shoalJson<StatusView>('status', '--socket', socket(1));
    while ((s1.servedUnits !== 1024 || s1.members !== 1) && Date.now() - t0 < 5000) {
      await sleep(50);
      s1 = await shoalJson<StatusView>('status', '--socket', socket(1));
    }
    expect(s1).toMatchObject({ role: 'master', members: 1, servedUnits: 1024 });
    expect((await shoalJson<{ failovers: number }>('counters', '--socket', socket(1))).failovers - before.failovers).toBe(512);

    const joined = await shoal('cluster', 'join', '--socket', socket(2));
    expect(joined).toMatchObject({ code: 0, stdout: 'joining the cluster (role joining)\n' });
    expect((await shoal('cluster', 'join', '--socket', socket(2))).code).toBe(1); // not out any more
    await c.members.waitForCluster(c.name, MEMBERS, 20_000, { balanced: true });
    expect(await shoalJson<StatusView>('status', '--socket', socket(2))).toMatchObject({ role: 'member', servedUnits: 512, members: 2 });
  });
});

describe('shoal shell: config commit', () => {
  it('set + diff + commit in the shell takes effect on the member (new version, debug logs); the other member, now out of step, is excluded until it gets the same version', async () => {
    const config = (i: number): string => c.members.files(c.name, i).config;
    const log = (i: number): string => c.members.files(c.name, i).log;
    const home = join(work, 'home-config');
    spawnSync('mkdir', ['-p', home]);
    tmux('new-session', '-d', '-s', 'shell', '-x', '220', '-y', '80', `env HOME=${home} TERM=xterm ${process.execPath} ${CLI} shell --socket ${socket(1)} --config ${config(1)}`);
    const s1 = await shoalJson<StatusView>('status', '--socket', socket(1));
    expect(s1.configVersion).toBe(1);
    const prompt = `${s1.cluster}/${memberAddress(1)} ${s1.role}> `;
    await waitScreen('first prompt', (ls) => ls[ls.length - 1] === prompt.trimEnd());

    expect(await shellRun(prompt, 'config set log.level debug')).not.toMatch(/error/i);
    expect(await shellRun(prompt, 'config diff')).toMatch(/^[+~] log\.level: .*"debug"$/m);
    const logBytes = readFileSync(log(1), 'utf8').length;
    // the member restarts under the shell: the prompt after the commit may say so ("(no member)")
    tmux('send-keys', '-t', 'shell', '-l', 'config commit');
    tmux('send-keys', '-t', 'shell', 'Enter');
    const committed = await waitScreen('the commit', (ls) => ls.some((l) => l.includes('restarts with version 2')) && /> ?$/.test(ls[ls.length - 1] ?? ''));
    expect(committed.join('\n')).toMatch(/committed configuration version 2/);
    expect(JSON.parse(readFileSync(config(1), 'utf8'))).toMatchObject({ cluster: { configVersion: 2 }, log: { level: 'debug' } });

    // takes effect: member 1 runs version 2 (restarted in its own process) and logs at debug level
    const t0 = Date.now();
    let now = await shoalJson<StatusView>('status', '--socket', socket(1)).catch(() => null);
    while (now?.configVersion !== 2 && Date.now() - t0 < 10_000) {
      await sleep(100);
      now = await shoalJson<StatusView>('status', '--socket', socket(1)).catch(() => null);
    }
    expect(now?.configVersion).toBe(2);
    // and the shell shows it
    tmux('send-keys', '-t', 'shell', '-l', 'show cluster');
    tmux('send-keys', '-t', 'shell', 'Enter');
    await waitScreen('config version 2 in show cluster', (ls) => ls.some((l) => /config version 2$/.test(l)));

    // the versions differ now: exactly one side is out (the one whose version is not the master's)
    const t1 = Date.now();
    const excluded = async (): Promise<StatusView[]> =>
      (await Promise.all([1, 2].map((i) => shoalJson<StatusView>('status', '--socket', socket(i)).catch(() => null)))).filter(
        (s): s is StatusView => s?.role === 'excluded',
      );
    let out = await excluded();
    while (out.length === 0 && Date.now() - t1 < 10_000) {
      await sleep(100);
      out = await excluded();
    }
    expect(out).toHaveLength(1);
    expect(out[0]!.excluded).toMatch(/config version \d differs from the master's \d/);
    expect(out[0]!.servedUnits).toBe(0);

    // the same change committed on member 2 (one-shot): both at version 2, one cluster again
    expect((await shoal('config', 'set', 'log.level', 'debug', '--config', config(2))).code).toBe(0);
    expect((await shoal('config', 'commit', '--config', config(2), '--socket', socket(2))).code).toBe(0);
    await c.members.waitForCluster(c.name, MEMBERS, 20_000, { balanced: true });
    for (const i of [1, 2]) expect(await shoalJson<StatusView>('status', '--socket', socket(i))).toMatchObject({ configVersion: 2, excluded: null, members: 2 });
    // the new level took effect: member 1 now logs its unit changes (debug lines) as it took its share again
    expect(readFileSync(log(1), 'utf8').slice(logBytes)).toMatch(/"level":"debug","event":"units-(gained|lost)"/);
    tmux('send-keys', '-t', 'shell', 'C-d');
    const t2 = Date.now();
    while (tmuxAlive() && Date.now() - t2 < 5000) await sleep(50);
    expect(tmuxAlive()).toBe(false);
  }, 90_000);
});
