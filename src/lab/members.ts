/**
 * The member daemons of a namespace lab: their development PKI, their
 * configuration files, their processes, and what the lab does with them
 * (wait for the cluster, send traffic, cut and heal the interconnect).
 *
 *   /run/shoal-lab/<lab>/            0700, removed by `shoal lab down`
 *     pki/ca.pem ca.key              a throwaway development CA (made on first use)
 *     pki/m<i>.pem m<i>.key          member-i's chain and key (issued when m<i> first needs one)
 *     m<i>.json                      member-i's daemon configuration (see src/daemon/config.ts)
 *     m<i>.pid  m<i>.start           its process id, and that process's start time (kernel ticks)
 *     m<i>.log  m<i>.sock            its stdout+stderr, its admin socket
 *
 * A daemon is `ip netns exec shl-<lab>-m<i> node dist/src/mgmt/cli/main.js run
 * --config m<i>.json`, started detached so it outlives the `shoal lab` that
 * started it. A recorded PID counts as running only while /proc shows a live
 * process with the recorded start time, so a PID the kernel has reused is
 * never signalled.
 */
import { spawn } from 'node:child_process';
import { createPrivateKey, KeyObject, webcrypto } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { UNIT_COUNT } from '../cluster/types.js';
import { certificatesFromPem } from '../daemon/credentials.js';
import { ShoalError } from '../lib/errors.js';
import { askMember } from '../mgmt/admin/client.js';
import type { StatusView, UnitsView } from '../mgmt/admin/views.js';
import type { CaBundle, MemberBundle } from '../pki/dev-pki.js';
import { COMMAND_NOT_FOUND, type CommandRunner } from '../ports/command.js';
import { NodeCommandRunner } from '../ports/command-node.js';
import { CLUSTER, LAB_ADDRESSES, LAB_LIMITS, MEMBER_DEVICES, labPrefix, memberAddress, validateLabOptions } from './plan.js';
import type { FlowResult } from './udp-flows.js';

/** Where the lab keeps its state file (`<name>.json`) and its directory (`<name>/`). */
export const LAB_RUN_DIR = '/run/shoal-lab';

/** The delivery modes the lab wires up ('forwarding' exists in the stack but not in the lab yet). */
export const LAB_MODES = ['unicast', 'multicast'] as const;
export type LabMode = (typeof LAB_MODES)[number];
export const DEFAULT_LAB_MODE: LabMode = 'unicast';

const DAY_MS = 86_400_000;
const PKI_VALID_DAYS = 30;
const DEV_KEY_TYPE = 'ec-p256';
const DEV_CA_NAME = 'Shoal Lab Dev CA';
const ECHO_PORT = 7;
/** The nftables table `partition` adds inside a member namespace. */
const PARTITION_TABLE = 'shoal_lab_partition';

/** Throws BAD_LAB_MODE unless `mode` is one the lab can run. */
export function parseLabMode(mode: string): LabMode {
  if ((LAB_MODES as readonly string[]).includes(mode)) return mode as LabMode;
  if (mode === 'forwarding')
    throw new ShoalError('BAD_LAB_MODE', 'mode forwarding: not wired into the lab yet (the master forwarding frames over the interconnect); use unicast or multicast');
  throw new ShoalError('BAD_LAB_MODE', `mode '${mode}': expected ${LAB_MODES.join(' or ')}`);
}

/** "m2", "2" → 2; throws BAD_LAB_MEMBER otherwise. */
export function parseMemberName(text: string): number {
  const m = /^m?([1-9]\d*)$/.exec(text.trim());
  const i = Number(m?.[1]);
  if (m === null || i > LAB_LIMITS.members.max) throw new ShoalError('BAD_LAB_MEMBER', `member '${text}': expected m1..m${LAB_LIMITS.members.max}`);
  return i;
}

export interface PkiFiles {
  ca: string;
  certificate: string;
  key: string;
}

export interface PkiReport {
  dir: string;
  ca: string;
  /** True when this call made the CA. */
  createdCa: boolean;
  /** Members whose certificate this call issued. */
  issued: number[];
}

export interface MemberFiles extends PkiFiles {
  config: string;
  socket: string;
  log: string;
  pid: string;
  start: string;
}

export interface DaemonState {
  member: number;
  /** The recorded PID; null when the member was never started. */
  pid: number | null;
  running: boolean;
}

export interface StartedMember {
  member: number;
  pid: number;
  log: string;
}

export interface ClusterMemberRow {
  member: number;
  address: string;
  pid: number | null;
  role: string;
  master: string | null;
  units: number;
}

export interface ClusterReport {
  master: string;
  members: ClusterMemberRow[];
  elapsedMs: number;
}

/** One poll of every running member's admin socket (null where it did not answer). */
export interface MemberObservation {
  member: number;
  pid: number | null;
  status: (StatusView & { dataPlane?: Record<string, number> | null }) | null;
  units: UnitsView | null;
}

export interface TrafficReport {
  target: string;
  port: number;
  firstSource: string;
  addresses: number;
  portsPerAddress: number;
  flows: number;
  answeredOnce: number;
  missing: number;
  duplicated: number;
  /** Of the answered flows, the median milliseconds to the first echo. */
  medianMs: number | null;
  elapsedMs: number;
  /** Echoes each member sent during the demo (its `udp-7` counter's growth). */
  perMember: { member: number; address: string; answered: number }[];
}

export interface TrafficOptions {
  /** First client source address; default the client's first extra address. */
  firstSource?: string;
  addresses: number;
  portsPerAddress: number;
  /** How long the flows wait for echoes; default 2000 ms. */
  waitMs?: number;
}

export interface WaitOptions {
  /** Also wait until the loads differ by at most one unit (after the master's first rebalance). */
  balanced?: boolean;
}

export interface MembersEnvironment {
  /** Default /run/shoal-lab. */
  stateDir?: string;
  /** Runs `nft` and the traffic script; default NodeCommandRunner. */
  runner?: CommandRunner;
  /** The package root (holding package.json and dist/); found from this module by default. */
  packageRoot?: string;
  /** Default process.execPath. */
  nodePath?: string;
}

export class LabMembers {
  readonly #stateDir: string;
  readonly #runner: CommandRunner;
  readonly #packageRoot: string | undefined;
  readonly #nodePath: string;

  constructor(env: MembersEnvironment = {}) {
    this.#stateDir = env.stateDir ?? LAB_RUN_DIR;
    this.#runner = env.runner ?? new NodeCommandRunner();
    this.#packageRoot = env.packageRoot;
    this.#nodePath = env.nodePath ?? process.execPath;
  }

  labDir(name: string): string {
    validateLabOptions({ name, members: 1, clientAddresses: 0 });
    return join(this.#stateDir, name);
  }

  pkiDir(name: string): string {
    return join(this.labDir(name), 'pki');
  }

  files(name: string, i: number): MemberFiles {
    const dir = this.labDir(name);
    const pki = this.pkiDir(name);
    return {
      ca: join(pki, 'ca.pem'),
      certificate: join(pki, `m${i}.pem`),
      key: join(pki, `m${i}.key`),
      config: join(dir, `m${i}.json`),
      socket: join(dir, `m${i}.sock`),
      log: join(dir, `m${i}.log`),
      pid: join(dir, `m${i}.pid`),
      start: join(dir, `m${i}.start`),
    };
  }

  /** The dev CA and member-i's certificate and key, when all three exist. */
  pkiFiles(name: string, i: number): PkiFiles | null {
    const f = this.files(name, i);
    return existsSync(f.ca) && existsSync(f.certificate) && existsSync(f.key) ? { ca: f.ca, certificate: f.certificate, key: f.key } : null;
  }

  /**
   * A development CA on first use, and a certificate for every member 1..members
   * that has none yet (the CA key stays in pki/ca.key so a growing lab can issue more).
   */
  async ensurePki(name: string, members: number): Promise<PkiReport> {
    const dir = this.pkiDir(name);
    await this.#mkdirPrivate(this.labDir(name));
    await this.#mkdirPrivate(dir);
    const caPem = join(dir, 'ca.pem');
    const caKey = join(dir, 'ca.key');
    const notBefore = new Date(Date.now() - DAY_MS);
    const notAfter = new Date(Date.now() + PKI_VALID_DAYS * DAY_MS);
    const report: PkiReport = { dir, ca: caPem, createdCa: false, issued: [] };
    const missing = Array.from({ length: members }, (_, k) => k + 1).filter((i) => this.pkiFiles(name, i) === null);

    // Loaded here, not at start-up: the certificate library takes a while to load.
    const { issueMember, makeDevCluster } = await import('../pki/dev-pki.js');
    const { certificatePem, privateKeyPem } = await import('../pki/pem.js');
    if (!existsSync(caPem) || !existsSync(caKey)) {
      const dev = await makeDevCluster({ count: members, firstIp: memberAddress(1), notBefore, notAfter, caName: DEV_CA_NAME, keyType: DEV_KEY_TYPE });
      await writePrivate(caKey, privateKeyPem(KeyObject.from(dev.ca.keys.privateKey)));
      await writePublic(caPem, certificatePem(dev.ca.rootDer));
      for (const [k, m] of dev.members.entries()) await this.#writeMember(name, k + 1, m);
      return { ...report, createdCa: true, issued: dev.members.map((_, k) => k + 1) };
    }
    if (missing.length === 0) return report;
    const ca = await loadCa(caPem, caKey);
    for (const i of missing) {
      const m = await issueMember(ca, { cn: `member-${i}`, ip: memberAddress(i), notBefore, notAfter, keyType: DEV_KEY_TYPE });
      await this.#writeMember(name, i, m);
      report.issued.push(i);
    }
    return report;
  }

  /** Member-i's daemon configuration: `<labdir>/m<i>.json`. */
  async writeConfig(name: string, i: number, mode: string = DEFAULT_LAB_MODE): Promise<string> {
    const lm = parseLabMode(mode);
    const f = this.files(name, i);
    await this.#mkdirPrivate(this.labDir(name));
    const config = {
      cluster: { name: `lab-${name}`, configVersion: 1 },
      member: { address: memberAddress(i), certificate: f.certificate, key: f.key },
      trust: { ca: [f.ca] },
      interconnect: { group: CLUSTER.controlGroup, port: CLUSTER.controlPort },
      admin: { socket: f.socket },
      outer: {
        tap: MEMBER_DEVICES.outerTap,
        mode: lm,
        address: CLUSTER.outsideAddress,
        subnet: LAB_ADDRESSES.outerNetwork,
        gateway: LAB_ADDRESSES.routerOuter,
        mtu: 1500,
      },
    };
    await writePrivate(f.config, `${JSON.stringify(config, null, 2)}\n`);
    return f.config;
  }

  /** The mode in member-i's configuration file, or null when it has none. */
  configuredMode(name: string, i: number): LabMode | null {
    try {
      const c = JSON.parse(readFileSync(this.files(name, i).config, 'utf8')) as { outer?: { mode?: string } };
      const mode = c.outer?.mode;
      return mode !== undefined && (LAB_MODES as readonly string[]).includes(mode) ? (mode as LabMode) : null;
    } catch {
      return null;
    }
  }

  /** Start member-i's daemon, detached, in its namespace; refuses when it already runs. */
  async start(name: string, i: number): Promise<StartedMember> {
    const f = this.files(name, i);
    const now = this.daemon(name, i);
    if (now.running) throw new ShoalError('LAB_MEMBER_RUNNING', `m${i} of lab '${name}' is already running (pid ${now.pid})`);
    if (!existsSync(f.config)) throw new ShoalError('LAB_MEMBER_UNCONFIGURED', `m${i} of lab '${name}' has no configuration (${f.config})`);
    const cli = this.distFile('src/mgmt/cli/main.js');
    const out = openSync(f.log, 'a', 0o600);
    let child;
    try {
      child = spawn('ip', ['netns', 'exec', `${labPrefix(name)}m${i}`, this.#nodePath, cli, 'run', '--config', f.config], {
        detached: true,
        stdio: ['ignore', out, out],
      });
    } finally {
      closeSync(out);
    }
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (e: NodeJS.ErrnoException) =>
        reject(new ShoalError(e.code === 'ENOENT' ? 'LAB_IP_MISSING' : 'LAB_START_FAILED', `starting m${i}: ${e.message}`, { cause: e })),
      );
    });
    child.unref();
    const pid = child.pid;
    if (pid === undefined) throw new ShoalError('LAB_START_FAILED', `starting m${i}: no process id`);
    const started = procStat(pid)?.startTime;
    if (started === undefined) throw new ShoalError('LAB_START_FAILED', `m${i} (pid ${pid}) exited at once: see ${f.log}`);
    await writePrivate(f.start, `${started}\n`);
    await writePrivate(f.pid, `${pid}\n`);
    return { member: i, pid, log: f.log };
  }

  /** Signal member-i's daemon by its recorded PID (default SIGKILL) and wait until it is gone. */
  async kill(name: string, i: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<{ member: number; pid: number }> {
    const d = this.daemon(name, i);
    if (!d.running || d.pid === null) throw new ShoalError('LAB_MEMBER_NOT_RUNNING', `m${i} of lab '${name}' is not running`);
    process.kill(d.pid, signal);
    if (!(await this.#waitGone(d.pid, 3000))) throw new ShoalError('LAB_KILL_FAILED', `m${i} (pid ${d.pid}) is still running after ${signal}`);
    return { member: i, pid: d.pid };
  }

  /** Member-i's recorded PID and whether that process still runs. */
  daemon(name: string, i: number): DaemonState {
    const f = this.files(name, i);
    let pid: number | null = null;
    try {
      const n = Number(readFileSync(f.pid, 'utf8').trim());
      if (Number.isInteger(n) && n > 1) pid = n;
    } catch {
      // never started
    }
    let started: string | null = null;
    try {
      started = readFileSync(f.start, 'utf8').trim();
    } catch {
      // never started
    }
    return { member: i, pid, running: pid !== null && started !== null && isLive(pid, started) };
  }

  /** Every member with a PID file, running or not, by member number. */
  async daemons(name: string): Promise<DaemonState[]> {
    let entries: string[];
    try {
      entries = await readdir(this.labDir(name));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    return entries
      .map((e) => /^m(\d+)\.pid$/.exec(e)?.[1])
      .filter((x): x is string => x !== undefined)
      .map(Number)
      .sort((a, b) => a - b)
      .map((i) => this.daemon(name, i));
  }

  /** The members whose daemon is alive. */
  async running(name: string): Promise<DaemonState[]> {
    return (await this.daemons(name)).filter((d) => d.running);
  }

  /** Stop every running daemon of the lab: SIGTERM, then SIGKILL after `graceMs`. */
  async stopAll(name: string, graceMs = 1500): Promise<{ member: number; pid: number }[]> {
    const alive = await this.running(name);
    for (const d of alive) if (d.pid !== null) process.kill(d.pid, 'SIGTERM');
    const stopped: { member: number; pid: number }[] = [];
    for (const d of alive) {
      if (d.pid === null) continue;
      if (!(await this.#waitGone(d.pid, graceMs))) {
        process.kill(d.pid, 'SIGKILL');
        if (!(await this.#waitGone(d.pid, 3000))) throw new ShoalError('LAB_KILL_FAILED', `m${d.member} (pid ${d.pid}) survived SIGKILL`);
      }
      stopped.push({ member: d.member, pid: d.pid });
    }
    return stopped;
  }

  /** Ask every running member for its status and units, at once. */
  async observe(name: string, timeoutMs = 500): Promise<MemberObservation[]> {
    const alive = await this.running(name);
    return Promise.all(
      alive.map(async (d) => {
        const socket = this.files(name, d.member).socket;
        const [status, units] = await Promise.all([
          askMember(socket, 'status', timeoutMs).then((r) => r as MemberObservation['status'], () => null),
          askMember(socket, 'units', timeoutMs).then((r) => r as UnitsView, () => null),
        ]);
        return { member: d.member, pid: d.pid, status, units };
      }),
    );
  }

  /**
   * Poll the running members until `expected` of them answer, exactly one is
   * master and all name it, each counts `expected` members, and every unit is
   * served by exactly one of them (with `balanced`, also evenly).
   */
  async waitForCluster(name: string, expected: number, timeoutMs: number, options: WaitOptions = {}): Promise<ClusterReport> {
    const t0 = performance.now();
    let last: MemberObservation[] = [];
    for (;;) {
      last = await this.observe(name);
      const why = clusterProblem(last, expected, options.balanced === true);
      if (why === null) {
        const master = last.find((o) => o.status?.role === 'master')?.status?.self ?? '';
        return {
          master,
          elapsedMs: performance.now() - t0,
          members: last.map((o) => ({
            member: o.member,
            address: o.status?.self ?? memberAddress(o.member),
            pid: o.pid,
            role: o.status?.role ?? 'unknown',
            master: o.status?.master ?? null,
            units: o.units?.served.length ?? 0,
          })),
        };
      }
      if (last.length < expected) {
        const dead = (await this.daemons(name)).filter((d) => !d.running);
        throw new ShoalError(
          'LAB_MEMBER_DIED',
          `lab '${name}': ${last.length} of ${expected} member daemons run; ${dead.map((d) => `m${d.member} exited (${this.#logTail(name, d.member)})`).join('; ') || 'none started'}`,
        );
      }
      if (performance.now() - t0 > timeoutMs)
        throw new ShoalError(
          'LAB_CLUSTER_TIMEOUT',
          `lab '${name}': no cluster of ${expected} after ${timeoutMs} ms: ${why}; now ${describe(last)}; logs in ${this.labDir(name)}/m<i>.log`,
        );
      await sleep(50);
    }
  }

  /** UDP echo flows from the client namespace to the cluster address; counts what came back. */
  async trafficDemo(name: string, o: TrafficOptions): Promise<TrafficReport> {
    const t0 = performance.now();
    const firstSource = o.firstSource ?? LAB_ADDRESSES.clientExtraFirst;
    const waitMs = o.waitMs ?? 2000;
    const script = this.distFile('src/lab/udp-flows.js');
    const before = await this.observe(name);
    const argv = [
      'ip', 'netns', 'exec', `${labPrefix(name)}cl`,
      // One socket per flow: raise the descriptor limit for this process only (as far as allowed).
      'sh', '-c', 'ulimit -n 16384 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"', 'sh',
      this.#nodePath, script, CLUSTER.outsideAddress, String(ECHO_PORT), firstSource, String(o.addresses), String(o.portsPerAddress), String(waitMs),
    ];
    const r = await this.#runner.run(argv);
    if (r.code !== 0) throw new ShoalError('LAB_TRAFFIC_FAILED', `the UDP flows in the client namespace failed (exit ${r.code}): ${r.stderr.trim().split('\n').slice(-2).join('; ')}`);
    let flows: FlowResult[];
    try {
      flows = (JSON.parse(r.stdout) as { flows: FlowResult[] }).flows;
    } catch {
      throw new ShoalError('LAB_TRAFFIC_FAILED', 'the UDP flows printed no result');
    }
    const after = await this.observe(name);
    const echoes = (obs: MemberObservation[], i: number): number => obs.find((x) => x.member === i)?.status?.dataPlane?.[`udp-${ECHO_PORT}`] ?? 0;
    const times = flows.flatMap((f) => (f.ms === null ? [] : [f.ms])).sort((a, b) => a - b);
    return {
      target: CLUSTER.outsideAddress,
      port: ECHO_PORT,
      firstSource,
      addresses: o.addresses,
      portsPerAddress: o.portsPerAddress,
      flows: flows.length,
      answeredOnce: flows.filter((f) => f.replies === 1).length,
      missing: flows.filter((f) => f.replies === 0).length,
      duplicated: flows.filter((f) => f.replies > 1).length,
      medianMs: times.length === 0 ? null : (times[times.length >> 1] ?? null),
      elapsedMs: performance.now() - t0,
      perMember: after.map((x) => ({ member: x.member, address: memberAddress(x.member), answered: echoes(after, x.member) - echoes(before, x.member) })),
    };
  }

  /** Cut the interconnect: inside each member namespace, drop UDP to and from the control port on ic0. */
  async partition(name: string, members: readonly number[]): Promise<void> {
    await this.#nft(name, members, partitionRules());
  }

  /** Undo `partition` (does nothing where there is no cut). */
  async heal(name: string, members: readonly number[]): Promise<void> {
    await this.#nft(name, members, `table ip ${PARTITION_TABLE}\ndelete table ip ${PARTITION_TABLE}\n`);
  }

  /** A file under dist/ of the package (the built CLI, the flows script). */
  distFile(relative: string): string {
    const root = this.#packageRoot ?? packageRoot();
    const file = join(root, 'dist', relative);
    if (!existsSync(file)) throw new ShoalError('LAB_DIST_MISSING', `${file} is missing: run \`npm run build\` first`);
    return file;
  }

  async #nft(name: string, members: readonly number[], rules: string): Promise<void> {
    try {
      const v = await this.#runner.run(['nft', '--version']);
      if (v.code !== 0) throw new ShoalError('LAB_NFT_MISSING', `\`nft --version\` failed (exit ${v.code}): install nftables`);
    } catch (e) {
      if (e instanceof ShoalError && e.code === COMMAND_NOT_FOUND)
        throw new ShoalError('LAB_NFT_MISSING', '`nft` not found: partition and heal need nftables (apt-get install nftables)', { cause: e });
      throw e;
    }
    const results = await Promise.all(
      members.map(async (i) => ({ i, r: await this.#runner.run(['ip', 'netns', 'exec', `${labPrefix(name)}m${i}`, 'nft', '-f', '-'], { input: rules }) })),
    );
    const bad = results.find((x) => x.r.code !== 0);
    if (bad !== undefined) throw new ShoalError('LAB_COMMAND_FAILED', `nft in m${bad.i} failed (exit ${bad.r.code}): ${bad.r.stderr.trim().split('\n')[0] ?? ''}`);
  }

  /** Waits until `pid` has exited (gone, or a zombie waiting for its parent). */
  async #waitGone(pid: number, timeoutMs: number): Promise<boolean> {
    const t0 = performance.now();
    const startTime = procStat(pid)?.startTime;
    while (startTime !== undefined && isLive(pid, startTime)) {
      if (performance.now() - t0 > timeoutMs) return false;
      await sleep(20);
    }
    return true;
  }

  #logTail(name: string, i: number): string {
    try {
      const lines = readFileSync(this.files(name, i).log, 'utf8').trim().split('\n');
      return lines.at(-1)?.slice(0, 300) || 'empty log';
    } catch {
      return 'no log';
    }
  }

  async #writeMember(name: string, i: number, m: MemberBundle): Promise<void> {
    const { certificatePem, privateKeyPem } = await import('../pki/pem.js');
    const f = this.files(name, i);
    await writePrivate(f.key, privateKeyPem(m.privateKey));
    await writePublic(f.certificate, m.chain.map(certificatePem).join(''));
  }

  async #mkdirPrivate(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700);
  }
}

function partitionRules(): string {
  const ic = MEMBER_DEVICES.interconnect;
  const port = CLUSTER.controlPort;
  return [
    // Replace any earlier cut: make sure the table exists, drop it, then write it whole.
    `table ip ${PARTITION_TABLE}`,
    `delete table ip ${PARTITION_TABLE}`,
    `table ip ${PARTITION_TABLE} {`,
    '  chain in {',
    '    type filter hook input priority 0; policy accept;',
    `    iifname "${ic}" udp dport ${port} drop`,
    `    iifname "${ic}" udp sport ${port} drop`,
    '  }',
    '  chain out {',
    '    type filter hook output priority 0; policy accept;',
    `    oifname "${ic}" udp dport ${port} drop`,
    `    oifname "${ic}" udp sport ${port} drop`,
    '  }',
    '}',
    '',
  ].join('\n');
}

/** Why `obs` is not yet one settled cluster of `expected`; null when it is. */
function clusterProblem(obs: readonly MemberObservation[], expected: number, balanced: boolean): string | null {
  if (obs.length !== expected) return `${obs.length} member daemons run, expected ${expected}`;
  const silent = obs.filter((o) => o.status === null || o.units === null);
  if (silent.length > 0) return `no answer from ${silent.map((o) => `m${o.member}`).join(' ')}`;
  const masters = obs.filter((o) => o.status?.role === 'master');
  if (masters.length !== 1) return `${masters.length} masters`;
  const master = masters[0]?.status?.self;
  if (obs.some((o) => o.status?.master !== master)) return 'members disagree on the master';
  if (obs.some((o) => o.status?.members !== expected)) return 'membership not complete';
  const counts = obs.map((o) => o.units?.served.length ?? 0);
  const served = new Set(obs.flatMap((o) => o.units?.served ?? []));
  if (served.size !== UNIT_COUNT || counts.reduce((a, b) => a + b, 0) !== UNIT_COUNT) return `${served.size} of ${UNIT_COUNT} units served, ${counts.reduce((a, b) => a + b, 0)} servings`;
  if (balanced && Math.max(...counts) - Math.min(...counts) > 1) return `loads not balanced yet (${counts.join('/')})`;
  return null;
}

function describe(obs: readonly MemberObservation[]): string {
  return obs.map((o) => `m${o.member} ${o.status?.role ?? 'silent'} ${o.units?.served.length ?? '?'} units`).join(', ') || 'no member runs';
}

/** State and start time (field 22, clock ticks after boot) of a live process; null when it has exited (gone or zombie). */
function procStat(pid: number): { state: string; startTime: string } | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = fields[0] ?? '';
  const startTime = fields[19];
  if (state === 'Z' || state === 'X' || startTime === undefined) return null;
  return { state, startTime };
}

/** True while `pid` is a live process started at `startTime` (so not a reused PID). */
function isLive(pid: number, startTime: string): boolean {
  return procStat(pid)?.startTime === startTime;
}

/** The directory holding the shoal package.json, walking up from this module (src/lab or dist/src/lab). */
export function packageRoot(from: string = import.meta.url): string {
  let dir = dirname(fileURLToPath(from));
  for (let k = 0; k < 8; k++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown };
      if (pkg.name === 'shoal') return dir;
    } catch {
      // not here
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new ShoalError('LAB_DIST_MISSING', 'cannot find the shoal package root (package.json) above this module');
}

/** The dev CA back from its PEM files, able to issue more member certificates. */
async function loadCa(certFile: string, keyFile: string): Promise<CaBundle> {
  const [der] = certificatesFromPem(await readFile(certFile, 'utf8'), certFile);
  if (der === undefined) throw new ShoalError('LAB_PKI_BAD', `${certFile} holds no certificate`);
  const x509 = await import('@peculiar/x509');
  const { DEFAULT_ORGANIZATION } = await import('../pki/dev-pki.js');
  const cert = new x509.X509Certificate(der);
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256' };
  const pkcs8 = createPrivateKey(await readFile(keyFile, 'utf8')).export({ type: 'pkcs8', format: 'der' });
  const privateKey = await webcrypto.subtle.importKey('pkcs8', pkcs8, algorithm, true, ['sign']);
  const publicKey = await webcrypto.subtle.importKey('spki', cert.publicKey.rawData, algorithm, true, ['verify']);
  return {
    name: DEV_CA_NAME,
    der,
    cert,
    keys: { privateKey, publicKey },
    keyType: DEV_KEY_TYPE,
    serial: cert.serialNumber,
    organization: DEFAULT_ORGANIZATION,
    rootDer: der,
    chainAboveLeaf: [],
  };
}

async function writePrivate(path: string, text: string): Promise<void> {
  await writeFile(`${path}.tmp`, text, { mode: 0o600 });
  await chmod(`${path}.tmp`, 0o600);
  await rename(`${path}.tmp`, path);
}

async function writePublic(path: string, text: string): Promise<void> {
  await writeFile(`${path}.tmp`, text, { mode: 0o644 });
  await rename(`${path}.tmp`, path);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

