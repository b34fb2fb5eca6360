/**
 * UDP echo flows from many source addresses and ports, run by `shoal lab`'s
 * traffic demo inside the client namespace (a separate process, so its
 * sockets bind the client's addresses): each flow sends one datagram naming
 * itself and counts the echoes it gets back. Prints one JSON line:
 *   {"flows":[{"src":"198.18.16.10","port":40000,"replies":1,"ms":3.2}, ...]}
 * Usage: node udp-flows.js <target> <port> <firstSrc> <addresses> <portsPerAddress> <waitMs>
 */
import dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { formatIpv4, parseIpv4 } from '../lib/ipv4.js';
import { isMainModule } from '../lib/main-module.js';

export interface FlowResult {
  src: string;
  port: number;
  replies: number;
  /** Milliseconds to the first echo; null when none came. */
  ms: number | null;
}

export interface FlowOptions {
  target: string;
  port: number;
  firstSource: string;
  addresses: number;
  portsPerAddress: number;
  waitMs: number;
}

/** Source ports of a flow: 40000, 40001, … per source address. */
export const FIRST_SOURCE_PORT = 40000;

export async function runFlows(o: FlowOptions): Promise<FlowResult[]> {
  const base = parseIpv4(o.firstSource);
  const flows: FlowResult[] = [];
  const sockets: dgram.Socket[] = [];
  const open = async (src: string, srcPort: number): Promise<void> => {
    const flow: FlowResult = { src, port: srcPort, replies: 0, ms: null };
    flows.push(flow);
    const s = dgram.createSocket('udp4');
    sockets.push(s);
    const text = `${src}:${srcPort}`;
    const t0 = performance.now();
    s.on('message', (msg) => {
      if (msg.toString() === text) {
        flow.replies++;
        flow.ms ??= performance.now() - t0;
      }
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind(srcPort, src, () => resolve());
    });
    s.send(text, o.port, o.target);
  };
  try {
    for (let a = 0; a < o.addresses; a++) for (let p = 0; p < o.portsPerAddress; p++) await open(formatIpv4((base + a) >>> 0), FIRST_SOURCE_PORT + p);
    await new Promise((r) => setTimeout(r, o.waitMs));
  } finally {
    for (const s of sockets) s.close();
  }
  return flows;
}


if (isMainModule(import.meta.url)) {
  const [target = '', port = '7', first = '', addresses = '1', perAddress = '1', waitMs = '2000'] = process.argv.slice(2);
  const flows = await runFlows({
    target,
    port: Number(port),
    firstSource: first,
    addresses: Number(addresses),
    portsPerAddress: Number(perAddress),
    waitMs: Number(waitMs),
  });
  process.stdout.write(`${JSON.stringify({ flows })}\n`);
}
