/**
 * The interconnect over UDP multicast (dgram): one socket bound to the control
 * port, joined to the group on the interconnect address, TTL 1 so control
 * traffic never leaves the LAN, multicast loopback off so a member does not
 * hear itself. Unicast goes to the member's interconnect address (its id).
 *
 * The daemon opens a second, unicast-only one (`multicast: false`, bound to
 * the interconnect address) for forwarded packets: a flood of them must not
 * queue in front of, or overflow onto, keepalives and elections.
 */
import dgram from 'node:dgram';
import { ShoalError } from '../lib/errors.js';
import { formatIpv4, parseIpv4 } from '../lib/ipv4.js';
import type { MemberId } from '../cluster/types.js';
import type { ControlTransport } from './control-transport.js';

const SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;

export interface UdpTransportOptions {
  /** This member's interconnect address (also its member id). */
  address: string;
  group: string;
  port: number;
  /** Join the group (default). Without it the socket hears unicast to `address` only. */
  multicast?: boolean;
}

export class UdpControlTransport implements ControlTransport {
  readonly self: MemberId;
  readonly errors = new Map<string, number>();
  private handler: ((bytes: Uint8Array, from: MemberId) => void) | null = null;

  private constructor(
    private readonly socket: dgram.Socket,
    private readonly options: UdpTransportOptions,
  ) {
    this.self = parseIpv4(options.address);
    socket.on('message', (msg, rinfo) => {
      // dgram hands each datagram its own Buffer; a copy keeps it independent of Node's pools.
      const from = rinfo.family === 'IPv4' ? parseIpv4(rinfo.address) : 0;
      if (from === this.self) return;
      try {
        this.handler?.(new Uint8Array(msg), from);
      } catch {
        this.count('handler-threw'); // the handler's owner logs (MemberRunner's guard); here it must only not escape
      }
    });
    socket.on('error', () => this.count('socket-error'));
  }

  static async open(options: UdpTransportOptions): Promise<UdpControlTransport> {
    // The data socket carries forwarded packets in bursts: a deep receive queue (the kernel caps
    // it at net.core.rmem_max) keeps a busy event loop from losing them.
    const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true, recvBufferSize: SOCKET_BUFFER_BYTES, sendBufferSize: SOCKET_BUFFER_BYTES });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        const done = (): void => {
          socket.off('error', reject);
          resolve();
        };
        if (options.multicast === false) socket.bind(options.port, options.address, done);
        else socket.bind(options.port, done);
      });
      if (options.multicast !== false) {
        socket.addMembership(options.group, options.address);
        socket.setMulticastInterface(options.address);
        socket.setMulticastTTL(1);
        socket.setMulticastLoopback(false);
      }
    } catch (e) {
      socket.close();
      throw new ShoalError(
        'CONTROL_SOCKET_FAILED',
        `cannot open the control socket on ${options.address} (group ${options.group}, port ${options.port}): ${e instanceof Error ? e.message : String(e)}`,
        { cause: e },
      );
    }
    return new UdpControlTransport(socket, options);
  }

  private count(reason: string): void {
    this.errors.set(reason, (this.errors.get(reason) ?? 0) + 1);
  }

  send(bytes: Uint8Array, to: MemberId | 'all'): void {
    const host = to === 'all' ? this.options.group : formatIpv4(to);
    this.socket.send(bytes, this.options.port, host, (err) => {
      if (err) this.count(err.message.includes('EMSGSIZE') ? 'too-big' : 'send-failed');
    });
  }

  onDatagram(handler: (bytes: Uint8Array, from: MemberId) => void): void {
    this.handler = handler;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}
