/**
 * A continuous UDP echo stream, run inside the client namespace as its own
 * process (so its sockets bind the client's addresses): F flows, each one
 * socket bound to (source address, source port), each sending a
 * sequence-numbered datagram every `intervalMs` to the cluster address and
 * recording when it sent every sequence number and when every echo came back.
 *
 *   tick (every intervalMs / PHASES) ─► flows due ─► send "<src>:<port>:<seq>"
 *   socket 'message' ─► parse ─► replies.push([seq, t])        (every echo, duplicates too)
 *   "stop" on stdin / SIGTERM / stdin closed / maxMs ─► stop sending ─► drainMs ─► one JSON line
 *
 * Times are wall-clock milliseconds (performance.timeOrigin + performance.now(),
 * so a test can relate them to the instant it sent a signal), written relative
 * to `epoch` to keep the output small. Before the result, the process prints
 * one `{"ready":…}` line once every socket is bound and the first round is sent.
 * Flows are spread over PHASES phases of the interval, so the stream is not
 * one burst of F datagrams. A sequence number whose send failed is recorded
 * as null (not sent).
 *
 * Usage: node echo-stream.js <target> <port> <firstSrc> <addresses> <portsPerAddress> <intervalMs> [drainMs] [maxMs]
 */
import dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { formatIpv4, parseIpv4 } from '../lib/ipv4.js';
import { isMainModule } from '../lib/main-module.js';

export interface EchoStreamOptions {
  target: string;
  port: number;
  firstSource: string;
  addresses: number;
  portsPerAddress: number;
  intervalMs: number;
  /** How long to keep listening for echoes after the last send; default 500 ms. */
  drainMs?: number;
}

/** One flow's record; times in ms after the result's `epoch`. */
export interface StreamFlowRecord {
  src: string;
  port: number;
  /** Index = sequence number: when it was sent, or null when the send failed. */
  sent: (number | null)[];
  /** Every echo, in arrival order: [sequence number, arrival time]. */
  replies: [number, number][];
}

export interface EchoStreamResult {
  target: string;
  port: number;
  intervalMs: number;
  /** Wall-clock ms (timeOrigin + now) that every time in `flows` is relative to. */
  epoch: number;
  /** When the first datagram went out and when sending stopped (relative to epoch). */
  startedAt: number;
  stoppedAt: number;
  flows: StreamFlowRecord[];
  /** Datagrams that arrived on a flow's socket but did not echo that flow. */
  stray: number;
  sendErrors: number;
}

/** What the process prints once it streams. */
export interface EchoStreamReady {
  ready: true;
  epoch: number;
  flows: number;
}

/** Source ports of a flow: 41000, 41001, … per source address (not the one-shot flows' 40000…). */
export const STREAM_FIRST_PORT = 41000;
/** Flows are spread over this many phases of the interval. */
const PHASES = 4;

/** Wall-clock milliseconds, sub-millisecond resolution. */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

/** The text a flow sends (and expects back) for a sequence number. */
export function streamPayload(src: string, port: number, seq: number): string {
  return `${src}:${port}:${seq}`;
}

/** The (src, port, seq) a payload names, or null when it is not one of ours. */
export function parseStreamPayload(text: string): { src: string; port: number; seq: number } | null {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5}):(\d{1,9})$/.exec(text);
  if (m === null) return null;
  return { src: m[1] ?? '', port: Number(m[2]), seq: Number(m[3]) };
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

/** A running stream; `stop()` ends it and resolves to the result. */
export class EchoStream {
  readonly #o: Required<EchoStreamOptions>;
  readonly #epoch = wallNow();
  readonly #flows: { record: StreamFlowRecord; socket: dgram.Socket; next: number; seq: number }[] = [];
  #timer: NodeJS.Timeout | null = null;
  #startedAt = 0;
  #stoppedAt = 0;
  #stray = 0;
  #sendErrors = 0;
  #stopping: Promise<EchoStreamResult> | null = null;

  private constructor(o: EchoStreamOptions) {
    this.#o = { drainMs: 500, ...o };
  }

  get epoch(): number {
    return this.#epoch;
  }

  get flowCount(): number {
    return this.#flows.length;
  }

  /** Bind every flow's socket, send the first round, and keep sending. */
  static async start(o: EchoStreamOptions): Promise<EchoStream> {
    const s = new EchoStream(o);
    try {
      await s.#open();
    } catch (e) {
      for (const f of s.#flows) f.socket.close();
      throw e;
    }
    s.#startedAt = round2(wallNow() - s.#epoch);
    const now = performance.now();
    s.#flows.forEach((f, k) => (f.next = now + ((k % PHASES) * s.#o.intervalMs) / PHASES));
    s.#tick();
    s.#timer = setInterval(() => s.#tick(), Math.max(1, Math.floor(s.#o.intervalMs / PHASES)));
    return s;
  }

  async #open(): Promise<void> {
    const base = parseIpv4(this.#o.firstSource);
    for (let a = 0; a < this.#o.addresses; a++) {
      const src = formatIpv4((base + a) >>> 0);
      for (let p = 0; p < this.#o.portsPerAddress; p++) {
        const port = STREAM_FIRST_PORT + p;
        const record: StreamFlowRecord = { src, port, sent: [], replies: [] };
        const socket = dgram.createSocket('udp4');
        this.#flows.push({ record, socket, next: 0, seq: 0 });
        socket.on('message', (msg) => {
          const t = round2(wallNow() - this.#epoch);
          const m = parseStreamPayload(msg.toString('latin1'));
          if (m === null || m.src !== src || m.port !== port || m.seq >= record.sent.length) this.#stray++;
          else record.replies.push([m.seq, t]);
        });
        await new Promise<void>((resolve, reject) => {
          socket.once('error', reject);
          socket.bind(port, src, () => {
            socket.off('error', reject);
            socket.on('error', () => this.#sendErrors++);
            resolve();
          });
        });
      }
    }
  }

  /** Send one datagram for every flow that is due; a flow that fell behind skips ahead rather than bursting. */
  #tick(): void {
    const now = performance.now();
    for (const f of this.#flows) {
      if (f.next > now) continue;
      const seq = f.seq++;
      const r = f.record;
      r.sent[seq] = round2(wallNow() - this.#epoch);
      f.socket.send(streamPayload(r.src, r.port, seq), this.#o.port, this.#o.target, (err) => {
        if (err) {
          this.#sendErrors++;
          r.sent[seq] = null;
        }
      });
      f.next = Math.max(f.next + this.#o.intervalMs, now);
    }
  }

  /** Stop sending, listen `drainMs` longer for the last echoes, close the sockets. Idempotent. */
  stop(): Promise<EchoStreamResult> {
    this.#stopping ??= (async () => {
      if (this.#timer !== null) clearInterval(this.#timer);
      this.#timer = null;
      this.#stoppedAt = round2(wallNow() - this.#epoch);
      await new Promise((r) => setTimeout(r, this.#o.drainMs));
      for (const f of this.#flows) f.socket.close();
      return {
        target: this.#o.target,
        port: this.#o.port,
        intervalMs: this.#o.intervalMs,
        epoch: this.#epoch,
        startedAt: this.#startedAt,
        stoppedAt: this.#stoppedAt,
        flows: this.#flows.map((f) => f.record),
        stray: this.#stray,
        sendErrors: this.#sendErrors,
      };
    })();
    return this.#stopping;
  }
}


if (isMainModule(import.meta.url)) {
  const [target = '', port = '7', first = '', addresses = '1', perAddress = '1', intervalMs = '20', drainMs = '500', maxMs = '600000'] = process.argv.slice(2);
  const stream = await EchoStream.start({
    target,
    port: Number(port),
    firstSource: first,
    addresses: Number(addresses),
    portsPerAddress: Number(perAddress),
    intervalMs: Number(intervalMs),
    drainMs: Number(drainMs),
  });
  const ready: EchoStreamReady = { ready: true, epoch: stream.epoch, flows: stream.flowCount };
  process.stdout.write(`${JSON.stringify(ready)}\n`);
  let finished = false;
  const finish = (): void => {
    if (finished) return;
    finished = true;
    void stream.stop().then((result) => process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0)));
  };
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    if (line.trim() === 'stop') finish();
  });
  lines.on('close', finish);
  process.once('SIGTERM', finish);
  setTimeout(finish, Number(maxMs)).unref(); // a safety net when nobody says stop
}
