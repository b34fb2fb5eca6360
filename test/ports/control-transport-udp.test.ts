/**
 * The UDP multicast transport between three namespaces on a bridged
 * interconnect: each end runs in a child process inside its namespace (a
 * process sits in one network namespace), proxied here over IPC, and the
 * shared contract runs against the proxies. Root is required, as in CI.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { MemberId } from '../../src/cluster/types.js';
import { parseIpv4 } from '../../src/lib/ipv4.js';
import type { ControlTransport } from '../../src/ports/control-transport.js';
import { deleteNamespaces, interconnect, runPrefix } from '../support/netns.js';
import { controlTransportContract } from './control-transport-contract.js';

type PeerMessage = { ready: true } | { received: number[]; from: number };

class ProxyTransport implements ControlTransport {
  readonly errors = new Map<string, number>();
  private handler: ((bytes: Uint8Array, from: MemberId) => void) | null = null;
  constructor(
    readonly self: MemberId,
    private readonly child: ChildProcess,
  ) {
    child.on('message', (m: PeerMessage) => {
      if ('received' in m) this.handler?.(Uint8Array.from(m.received), m.from);
    });
  }
  send(bytes: Uint8Array, to: MemberId | 'all'): void {
    this.child.send({ send: [...bytes], to });
  }
  onDatagram(handler: (bytes: Uint8Array, from: MemberId) => void): void {
    this.handler = handler;
  }
  async close(): Promise<void> {
    this.child.send('close');
    await new Promise((r) => this.child.once('exit', r));
  }
}

controlTransportContract('UDP multicast between namespaces', async () => {
  const prefix = runPrefix('u');
  const net = interconnect(prefix, 3);
  const peer = join(process.cwd(), 'dist/test/ports/udp-peer.js');
  const members = await Promise.all(
    [1, 2, 3].map(async (i) => {
      const child = spawn('ip', ['netns', 'exec', net.ns(i), process.execPath, peer, net.address(i), '239.255.83.72', '5400'], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      await new Promise<void>((resolve, reject) => {
        child.once('message', () => resolve());
        child.once('exit', (code) => reject(new Error(`UDP peer in ${net.ns(i)} exited with ${code}`)));
      });
      return new ProxyTransport(parseIpv4(net.address(i)), child);
    }),
  );
  return {
    members: [members[0], members[1], members[2]] as [ProxyTransport, ProxyTransport, ProxyTransport],
    close: async () => {
      await Promise.all(members.map((m) => m.close()));
      deleteNamespaces(prefix);
    },
  };
});
