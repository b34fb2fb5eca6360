/**
 * The failover bench's echo stream, run inside the lab's client namespace
 * (its own process, so its sockets bind the client's addresses): one UDP
 * socket per flow, each flow sends a datagram every `intervalMs`. The flows
 * are spread over that interval on a 1 ms tick (flow k goes on ticks where
 * tick ≡ k mod intervalMs), so the stream as a whole probes the cluster about
 * every millisecond rather than in one burst per interval.
 *
 * Each datagram carries its flow and its send time (wall-clock ms), and the
 * echo brings both back, so no per-request state is kept and an echo is
 * known to answer a request sent after the kill — one only a survivor can
 * have served.
 *
 * JSON lines:
 *   stdout {"ready":true,"answered":50}   every flow has had an echo (ready:false after warmMs)
 *   stdin  {"killedAt":1764370000123.4}   the bench has just sent SIGKILL
 *   stdout {"firstEcho":[t|null,…],"sent":n,"echoed":m}
 *          per flow, when the first echo of a request sent at or after killedAt
 *          arrived; printed once every flow has one or maxMs after the kill,
 *          then the probe exits. It also exits when stdin closes (the bench is gone).
 *
 * Usage: node echo-probe.js <target> <port> <intervalMs> <warmMs> <maxMs> <src:port>…
 */
import dgram from 'node:dgram';
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';

export interface ProbeReady {
  ready: boolean;
  answered: number;
}

export interface ProbeResult {
  /** Wall-clock ms of each flow's first echo to a request sent after the kill; null if none came within maxMs. */
  firstEcho: (number | null)[];
  /** Datagrams sent and echoes received over the probe's life. */
  sent: number;
  echoed: number;
}

function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

async function main(argv: readonly string[]): Promise<void> {
  const [target = '', port = '7', interval = '5', warm = '3000', max = '5000', ...flowArgs] = argv;
  const intervalMs = Math.max(1, Math.round(Number(interval)));
  const flows = flowArgs.map((f) => {
    const [src = '', p = ''] = f.split(':');
    return { src, port: Number(p) };
  });
  const firstAny: (number | null)[] = flows.map(() => null);
  const firstEcho: (number | null)[] = flows.map(() => null);
  let killedAt = Infinity;
  let sent = 0;
  let echoed = 0;
  let done = false;
  // Never outlive a bench that lost track of us.
  setTimeout(() => process.exit(2), Number(warm) + Number(max) + 60_000).unref();

  const sockets = await Promise.all(
    flows.map(
      (f, k) =>
        new Promise<dgram.Socket>((resolve, reject) => {
          const s = dgram.createSocket('udp4');
          s.once('error', reject);
          s.on('message', (msg) => {
            const [flow, sentAt] = msg.toString().split(':').map(Number);
            if (flow !== k || sentAt === undefined) return;
            const now = wallNow();
            echoed++;
            firstAny[k] ??= now;
            if (sentAt >= killedAt) firstEcho[k] ??= now;
            if (killedAt !== Infinity && firstEcho.every((t) => t !== null)) finish();
          });
          s.bind(f.port, f.src, () => resolve(s));
        }),
    ),
  );

  let tick = 0;
  const timer = setInterval(() => {
    const slot = tick++ % intervalMs;
    for (let k = slot; k < sockets.length; k += intervalMs) {
      sockets[k]!.send(`${k}:${wallNow()}`, Number(port), target);
      sent++;
    }
  }, 1);

  const say = (o: ProbeReady | ProbeResult): void => {
    process.stdout.write(`${JSON.stringify(o)}\n`);
  };
  let hardStop: NodeJS.Timeout | undefined;
  function finish(): void {
    if (done) return;
    done = true;
    clearInterval(timer);
    clearTimeout(hardStop);
    say({ firstEcho, sent, echoed });
    for (const s of sockets) s.close();
    input.close();
  }

  const input = createInterface({ input: process.stdin });
  input.on('line', (line) => {
    const m = JSON.parse(line) as { killedAt?: number };
    if (typeof m.killedAt !== 'number') return;
    killedAt = m.killedAt;
    hardStop = setTimeout(finish, Math.max(0, killedAt + Number(max) - wallNow()));
  });
  input.on('close', () => {
    if (!done) {
      done = true;
      clearInterval(timer);
      clearTimeout(hardStop);
      for (const s of sockets) s.close();
    }
  });

  // Ready once every flow has been answered (the victim still serves them), or give up after warmMs.
  const warmUntil = wallNow() + Number(warm);
  while (!done && firstAny.some((t) => t === null) && wallNow() < warmUntil) await new Promise((r) => setTimeout(r, 5));
  if (!done) say({ ready: firstAny.every((t) => t !== null), answered: firstAny.filter((t) => t !== null).length });
}

if (import.meta.url === `file://${process.argv[1]}`) await main(process.argv.slice(2));
