/**
 * In-memory interconnect for tests: a hub that delivers each datagram to every
 * other attached member (or the one named), asynchronously like a socket, and
 * can be cut for partitions.
 */
import type { MemberId } from '../cluster/types.js';
import type { ControlTransport } from './control-transport.js';

export class MemoryHub {
  private readonly members = new Map<MemberId, MemoryTransport>();
  /** Members that cannot be reached (a cut cable). */
  readonly cut = new Set<MemberId>();

  attach(self: MemberId): MemoryTransport {
    const t = new MemoryTransport(self, this);
    this.members.set(self, t);
    return t;
  }

  detach(self: MemberId): void {
    this.members.delete(self);
  }

  deliver(from: MemberId, bytes: Uint8Array, to: MemberId | 'all'): void {
    if (this.cut.has(from)) return;
    for (const [id, t] of this.members) {
      if (id === from || (to !== 'all' && to !== id) || this.cut.has(id)) continue;
      const copy = bytes.slice();
      setImmediate(() => t.receive(copy, from));
    }
  }
}

export class MemoryTransport implements ControlTransport {
  private handler: ((bytes: Uint8Array, from: MemberId) => void) | null = null;
  readonly errors = new Map<string, number>();
  private closed = false;

  constructor(
    readonly self: MemberId,
    private readonly hub: MemoryHub,
  ) {}

  send(bytes: Uint8Array, to: MemberId | 'all'): void {
    if (this.closed) {
      this.errors.set('closed', (this.errors.get('closed') ?? 0) + 1);
      return;
    }
    this.hub.deliver(this.self, bytes, to);
  }

  onDatagram(handler: (bytes: Uint8Array, from: MemberId) => void): void {
    this.handler = handler;
  }

  receive(bytes: Uint8Array, from: MemberId): void {
    if (this.closed) return;
    try {
      this.handler?.(bytes, from);
    } catch {
      this.errors.set('handler-threw', (this.errors.get('handler-threw') ?? 0) + 1);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.hub.detach(this.self);
  }
}
