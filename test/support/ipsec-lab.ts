/**
 * Tools for driving real IPsec clients against a namespace lab (see
 * test/interop/ipsec-lab.test.ts): commands in a lab namespace, ping through
 * a tunnel, foreground programs (charon-cmd, iperf3 -s) killed by their PID,
 * a full-size tcpdump to a file, tshark on that file, the members' IPsec
 * counters, and extra client certificates from the lab CA.
 *
 *   spawnIn(ns, argv) ─► Foreground: waitFor(/established/) … stop() (SIGTERM by PID, SIGKILL after a grace)
 *   FileCapture.start(ns, dev, file, filter) ─► stop() flushes and resolves with tcpdump's report
 *   tshark(file, args, configDir?) ─► stdout (throws on a non-zero exit)
 *
 * Every missing binary fails loudly: requireBinaries() at the top of a test
 * file names what to install.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { NodeCommandRunner } from '../../src/ports/command-node.js';
import type { CommandResult } from '../../src/ports/command.js';

const runner = new NodeCommandRunner();

/** Throws naming every binary that is missing (the tests never skip). */
export function requireBinaries(paths: readonly string[]): void {
  const missing = paths.filter((p) => !existsSync(p));
  if (missing.length > 0) {
    throw new Error(`missing ${missing.join(', ')}: install strongswan-swanctl charon-systemd charon-cmd libcharon-extra-plugins libstrongswan-extra-plugins tshark tcpdump iperf3 iputils-ping`);
  }
}

/** Run a program inside namespace `ns`; resolves with its result whatever the exit status. */
export function runIn(ns: string, argv: readonly string[]): Promise<CommandResult> {
  return runner.run(['ip', 'netns', 'exec', ns, ...argv]);
}

/** Run a program in the root namespace; throws with its output on a non-zero exit. */
export async function mustRun(argv: readonly string[], env: Record<string, string> = {}): Promise<string> {
  const envArgs = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  const r = await runner.run(envArgs.length === 0 ? argv : ['env', ...envArgs, ...argv]);
  if (r.code !== 0) throw new Error(`${argv.join(' ')}: exit ${r.code}\n${(r.stdout + r.stderr).trim()}`);
  return r.stdout;
}

export interface PingResult {
  sent: number;
  received: number;
  output: string;
}

/** `ping -c <count> [-I <source>] <dst>` in `ns`, quick interval; the counts from its summary. */
export async function ping(ns: string, dst: string, o: { count?: number; source?: string; waitS?: number } = {}): Promise<PingResult> {
  const count = o.count ?? 3;
  const argv = ['ping', '-n', '-c', String(count), '-i', '0.2', '-W', String(o.waitS ?? 2), ...(o.source === undefined ? [] : ['-I', o.source]), dst];
  const r = await runIn(ns, argv);
  const m = /(\d+) packets transmitted, (\d+) received/.exec(r.stdout);
  return { sent: Number(m?.[1] ?? count), received: Number(m?.[2] ?? 0), output: (r.stdout + r.stderr).trim() };
}

/** A program running in the foreground of a namespace, its output kept (last 64 kB), stopped by its PID. */
export class Foreground {
  readonly #child: ChildProcess;
  readonly #exit: Promise<number | null>;
  #output = '';
  #exited = false;

  constructor(
    readonly label: string,
    ns: string,
    argv: readonly string[],
    env: Record<string, string> = {},
  ) {
    const envArgs = Object.entries(env).map(([k, v]) => `${k}=${v}`);
    // `ip netns exec`, `env` and `stdbuf` exec the program: the child's PID is the program's own.
    // stdbuf: line-buffered stdio, else a program writing to a pipe (charon-cmd, iperf3) shows nothing until it exits.
    this.#child = spawn('ip', ['netns', 'exec', ns, ...(envArgs.length === 0 ? [] : ['env', ...envArgs]), 'stdbuf', '-oL', '-eL', ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (d: string): void => {
      this.#output = (this.#output + d).slice(-65536);
    };
    this.#child.stdout?.setEncoding('utf8').on('data', keep);
    this.#child.stderr?.setEncoding('utf8').on('data', keep);
    this.#exit = new Promise((resolve) => {
      this.#child.once('close', (code) => {
        this.#exited = true;
        resolve(code);
      });
      this.#child.once('error', (e) => {
        keep(String(e));
        this.#exited = true;
        resolve(null);
      });
    });
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get output(): string {
    return this.#output;
  }

  get exited(): boolean {
    return this.#exited;
  }

  /** Resolves when the output matches `re`; throws with the output when the program exits first or time runs out. */
  async waitFor(re: RegExp, timeoutMs: number): Promise<void> {
    const t0 = performance.now();
    while (!re.test(this.#output)) {
      if (this.#exited) throw new Error(`${this.label} exited before ${String(re)}:\n${this.#output.slice(-4000)}`);
      if (performance.now() - t0 > timeoutMs) throw new Error(`${this.label}: no ${String(re)} within ${timeoutMs} ms:\n${this.#output.slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Resolves with the exit code once the program has ended by itself (within `timeoutMs`). */
  async ended(timeoutMs: number): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const r = await Promise.race([this.#exit, new Promise<'timeout'>((res) => (timer = setTimeout(() => res('timeout'), timeoutMs)))]);
    clearTimeout(timer);
    if (r === 'timeout') throw new Error(`${this.label}: still running after ${timeoutMs} ms:\n${this.#output.slice(-4000)}`);
    return r;
  }

  /** SIGTERM by PID, SIGKILL after `graceMs`; resolves when it is gone. Safe to call twice. */
  async stop(graceMs = 3000): Promise<void> {
    if (this.#exited) return;
    this.#child.kill('SIGTERM');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), graceMs);
    await this.#exit;
    clearTimeout(timer);
  }
}

/** tcpdump writing whole packets (`-s 0`) to a file inside a namespace. */
export class FileCapture {
  private constructor(private readonly fg: Foreground) {}

  static async start(ns: string, device: string, file: string, filter: string): Promise<FileCapture> {
    const fg = new Foreground(`tcpdump in ${ns}`, ns, ['tcpdump', '-i', device, '-n', '-U', '--immediate-mode', '-s', '0', '-w', file, filter]);
    try {
      await fg.waitFor(/listening on/, 10_000);
    } catch (e) {
      await fg.stop(500);
      throw e;
    }
    return new FileCapture(fg);
  }

  /** SIGTERM (tcpdump flushes and reports); its closing report. */
  async stop(): Promise<string> {
    await this.fg.stop();
    return this.fg.output;
  }
}

/** tshark -r <file> …; `configDir` becomes its WIRESHARK_CONFIG_DIR (where it finds esp_sa). */
export function tshark(file: string, args: readonly string[], configDir?: string): Promise<string> {
  return mustRun(['tshark', '-n', '-r', file, ...args], configDir === undefined ? {} : { WIRESHARK_CONFIG_DIR: configDir });
}

/** A member daemon's IPsec section of `shoal status --json`. */
export interface MemberIpsec {
  sas: number;
  counters: Record<string, number>;
}

export async function memberIpsec(cliMain: string, socket: string): Promise<MemberIpsec> {
  const out = await mustRun([process.execPath, cliMain, 'status', '--socket', socket, '--json']);
  const s = JSON.parse(out) as { ipsec?: MemberIpsec };
  if (s.ipsec === undefined) throw new Error(`status of ${socket} has no ipsec section:\n${out}`);
  return s.ipsec;
}

/** Run `work` over `items`, at most `limit` at a time; results in input order. */
export async function pool<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    for (;;) {
      const k = next++;
      if (k >= items.length) return;
      results[k] = await work(items[k] as T, k);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}

/** The n-th address after `first` (IPv4 text). */
export function addressAfter(first: string, n: number): string {
  const v = first.split('.').reduce((a, o) => a * 256 + Number(o), 0) + n;
  return [24, 16, 8, 0].map((s) => Math.floor(v / 2 ** s) % 256).join('.');
}
