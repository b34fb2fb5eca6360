/**
 * strongSwan as a real IKEv2 peer (the lab's client, the interop tests): one charon-systemd
 * daemon per instance, started inside a network namespace the caller made,
 * fully isolated from the machine's own strongSwan (if any) and from other
 * instances running at the same time:
 *
 * - its own STRONGSWAN_CONF (strongswan.conf in the instance directory) with
 *   its own vici socket, its own log file and an explicit `load =` plug-in
 *   list (kernel-libipsec: this kernel has no ESP, so ESP runs in userspace
 *   on a TUN `ipsec0` and must be UDP-encapsulated: `encap = yes`);
 * - its own SWANCTL_DIR (x509/, x509ca/, private/, pubkey/ and swanctl.conf).
 *
 * swanctl runs outside the namespace: it only talks to the daemon's vici
 * socket, a file path. Every swanctl failure throws with the command, its
 * output and the tail of the charon log; a missing binary throws too
 * (never a skip).
 *
 * SA state is read with `swanctl --list-sas --raw` and parsed by parseVici()
 * (strongswan-vici.ts): the raw form is the vici message tree printed as `key=value`,
 * `key{...}` and `key[...]`, stable across versions (it is the wire
 * structure, not a human layout), unlike the default pretty listing.
 *
 * What strongSwan 5.9.8 checks in the certificates (tried with src/pki's
 * member certificates, ECDSA P-256 and RSA 2048):
 * - an identity (`id =`) must be a subjectAltName (DNS or IP) of the
 *   certificate or its full subject DN; the CN alone is refused
 *   (AUTHENTICATION_FAILED, "no trusted … public key found for '<id>'");
 * - the leaf needs keyUsage digitalSignature (or nonRepudiation): "rejecting
 *   certificate without digitalSignature or nonRepudiation keyUsage flags";
 * - no extendedKeyUsage is required; AUTH uses RFC 7427 signatures
 *   (ECDSA_WITH_SHA256_DER, RSA_EMSA_PKCS1_SHA2_256), and an ECDSA leaf
 *   under an RSA CA is fine;
 * - without `remote.id` the initiator accepts any identity the CA certified.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NodeCommandRunner } from '../ports/command-node.js';
import type { CommandRunner } from '../ports/command.js';
import { strongswanConf } from './strongswan-config.js';
import { parseListSas, type IkeSa } from './strongswan-vici.js';

export const CHARON_BIN = '/usr/sbin/charon-systemd';
export const SWANCTL_BIN = '/usr/sbin/swanctl';


export interface StrongSwanOptions {
  /** The namespace to run charon in (the caller creates and deletes it). */
  ns: string;
  /** A fresh directory for this instance's files; created if missing. */
  dir: string;
  /** A label for errors and the log. */
  name: string;
  runner?: CommandRunner;
  /** Default 10 s. */
  readyTimeoutMs?: number;
  /**
   * How many initiate/terminate calls may wait on the daemon at once (default
   * 4); more wait their turn here. Each waiting call holds one charon worker
   * thread until its SA is up or it times out, so the daemon gets one thread
   * per call on top of its default pool (see charonThreads).
   */
  initiations?: number;
}

/**
 * charon's default pool (`threads = 16`): with our plug-ins 8 threads are
 * dedicated (receiver, sender, scheduler, watcher, netlink, libipsec, …),
 * which leaves 8 workers for received packets, retransmissions and vici.
 */
export const CHARON_DEFAULT_THREADS = 16;

/**
 * Threads for a daemon that may have `initiations` blocking vici calls at once:
 * the default pool stays free for everything else. With the default pool and
 * 8 waiting initiations no worker is left to read the peers' answers, and
 * every one of them times out although its answer has arrived.
 */
export function charonThreads(initiations: number): number {
  return CHARON_DEFAULT_THREADS + initiations;
}

export interface Credentials {
  /** PEM of the CA that issued the peer's certificate (written to x509ca/). */
  caPem: string;
  /** PEM of this instance's certificate (x509/<certFile>). */
  certPem: string;
  /** PKCS#8 PEM of its private key (private/<keyFile>). */
  keyPem: string;
  /** Default "ca.pem". */
  caFile?: string;
  /** Default "local.pem": the file name swanctl.conf's `certs =` names. */
  certFile?: string;
  /** Default "local.key". */
  keyFile?: string;
}

/** One CHILD_SA as `--list-sas` reports it. */
export * from './strongswan-vici.js';
export * from './strongswan-config.js';

// ---------------------------------------------------------------- the daemon

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class StrongSwan {
  readonly ns: string;
  readonly name: string;
  readonly dir: string;
  readonly conf: string;
  readonly swanctlDir: string;
  readonly vici: string;
  readonly log: string;
  private readonly runner: CommandRunner;
  /** Blocking vici calls (initiate, terminate) in flight, at most `initiations`; the rest queue here. */
  private readonly blocking: Turns;
  private child: ChildProcess | null = null;
  private exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private output = '';

  private constructor(opts: StrongSwanOptions) {
    this.ns = opts.ns;
    this.name = opts.name;
    this.dir = opts.dir;
    this.conf = join(opts.dir, 'strongswan.conf');
    this.swanctlDir = join(opts.dir, 'swanctl');
    this.vici = join(opts.dir, 'run', 'charon.vici');
    this.log = join(opts.dir, 'charon.log');
    this.runner = opts.runner ?? new NodeCommandRunner();
    this.blocking = new Turns(opts.initiations ?? 4);
  }

  /**
   * Lay out the instance directory and start charon-systemd in `opts.ns`;
   * resolves when the daemon answers on its vici socket. Throws (with the log
   * tail) when the binary is missing, the daemon exits, or it is not ready in time.
   */
  static async start(opts: StrongSwanOptions): Promise<StrongSwan> {
    for (const bin of [CHARON_BIN, SWANCTL_BIN]) {
      if (!existsSync(bin)) throw new Error(`${bin} not found: install charon-systemd and strongswan-swanctl (see .ci/run)`);
    }
    const s = new StrongSwan(opts);
    for (const d of ['x509', 'x509ca', 'private', 'pubkey']) mkdirSync(join(s.swanctlDir, d), { recursive: true });
    mkdirSync(join(s.dir, 'run'), { recursive: true });
    writeFileSync(s.conf, strongswanConf(s.vici, s.log, charonThreads(s.blocking.limit)));
    if (!existsSync(join(s.swanctlDir, 'swanctl.conf'))) writeFileSync(join(s.swanctlDir, 'swanctl.conf'), '');
    // A stale socket makes swanctl talk to nothing (or to a dead daemon) and our readiness check lie.
    rmSync(s.vici, { force: true });
    rmSync(s.log, { force: true });
    await s.spawn(opts.readyTimeoutMs ?? 10_000);
    return s;
  }

  private async spawn(timeoutMs: number): Promise<void> {
    const child = spawn('ip', ['netns', 'exec', this.ns, 'env', `STRONGSWAN_CONF=${this.conf}`, `SWANCTL_DIR=${this.swanctlDir}`, CHARON_BIN], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const keep = (d: string): void => {
      this.output = (this.output + d).slice(-4000);
    };
    child.stdout?.setEncoding('utf8').on('data', keep);
    child.stderr?.setEncoding('utf8').on('data', keep);
    child.on('exit', (code, signal) => (this.exited = { code, signal }));
    child.on('error', (e) => {
      this.exited = { code: null, signal: null };
      keep(String(e));
    });
    const t0 = performance.now();
    for (;;) {
      if (this.exited !== null) throw this.failure(`charon exited during start-up (${JSON.stringify(this.exited)})`);
      if (existsSync(this.vici)) {
        const r = await this.swanctlRaw(['--stats']);
        if (r.code === 0) return;
      }
      if (performance.now() - t0 > timeoutMs) throw this.failure(`charon not ready on ${this.vici} within ${timeoutMs} ms`);
      await sleep(20);
    }
  }

  /** The daemon's PID (charon itself: `ip netns exec` execs it). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== null && this.exited === null;
  }

  /** The last `lines` lines of the charon log (and the daemon's own output). */
  logTail(lines = 40): string {
    let log = '';
    try {
      log = readFileSync(this.log, 'utf8');
    } catch {
      log = '(no charon log)';
    }
    const tail = log.trimEnd().split('\n').slice(-lines).join('\n');
    return this.output.trim() === '' ? tail : `${tail}\n--- charon stdout/stderr ---\n${this.output.trim()}`;
  }

  private failure(what: string): Error {
    return new Error(`strongSwan ${this.name} (netns ${this.ns}): ${what}\n--- tail of ${this.log} ---\n${this.logTail()}`);
  }

  /** Write the CA, this instance's certificate and key into SWANCTL_DIR. */
  writeCredentials(c: Credentials): void {
    writeFileSync(join(this.swanctlDir, 'x509ca', c.caFile ?? 'ca.pem'), c.caPem);
    writeFileSync(join(this.swanctlDir, 'x509', c.certFile ?? 'local.pem'), c.certPem);
    writeFileSync(join(this.swanctlDir, 'private', c.keyFile ?? 'local.key'), c.keyPem, { mode: 0o600 });
  }

  /** Replace swanctl.conf (see clientSwanctlConf / responderSwanctlConf). */
  writeConfig(swanctlConf: string): void {
    writeFileSync(join(this.swanctlDir, 'swanctl.conf'), swanctlConf);
  }

  private swanctlRaw(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return this.runner.run([
      'env',
      `STRONGSWAN_CONF=${this.conf}`,
      `SWANCTL_DIR=${this.swanctlDir}`,
      SWANCTL_BIN,
      ...args,
      '--uri',
      `unix://${this.vici}`,
    ]);
  }

  /** Run swanctl against this instance; throws with its output and the log tail on a non-zero exit. */
  async swanctl(...args: string[]): Promise<string> {
    const r = await this.swanctlRaw(args);
    if (r.code !== 0) {
      throw this.failure(`swanctl ${args.join(' ')}: exit ${r.code}\n${(r.stdout + r.stderr).trim()}`);
    }
    return r.stdout;
  }

  /** `swanctl --load-all`: credentials, connections and pools. Throws when anything failed to load. */
  async load(): Promise<string> {
    const out = await this.swanctl('--load-all', '--noprompt');
    if (/failed|error/i.test(out.split('\n').filter((l) => !/^(opening directory|loading .* failed: .*No such)/.test(l)).join('\n'))) {
      throw this.failure(`swanctl --load-all reported a failure:\n${out}`);
    }
    return out;
  }

  /** Waits for its turn (see `initiations`) before the daemon's timeout starts. */
  async initiate(child: string, timeoutS = 10): Promise<string> {
    return this.blocking.run(() => this.swanctl('--initiate', '--child', child, '--timeout', String(timeoutS)));
  }

  async listSas(): Promise<IkeSa[]> {
    return parseListSas(await this.swanctl('--list-sas', '--raw'));
  }

  async rekeyChild(child: string): Promise<string> {
    return this.swanctl('--rekey', '--child', child);
  }

  async rekeyIke(ike: string): Promise<string> {
    return this.swanctl('--rekey', '--ike', ike);
  }

  async terminate(ike: string, timeoutS = 5): Promise<string> {
    return this.blocking.run(() => this.swanctl('--terminate', '--ike', ike, '--timeout', String(timeoutS)));
  }

  /** Poll listSas() until `done` holds; throws with the last listing and log tail on timeout. */
  async waitForSas(what: string, done: (sas: IkeSa[]) => boolean, timeoutMs = 10_000): Promise<IkeSa[]> {
    const t0 = performance.now();
    for (;;) {
      const sas = await this.listSas();
      if (done(sas)) return sas;
      if (performance.now() - t0 > timeoutMs) throw this.failure(`${what}: not within ${timeoutMs} ms; SAs: ${JSON.stringify(sas)}`);
      await sleep(50);
    }
  }

  /** SIGTERM the daemon (by its PID), SIGKILL after `graceMs`; removes the socket. Safe to call twice. */
  async stop(graceMs = 3000): Promise<void> {
    const child = this.child;
    if (child === null || this.exited !== null) {
      rmSync(this.vici, { force: true });
      return;
    }
    const gone = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await gone;
    clearTimeout(timer);
    rmSync(this.vici, { force: true });
  }
}

/** At most `limit` calls run at once; the others start in call order as running ones finish. */
class Turns {
  private running = 0;
  private readonly queue: (() => void)[] = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`initiations must be a whole number >= 1: ${limit}`);
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((r) => this.queue.push(r));
    else this.running++;
    try {
      return await work();
    } finally {
      const next = this.queue.shift();
      if (next) next(); // the slot passes straight on
      else this.running--;
    }
  }
}
