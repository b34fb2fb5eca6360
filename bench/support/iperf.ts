/**
 * iperf3 through a tunnel for bench/ipsec-throughput.ts: a server in the app
 * host's namespace and one client run at a time in the client namespace,
 * each pinned to a core with taskset; the client's JSON report read back as
 * goodput (bytes the receiver got) and, for UDP, loss.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { NodeCommandRunner } from '../../src/ports/command-node.js';

export const IPERF3_BIN = '/usr/bin/iperf3';
const runner = new NodeCommandRunner();

/** A long-running program in a namespace, stopped by its PID. */
export class Background {
  private readonly child: ChildProcess;
  private output = '';
  private exited = false;
  private readonly gone: Promise<void>;

  constructor(
    readonly label: string,
    ns: string,
    argv: readonly string[],
  ) {
    this.child = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (d: string): void => {
      this.output = (this.output + d).slice(-8000);
    };
    this.child.stdout?.setEncoding('utf8').on('data', keep);
    this.child.stderr?.setEncoding('utf8').on('data', keep);
    this.gone = new Promise((r) => {
      this.child.once('close', () => {
        this.exited = true;
        r();
      });
      this.child.once('error', (e) => {
        keep(String(e));
        this.exited = true;
        r();
      });
    });
  }

  get pid(): number | undefined {
    return this.exited ? undefined : this.child.pid;
  }

  async waitFor(re: RegExp, timeoutMs: number): Promise<void> {
    const t0 = performance.now();
    while (!re.test(this.output)) {
      if (this.exited) throw new Error(`${this.label} exited:\n${this.output}`);
      if (performance.now() - t0 > timeoutMs) throw new Error(`${this.label}: no ${String(re)} within ${timeoutMs} ms:\n${this.output}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** SIGTERM by PID, SIGKILL after `graceMs`. Safe to call twice. */
  async stop(graceMs = 2000): Promise<void> {
    if (this.exited) return;
    this.child.kill('SIGTERM');
    const t = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.gone;
    clearTimeout(t);
  }

  /** For a synchronous last-resort cleanup (signal handler). */
  killNow(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }
}

/** `iperf3 -s` on `port` in `ns`, pinned to `cpu`; resolves once it listens. */
export async function iperfServer(ns: string, port: number, cpu: number): Promise<Background> {
  const s = new Background(`iperf3 -s in ${ns}`, ns, ['taskset', '-c', String(cpu), 'stdbuf', '-oL', IPERF3_BIN, '-s', '-p', String(port)]);
  await s.waitFor(/Server listening/, 10_000);
  return s;
}

export interface IperfRun {
  /** Bytes the receiver got. */
  bytes: number;
  /** Goodput at the receiver, bit/s. */
  bitsPerSecond: number;
  /** UDP only: lost datagrams in percent; 0 for TCP. */
  lossPercent: number;
  retransmits: number;
}

export interface IperfClientOptions {
  ns: string;
  server: string;
  port: number;
  /** Source address: the tunnel's virtual address. */
  bind: string;
  seconds: number;
  cpu: number;
  /** UDP at this rate (bit/s) with datagrams of `length` bytes of payload. */
  udp?: { bitsPerSecond: number; length: number };
  /** Socket buffer (-w), e.g. "4M". */
  window?: string;
}

interface IperfJson {
  error?: string;
  end?: {
    sum_received?: { bytes: number; bits_per_second: number; seconds: number };
    sum_sent?: { retransmits?: number };
    sum?: { bytes: number; bits_per_second: number; lost_percent?: number; lost_packets?: number; packets?: number; seconds: number };
  };
}

export async function iperfClient(o: IperfClientOptions): Promise<IperfRun> {
  const argv = ['ip', 'netns', 'exec', o.ns, 'taskset', '-c', String(o.cpu), IPERF3_BIN, '-c', o.server, '-p', String(o.port), '-B', o.bind, '-t', String(o.seconds), '-J'];
  if (o.udp !== undefined) argv.push('-u', '-b', String(Math.round(o.udp.bitsPerSecond)), '-l', String(o.udp.length));
  if (o.window !== undefined) argv.push('-w', o.window);
  const r = await runner.run(argv);
  let j: IperfJson;
  try {
    j = JSON.parse(r.stdout) as IperfJson;
  } catch {
    throw new Error(`${argv.join(' ')}: exit ${r.code}, no JSON report\n${(r.stdout + r.stderr).slice(-2000)}`);
  }
  if (j.error !== undefined || r.code !== 0) throw new Error(`${argv.join(' ')}: ${j.error ?? `exit ${r.code}`}`);
  if (o.udp === undefined) {
    const rx = j.end?.sum_received;
    if (rx === undefined) throw new Error(`iperf3 TCP report without sum_received: ${r.stdout.slice(0, 2000)}`);
    return { bytes: rx.bytes, bitsPerSecond: rx.bits_per_second, lossPercent: 0, retransmits: j.end?.sum_sent?.retransmits ?? 0 };
  }
  const s = j.end?.sum;
  if (s === undefined || s.packets === undefined || s.lost_packets === undefined) throw new Error(`iperf3 UDP report without sum: ${r.stdout.slice(0, 2000)}`);
  const delivered = (s.packets - s.lost_packets) * o.udp.length;
  return { bytes: delivered, bitsPerSecond: (delivered * 8) / s.seconds, lossPercent: s.lost_percent ?? (100 * s.lost_packets) / Math.max(1, s.packets), retransmits: 0 };
}
