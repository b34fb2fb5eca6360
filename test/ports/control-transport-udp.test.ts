/**
 * The UDP multicast transport between three namespaces on a bridged
 * interconnect: each end runs in a child process inside its namespace (a
 * process sits in one network namespace), proxied here over IPC, and the
 * shared contract runs against the proxies. Root is required, as in CI.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MemberId } from '../../src/cluster/types.js';
import { parseIpv4 } from '../../src/lib/ipv4.js';
import type { ControlTransport } from '../../src/ports/control-transport.js';
import { deleteNamespaces, interconnect, runPrefix } from '../support/netns.js';
import { controlTransportContract } from './control-transport-contract.js';

type PeerMessage = { ready: true } | { received: number[]; from: number } | { threw: number[] } | { mode: string } | { errors: Record<string, number> };

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

const PEER = join(process.cwd(), 'dist/test/ports/udp-peer.js');

/** A UDP transport in a child process inside `ns`, ready to send. */
async function startPeer(ns: string, address: string): Promise<ChildProcess> {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, PEER, address, '239.255.83.72', '5400'], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`UDP peer in ${ns} exited with ${code}`)));
  });
  return child;
}

controlTransportContract('UDP multicast between namespaces', async () => {
  const prefix = runPrefix('u');
  const net = interconnect(prefix, 3);
  const members = await Promise.all(
    [1, 2, 3].map(async (i) => {
      return new ProxyTransport(parseIpv4(net.address(i)), await startPeer(net.ns(i), net.address(i)));
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

describe('UDP transport: a handler that throws', () => {
  const prefix = runPrefix('ut');
  let peers: ChildProcess[] = [];
  let address = (_i: number): string => '';

  beforeAll(async () => {
    const net = interconnect(prefix, 2);
    address = net.address;
    peers = await Promise.all([1, 2].map((i) => startPeer(net.ns(i), net.address(i))));
  });
  afterAll(async () => {
    for (const p of peers) p.send('close');
    await Promise.all(peers.map((p) => (p.exitCode === null ? new Promise((r) => p.once('exit', r)) : null)));
    deleteNamespaces(prefix);
  });

  /** The next message from `p` that has `key`. */
  function next<K extends string>(p: ChildProcess, key: K): Promise<Record<K, unknown>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no '${key}' from the peer within 5 s`)), 5000);
      const on = (m: PeerMessage): void => {
        if (!(key in m)) return;
        clearTimeout(timer);
        p.off('message', on);
        resolve(m as unknown as Record<K, unknown>);
      };
      p.on('message', on);
    });
  }

  it('is counted (handler-threw) and never reaches the event loop: the process lives and the next datagram arrives', async () => {
    const [a, b] = peers as [ChildProcess, ChildProcess];
    b.send('throwing');
    await next(b, 'mode');
    const threw = next(b, 'threw');
    a.send({ send: [0xee], to: 'all' });
    expect((await threw).threw).toEqual([0xee]);
    b.send('forwarding');
    await next(b, 'mode');
    const received = next(b, 'received');
    a.send({ send: [0x01], to: 'all' });
    expect(await received).toEqual({ received: [0x01], from: parseIpv4(address(1)) });
    b.send('errors');
    expect((await next(b, 'errors')).errors).toEqual({ 'handler-threw': 1 });
    expect(b.exitCode).toBeNull();
  });
});
