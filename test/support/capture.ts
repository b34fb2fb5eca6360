/**
 * tcpdump inside a namespace, writing the pcap to its stdout (no file, so no
 * permission or AppArmor question about where it may write):
 *
 *   ip netns exec <ns> tcpdump -i <dev> -n -U --immediate-mode -s 256 -B 8192 -w - <filter>
 *     stderr "listening on …" ─► start() resolves
 *     SIGTERM ─► tcpdump flushes, prints its counts ─► stop() resolves to the bytes and the kernel drop count
 *
 * A missing tcpdump fails start() loudly. `ip netns exec` replaces itself with
 * tcpdump, so the child's PID is tcpdump's own.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface CaptureResult {
  pcap: Uint8Array;
  /** From tcpdump's closing report: packets the kernel dropped (buffer full); null when it did not say. */
  droppedByKernel: number | null;
  stderr: string;
}

export class Capture {
  readonly #child: ChildProcess;
  readonly #chunks: Buffer[];
  readonly #stderr: () => string;
  readonly #closed: Promise<number | null>;

  private constructor(child: ChildProcess, chunks: Buffer[], stderr: () => string, closed: Promise<number | null>) {
    this.#child = child;
    this.#chunks = chunks;
    this.#stderr = stderr;
    this.#closed = closed;
  }

  static async start(namespace: string, device: string, filter: string, timeoutMs = 10_000): Promise<Capture> {
    const child = spawn('ip', ['netns', 'exec', namespace, 'tcpdump', '-i', device, '-n', '-U', '--immediate-mode', '-s', '256', '-B', '8192', '-w', '-', filter], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const chunks: Buffer[] = [];
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => chunks.push(d));
    const closed = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`tcpdump in ${namespace}: not listening within ${timeoutMs} ms: ${stderr.trim()}`)), timeoutMs);
      child.once('error', (e) => reject(new Error(`tcpdump in ${namespace}: ${e.message}`)));
      child.stderr?.setEncoding('utf8').on('data', (d: string) => {
        stderr += d;
        if (/listening on/.test(stderr)) {
          clearTimeout(timer);
          resolve();
        }
      });
      void closed.then((code) => {
        clearTimeout(timer);
        reject(new Error(`tcpdump in ${namespace} exited (${code}) before it listened (is tcpdump installed?): ${stderr.trim()}`));
      });
    }).catch((e: unknown) => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      throw e;
    });
    return new Capture(child, chunks, () => stderr, closed);
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** SIGTERM, then the whole capture once tcpdump has flushed and exited. */
  async stop(timeoutMs = 10_000): Promise<CaptureResult> {
    this.#child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([this.#closed, new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutMs)))]);
    clearTimeout(timer);
    if (code === 'timeout') {
      this.kill();
      throw new Error(`tcpdump did not exit within ${timeoutMs} ms of SIGTERM`);
    }
    const stderr = this.#stderr();
    const dropped = /(\d+) packets? dropped by kernel/.exec(stderr);
    return { pcap: new Uint8Array(Buffer.concat(this.#chunks)), droppedByKernel: dropped === null ? null : Number(dropped[1]), stderr };
  }

  /** SIGKILL (cleanup after a failure); nothing once it has exited. */
  kill(): void {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL');
  }
}
