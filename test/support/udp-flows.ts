/**
 * UDP echo flows from many source addresses and ports (run inside the client
 * namespace by the lab tests): each flow sends one datagram naming itself and
 * counts the echoes it gets back. Prints one JSON line:
 *   {"flows":[{"src":"198.18.16.10","port":40000,"replies":1,"ms":3.2}, ...]}
 * Usage: udp-flows <target> <port> <firstSrc> <addresses> <portsPerAddress> <waitMs>
 */
import dgram from 'node:dgram';
import { formatIpv4, parseIpv4 } from '../../src/lib/ipv4.js';

interface Flow {
  src: string;
  port: number;
  replies: number;
  ms: number | null;
}

const [target = '', port = '7', first = '', addresses = '1', perAddress = '1', waitMs = '2000'] = process.argv.slice(2);
const base = parseIpv4(first);
const flows: Flow[] = [];
const sockets: dgram.Socket[] = [];

async function open(src: string, srcPort: number): Promise<void> {
  const flow: Flow = { src, port: srcPort, replies: 0, ms: null };
  flows.push(flow);
  const s = dgram.createSocket('udp4');
  sockets.push(s);
  const t0 = performance.now();
  s.on('message', (msg) => {
    if (msg.toString() === `${src}:${srcPort}`) {
      flow.replies++;
      flow.ms ??= performance.now() - t0;
    }
  });
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(srcPort, src, () => resolve());
  });
  s.send(`${src}:${srcPort}`, Number(port), target);
}

for (let a = 0; a < Number(addresses); a++) {
  for (let p = 0; p < Number(perAddress); p++) await open(formatIpv4(base + a), 40000 + p);
}
await new Promise((r) => setTimeout(r, Number(waitMs)));
for (const s of sockets) s.close();
process.stdout.write(`${JSON.stringify({ flows })}\n`);
