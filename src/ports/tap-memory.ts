/**
 * An in-memory TAP/TUN interface: the test side plays the kernel.
 *
 *   test: iface.inject(frame) ──► a queue (bounded) ──► device.readBatch / read
 *   device.writeBatch / write ──► iface's outbox (bounded) ──► test: iface.take()
 *
 * Like a Linux tap opened with IFF_MULTI_QUEUE, every open() attaches one more
 * queue to the same interface; injected frames go to one queue chosen by a
 * flow hash (so a flow stays on one queue). Full queues drop and count, as
 * the kernel does. Readiness is delivered through `schedule` (default
 * setImmediate), never synchronously. Passes test/ports/tap-contract.ts.
 */
import { ShoalError } from '../lib/errors.js';
import { DEFAULT_MAX_FRAME, MIN_TAP_FRAME, type Frame, type FrameBatch, type TapDevice, type TapKind, type TapStats } from './tap.js';

export interface MemoryTapOptions {
  name?: string;
  kind?: TapKind;
  /** Frames waiting in each queue before the interface drops (Linux: txqueuelen, 1000). */
  queueCapacity?: number;
  /** Frames written and not yet taken before the outbox drops. */
  outboxCapacity?: number;
  /** How readiness reaches listeners (default setImmediate); a simulator passes its own. */
  schedule?: (task: () => void) => void;
}

/** Interface-side counters. */
export interface MemoryTapCounters {
  /** Frames injected and queued for a device. */
  queued: number;
  /** Frames injected but dropped: no queue attached, queue full, or link down. */
  injectDropped: number;
  /** Frames the devices sent that the outbox had no room for. */
  outboxDropped: number;
}

/** A FIFO with a hard limit; O(1) push and shift. */
class BoundedQueue {
  private items: (Frame | undefined)[] = [];
  private head = 0;
  constructor(readonly limit: number) {}
  get size(): number {
    return this.items.length - this.head;
  }
  push(frame: Frame): boolean {
    if (this.size >= this.limit) return false;
    this.items.push(frame);
    return true;
  }
  shift(): Frame | undefined {
    if (this.head >= this.items.length) return undefined;
    const f = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return f;
  }
  clear(): void {
    this.items = [];
    this.head = 0;
  }
}

/** FNV-1a over the bytes that name a flow: MACs + type (tap), or the addresses (tun). */
function flowHash(frame: Frame, kind: TapKind): number {
  const [from, to] = kind === 'tap' ? [0, 14] : [12, 20];
  let h = 0x811c9dc5;
  for (let i = from; i < Math.min(to, frame.length); i++) h = Math.imul(h ^ frame[i]!, 0x01000193);
  return h >>> 0;
}

export class MemoryTapInterface {
  readonly name: string;
  readonly kind: TapKind;
  readonly counters: MemoryTapCounters = { queued: 0, injectDropped: 0, outboxDropped: 0 };
  private readonly queues: MemoryTapQueue[] = [];
  private readonly outbox: BoundedQueue;
  private up = true;
  private readonly queueCapacity: number;
  private readonly schedule: (task: () => void) => void;

  constructor(options: MemoryTapOptions = {}) {
    this.name = options.name ?? 'tap0';
    this.kind = options.kind ?? 'tap';
    this.queueCapacity = options.queueCapacity ?? 1000;
    this.outbox = new BoundedQueue(options.outboxCapacity ?? 10_000);
    this.schedule = options.schedule ?? ((task) => setImmediate(task));
  }

  /** Attach one more queue (a device), as opening the name again with IFF_MULTI_QUEUE does. */
  open(options: { maxFrame?: number } = {}): TapDevice {
    const q = new MemoryTapQueue(this, options.maxFrame ?? DEFAULT_MAX_FRAME, this.queueCapacity, this.schedule);
    this.queues.push(q);
    return q;
  }

  get isUp(): boolean {
    return this.up;
  }

  /** Administrative state, as `ip link set … up|down`: while down, writes fail (EIO) and nothing is delivered. */
  setUp(up: boolean): void {
    this.up = up;
  }

  /** The kernel sends `frame` out of this interface: it lands in one queue. False (and counted) when dropped. */
  inject(frame: Frame): boolean {
    const n = this.queues.length;
    const q = n === 0 || !this.up ? undefined : this.queues[n === 1 ? 0 : flowHash(frame, this.kind) % n];
    if (q === undefined || !q.enqueue(frame.slice())) {
      this.counters.injectDropped++;
      return false;
    }
    this.counters.queued++;
    return true;
  }

  /** Frames the devices sent, oldest first, removed from the outbox. */
  take(max = Number.POSITIVE_INFINITY): Frame[] {
    const out: Frame[] = [];
    while (out.length < max) {
      const f = this.outbox.shift();
      if (f === undefined) break;
      out.push(f);
    }
    return out;
  }

  /** @internal a queue's write: the frame enters the "kernel". */
  deliver(frame: Frame): void {
    if (!this.outbox.push(frame.slice())) this.counters.outboxDropped++;
  }

  /** @internal */
  detach(q: MemoryTapQueue): void {
    const i = this.queues.indexOf(q);
    if (i >= 0) this.queues.splice(i, 1);
  }
}

class MemoryTapQueue implements TapDevice {
  private readonly rx: BoundedQueue;
  private listener: (() => void) | undefined;
  private scheduled = false;
  private isClosed = false;
  private readonly counts: TapStats = { rxFrames: 0, rxTruncated: 0, rxErrors: 0, txFrames: 0, txErrors: 0, lastError: undefined };

  constructor(
    private readonly iface: MemoryTapInterface,
    readonly maxFrame: number,
    queueCapacity: number,
    private readonly schedule: (task: () => void) => void,
  ) {
    this.rx = new BoundedQueue(queueCapacity);
  }

  get name(): string {
    return this.iface.name;
  }
  get kind(): TapKind {
    return this.iface.kind;
  }
  get closed(): boolean {
    return this.isClosed;
  }

  enqueue(frame: Frame): boolean {
    if (!this.rx.push(frame)) return false;
    this.arm();
    return true;
  }

  /** Level-triggered readiness: one pending call while frames are queued and a listener is set. */
  private arm(): void {
    if (this.scheduled || this.listener === undefined || this.rx.size === 0 || this.isClosed) return;
    this.scheduled = true;
    this.schedule(() => {
      this.scheduled = false;
      if (this.listener === undefined || this.rx.size === 0 || this.isClosed) return;
      this.listener();
      this.arm();
    });
  }

  readBatch(into: FrameBatch): number {
    if (into.data.length <= this.maxFrame) {
      throw new ShoalError('TAP_BATCH_TOO_SMALL', `a read batch needs more than ${this.maxFrame} bytes, has ${into.data.length}`);
    }
    into.clear();
    if (this.isClosed) return 0;
    while (into.count < into.capacity && into.data.length - into.used > this.maxFrame) {
      const frame = this.rx.shift();
      if (frame === undefined) break;
      if (frame.length > this.maxFrame) {
        this.counts.rxTruncated++;
        continue;
      }
      into.push(frame);
    }
    this.counts.rxFrames += into.count;
    return into.count;
  }

  writeBatch(batch: FrameBatch, from = 0): number {
    if (this.isClosed) return 0;
    let sent = 0;
    for (let i = from; i < batch.count; i++) {
      const off = batch.offsets[i]!;
      if (this.send(batch.data.subarray(off, off + batch.lengths[i]!))) sent++;
    }
    return sent;
  }

  read(): Frame | undefined {
    if (this.isClosed) return undefined;
    const frame = this.rx.shift();
    if (frame !== undefined) this.counts.rxFrames++;
    return frame;
  }

  write(frame: Frame): boolean {
    if (this.isClosed) return false;
    return this.send(frame);
  }

  /** The Linux driver's checks, in its order: link down → EIO, TAP frame without a header → EINVAL. */
  private send(frame: Frame): boolean {
    const refused = !this.iface.isUp ? 'EIO' : this.kind === 'tap' && frame.length < MIN_TAP_FRAME ? 'EINVAL' : undefined;
    if (refused !== undefined) {
      this.counts.txErrors++;
      this.counts.lastError = refused;
      return false;
    }
    this.counts.txFrames++;
    this.iface.deliver(frame);
    return true;
  }

  onReadable(listener: (() => void) | undefined): void {
    if (this.isClosed) return;
    this.listener = listener;
    this.arm();
  }

  stats(): TapStats {
    return { ...this.counts };
  }

  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.listener = undefined;
    this.rx.clear();
    this.iface.detach(this);
  }
}
