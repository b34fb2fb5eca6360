/**
 * TapDevice on Linux: /dev/net/tun through our N-API addon
 * (native/tuntap/, built by node-gyp at install into build/Release/tuntap.node).
 *
 *   openLinuxTap() → addon.open: O_NONBLOCK fd, TUNSETIFF (IFF_NO_PI | IFF_MULTI_QUEUE)
 *   onReadable     → uv_poll on Node's loop (no thread pool, no busy polling)
 *   readBatch      → one read op per frame, packed into one buffer; one JS→C call per batch
 *   writeBatch     → one write op per frame (one packet each); one JS→C call per batch
 *
 * The read and write ops of a batch go to the kernel either through one
 * io_uring_enter (engine 'io_uring', the default where the kernel allows it)
 * or as one read()/write() syscall each (engine 'syscalls'). Both hand the
 * tun driver one frame per operation; io_uring only shares the syscall,
 * which is what a packet costs most where syscalls are dear.
 *
 * Every open attaches one more queue: open the same name again for another
 * fd on the same interface. The interface goes away when its last queue closes.
 */
import { existsSync } from 'node:fs';
import { ShoalError } from '../lib/errors.js';
import { addonFile, requireAddon } from '../lib/native-addon.js';
import { DEFAULT_MAX_FRAME, FrameBatch, MAX_FRAME, type Frame, type TapDevice, type TapKind, type TapStats } from './tap.js';

declare const handleBrand: unique symbol;
/** An open queue inside the addon (a napi external). */
type TuntapHandle = { readonly [handleBrand]: true };

/** The addon's surface (native/tuntap/module.c). */
export interface TuntapAddon {
  open(name: string, tap: boolean, netns: string | null, maxFrame: number, ring: boolean): { handle: TuntapHandle; name: string; engine: TapEngine };
  close(handle: TuntapHandle): void;
  readBatch(handle: TuntapHandle, data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array): number;
  writeBatch(handle: TuntapHandle, data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, from: number, to: number): number;
  writeOne(handle: TuntapHandle, frame: Uint8Array): boolean;
  poll(handle: TuntapHandle, listener: ((status: number) => void) | null): void;
  stats(handle: TuntapHandle): TapStats;
}

/** How a batch's read/write ops reach the kernel. */
export type TapEngine = 'io_uring' | 'syscalls';

export interface LinuxTapOptions {
  /** Interface name, at most 15 bytes; '' (or a name with %d) lets the kernel choose. */
  name: string;
  /** Default 'tap'. */
  kind?: TapKind;
  /**
   * Create (or attach to) the interface inside this network namespace, e.g.
   * `/run/netns/<name>`: the calling thread enters it for the open only. Needs root.
   */
  netns?: string;
  /** Largest frame read whole (default DEFAULT_MAX_FRAME, at most MAX_FRAME); larger ones are dropped and counted. */
  maxFrame?: number;
  /** 'io_uring' (default) falls back to 'syscalls' where io_uring is missing or forbidden. */
  engine?: TapEngine;
  /** Where the addon is loaded from (default: the package's build/Release/tuntap.node). */
  addon?: TuntapAddon;
}

const IFNAMSIZ = 16;

/**
 * Load the addon (Node caches it after the first load). Throws a ShoalError
 * coded TAP_ADDON_MISSING when it is not built or does not load.
 */
export function loadTuntapAddon(path?: string): TuntapAddon {
  const file = path ?? addonFile('tuntap');
  if (!existsSync(file)) {
    throw new ShoalError(
      'TAP_ADDON_MISSING',
      `the TUN/TAP addon is not built (${file} is missing): run \`npm rebuild\` ` +
        '(node-gyp builds it at install time and needs python3, make, g++ and Node\'s headers)',
    );
  }
  try {
    return requireAddon(file) as TuntapAddon;
  } catch (cause) {
    throw new ShoalError('TAP_ADDON_MISSING', `the TUN/TAP addon at ${file} does not load: ${String(cause)}; run \`npm rebuild\``, {
      cause,
    });
  }
}

/** What went wrong, in words an operator can act on; `err` is the addon's error (code = errno name). */
export function describeOpenFailure(err: { code?: string; syscall?: string }, name: string, kind: TapKind, netns?: string): string {
  const what = `cannot open ${kind} '${name}'${netns === undefined ? '' : ` in ${netns}`}`;
  const code = err.code ?? 'unknown error';
  switch (err.syscall) {
    case 'open(/dev/net/tun)':
      if (code === 'ENOENT' || code === 'ENODEV' || code === 'ENXIO')
        return `${what}: no /dev/net/tun (load the tun module, or pass the device into the container: --device /dev/net/tun)`;
      if (code === 'EACCES' || code === 'EPERM') return `${what}: not allowed to open /dev/net/tun (run as root)`;
      break;
    case 'ioctl(TUNSETIFF)':
      if (code === 'EPERM')
        return `${what}: not permitted (creating or attaching a tap needs CAP_NET_ADMIN: run as root; or the device belongs to another user)`;
      if (code === 'EINVAL')
        return `${what}: the name is taken by a device that is not a multi-queue ${kind} (another kind of device, or a tap made without multi_queue)`;
      if (code === 'EBUSY') return `${what}: the name is taken and its queue is held by another process`;
      break;
    case 'open(netns)':
      if (code === 'ENOENT') return `${what}: no network namespace at ${netns ?? '?'}`;
      break;
    case 'setns(netns)':
      if (code === 'EPERM') return `${what}: not permitted to enter the namespace (needs CAP_SYS_ADMIN: run as root)`;
      break;
  }
  return `${what}: ${err.syscall ?? 'open'} failed with ${code}`;
}

/** A Linux queue also says which engine it got. */
export interface LinuxTapDevice extends TapDevice {
  readonly engine: TapEngine;
}

/** Open one queue of a TAP/TUN interface (IFF_NO_PI, IFF_MULTI_QUEUE, non-blocking). */
export function openLinuxTap(options: LinuxTapOptions): LinuxTapDevice {
  const kind = options.kind ?? 'tap';
  const maxFrame = options.maxFrame ?? DEFAULT_MAX_FRAME;
  const { name, netns } = options;
  if (Buffer.byteLength(name) >= IFNAMSIZ) {
    throw new ShoalError('TAP_OPEN_FAILED', `cannot open ${kind} '${name}': the name is longer than ${IFNAMSIZ - 1} bytes`);
  }
  if (!Number.isInteger(maxFrame) || maxFrame < 64 || maxFrame > MAX_FRAME) {
    throw new ShoalError('TAP_OPEN_FAILED', `cannot open ${kind} '${name}': maxFrame must be an integer in 64 .. ${MAX_FRAME}`);
  }
  const addon = options.addon ?? loadTuntapAddon();
  let opened: { handle: TuntapHandle; name: string; engine: TapEngine };
  try {
    opened = addon.open(name, kind === 'tap', netns ?? null, maxFrame, (options.engine ?? 'io_uring') === 'io_uring');
  } catch (cause) {
    throw new ShoalError('TAP_OPEN_FAILED', describeOpenFailure(cause as { code?: string; syscall?: string }, name, kind, netns), {
      cause,
    });
  }
  return new LinuxTap(addon, opened.handle, opened.name, kind, maxFrame, opened.engine);
}

class LinuxTap implements LinuxTapDevice {
  #closed = false;
  #scratch: FrameBatch | undefined;

  constructor(
    private readonly addon: TuntapAddon,
    private readonly handle: TuntapHandle,
    readonly name: string,
    readonly kind: TapKind,
    readonly maxFrame: number,
    readonly engine: TapEngine,
  ) {}

  get closed(): boolean {
    return this.#closed;
  }

  readBatch(into: FrameBatch): number {
    if (into.data.length <= this.maxFrame) {
      throw new ShoalError('TAP_BATCH_TOO_SMALL', `a read batch needs more than ${this.maxFrame} bytes, has ${into.data.length}`);
    }
    into.clear();
    if (this.#closed) return 0;
    const n = this.addon.readBatch(this.handle, into.data, into.offsets, into.lengths);
    into.count = n;
    if (n > 0) into.used = into.offsets[n - 1]! + into.lengths[n - 1]!;
    return n;
  }

  writeBatch(batch: FrameBatch, from = 0): number {
    if (this.#closed) return 0;
    return this.addon.writeBatch(this.handle, batch.data, batch.offsets, batch.lengths, from, batch.count);
  }

  read(): Frame | undefined {
    this.#scratch ??= new FrameBatch(1, this.maxFrame + 1);
    if (this.readBatch(this.#scratch) === 0) return undefined;
    return this.#scratch.frame(0).slice();
  }

  write(frame: Frame): boolean {
    if (this.#closed) return false;
    return this.addon.writeOne(this.handle, frame);
  }

  onReadable(listener: (() => void) | undefined): void {
    if (this.#closed) return;
    this.addon.poll(this.handle, listener === undefined ? null : () => listener());
  }

  stats(): TapStats {
    return this.addon.stats(this.handle);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.addon.close(this.handle);
  }
}
