/**
 * A flood of IKE_SA_INIT requests from many source addresses, as a small
 * program run inside the lab's client namespace: a real strongSwan
 * IKE_SA_INIT (from the capture corpus) sent again and again, each copy with
 * a fresh initiator SPI, round-robin from `addresses` local addresses, as
 * fast as the sockets take them. Prints one JSON line: how many were sent.
 *
 *   node dist/test/support/ike-flood.js <first address> <addresses> <packets> <target> <hex message>
 */
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { isMainModule } from '../../src/lib/main-module.js';
import { formatIpv4, parseIpv4 } from '../../src/lib/ipv4.js';

export async function flood(first: string, addresses: number, packets: number, target: string, message: Uint8Array): Promise<number> {
  const sockets: Socket[] = [];
  for (let k = 0; k < addresses; k++) {
    const s = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind({ address: formatIpv4(parseIpv4(first) + k), port: 0 }, () => resolve());
    });
    sockets.push(s);
  }
  let sent = 0;
  for (let i = 0; i < packets; i++) {
    const copy = Buffer.from(message);
    randomBytes(8).copy(copy, 0); // a new initiator SPI: a new half-open SA each time
    await new Promise<void>((resolve) => sockets[i % sockets.length]!.send(copy, 500, target, () => resolve()));
    sent++;
  }
  for (const s of sockets) s.close();
  return sent;
}

if (isMainModule(import.meta.url)) {
  const [first, addresses, packets, target, hex] = process.argv.slice(2);
  if (!first || !addresses || !packets || !target || !hex) {
    process.stderr.write('usage: ike-flood <first address> <addresses> <packets> <target> <hex message>\n');
    process.exit(2);
  }
  const sent = await flood(first, Number(addresses), Number(packets), target, new Uint8Array(Buffer.from(hex, 'hex')));
  process.stdout.write(`${JSON.stringify({ sent })}\n`);
}
