/**
 * The echo stream (echo-stream.ts) as a child process inside a lab namespace:
 * start it, wait for its ready line, and later stop it and read its result.
 *
 *   spawn ip netns exec <ns> sh -c 'ulimit -n …; exec node echo-stream.js …'
 *     stdout line 1 ─► {"ready":…}          start() resolves
 *     stdin "stop" ─► stdout line 2 ─► {…}   stop() resolves to the EchoStreamResult
 *
 * `ip netns exec` and `sh -c exec` both replace themselves, so the child's PID
 * is the stream's own: kill() signals exactly that process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { ShoalError } from '../lib/errors.js';
import type { EchoStreamOptions, EchoStreamReady, EchoStreamResult } from './echo-stream.js';

export interface EchoStreamLaunch {
  namespace: string;
  nodePath: string;
  /** The built echo-stream.js. */
  script: string;
  options: EchoStreamOptions;
  /** How long to wait for the ready line; default 10 s. */
  readyTimeoutMs?: number;
}

/** What the child printed so far, and how it ended. */
interface ChildOutput {
  lines: string[];
  stderr: string;
  exited: Promise<number | null>;
  /** Called whenever a line arrives or the child exits. */
  wake: () => void;
}

export class EchoStreamProcess {
  readonly #child: ChildProcess;
  readonly #out: ChildOutput;
  readonly ready: EchoStreamReady;

  private constructor(child: ChildProcess, out: ChildOutput, ready: EchoStreamReady) {
    this.#child = child;
    this.#out = out;
    this.ready = ready;
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  static async start(l: EchoStreamLaunch): Promise<EchoStreamProcess> {
    const o = l.options;
    const argv = [
      'netns', 'exec', l.namespace,
      // One socket per flow: raise the descriptor limit for this process only (as far as allowed).
      'sh', '-c', 'ulimit -n 16384 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"', 'sh',
      l.nodePath, l.script, o.target, String(o.port), o.firstSource, String(o.addresses), String(o.portsPerAddress), String(o.intervalMs),
      String(o.drainMs ?? 500),
    ];
    const child = spawn('ip', argv, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: ChildOutput = { lines: [], stderr: '', exited: Promise.resolve(null), wake: () => undefined };
    let partial = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      partial += d;
      for (let nl = partial.indexOf('\n'); nl >= 0; nl = partial.indexOf('\n')) {
        out.lines.push(partial.slice(0, nl));
        partial = partial.slice(nl + 1);
      }
      out.wake();
    });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (out.stderr = (out.stderr + d).slice(-4000)));
    let spawnError: Error | null = null;
    child.once('error', (e) => {
      spawnError = e;
      out.wake();
    });
    out.exited = new Promise((resolve) =>
      child.once('close', (code) => {
        resolve(code);
        out.wake();
      }),
    );
    let exitCode: number | null | undefined;
    void out.exited.then((c) => (exitCode = c));

    const timeoutMs = l.readyTimeoutMs ?? 10_000;
    const t0 = Date.now();
    try {
      const line = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => out.wake(), timeoutMs);
        out.wake = () => {
          const why =
            out.lines.length > 0 ? null
            : spawnError !== null ? `cannot start: ${(spawnError as Error).message}`
            : exitCode !== undefined ? `exited (${exitCode}) before it streamed: ${tail(out.stderr)}`
            : Date.now() - t0 >= timeoutMs ? `not ready within ${timeoutMs} ms: ${tail(out.stderr)}`
            : undefined;
          if (why === undefined) return;
          clearTimeout(timer);
          out.wake = () => undefined;
          if (why === null) resolve(out.lines.shift() ?? '');
          else reject(new ShoalError('LAB_TRAFFIC_FAILED', `echo stream in ${l.namespace}: ${why}`));
        };
        out.wake();
      });
      const ready = JSON.parse(line) as EchoStreamReady;
      if (ready.ready !== true) throw new ShoalError('LAB_TRAFFIC_FAILED', `echo stream: unexpected first line: ${line.slice(0, 200)}`);
      return new EchoStreamProcess(child, out, ready);
    } catch (e) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      throw e;
    }
  }

  /** Tell the stream to stop; resolves to its result once it has printed it and exited. */
  async stop(timeoutMs = 20_000): Promise<EchoStreamResult> {
    this.#child.stdin?.end('stop\n');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
    const code = await Promise.race([this.#out.exited, timeout]);
    clearTimeout(timer);
    if (code === 'timeout') {
      this.kill();
      throw new ShoalError('LAB_TRAFFIC_FAILED', `echo stream: no result within ${timeoutMs} ms`);
    }
    const line = this.#out.lines.shift();
    if (code !== 0 || line === undefined) throw new ShoalError('LAB_TRAFFIC_FAILED', `echo stream exited ${code} without a result: ${tail(this.#out.stderr)}`);
    return JSON.parse(line) as EchoStreamResult;
  }

  /** SIGKILL the stream (cleanup after a failure); does nothing once it has exited. */
  kill(): void {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL');
  }
}

function tail(text: string): string {
  return text.trim().split('\n').slice(-3).join('; ') || 'no output';
}
