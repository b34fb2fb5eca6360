/**
 * A TAP (Ethernet frames) or TUN (IP packets) device queue as the data plane
 * sees it. Implementations: Linux /dev/net/tun through our addon
 * (tap-linux.ts) and an in-memory interface for tests (tap-memory.ts); both
 * pass test/ports/tap-contract.ts.
 *
 *   kernel side ──► queue ──► onReadable(listener) ──► readBatch(batch) ──► frames in batch.data
 *   frames in a batch ──► writeBatch(batch) ──► one packet per frame ──► kernel side
 *
 * The fast path moves whole batches: a FrameBatch is one preallocated byte
 * buffer plus offset and length arrays, so reading or writing a frame
 * allocates nothing in JS. `read()`/`write()` are the simple path for
 * low-rate callers (ARP, control traffic) and allocate per frame.
 */

/** One Ethernet frame (TAP) or one IP packet (TUN), without any packet-information header. */
export type Frame = Uint8Array;

export type TapKind = 'tap' | 'tun';

/**
 * The largest frame a device reads whole unless told otherwise: a 1500-byte
 * MTU plus the 14-byte Ethernet header and a 4-byte VLAN tag. Open with a
 * larger maxFrame (up to MAX_FRAME) when the interface's MTU is raised.
 */
export const DEFAULT_MAX_FRAME = 1518;

/** The largest frame a Linux tap can hand up: MTU at most 65535 − 14, header, VLAN tag. */
export const MAX_FRAME = 65_539;

/** The smallest frame a TAP device accepts: an Ethernet header. */
export const MIN_TAP_FRAME = 14;

/**
 * Frames packed into one buffer: frame i is `data[offsets[i] .. offsets[i] + lengths[i])`
 * for i < count. The same batch is reused for every read; views of a frame
 * are valid until the next read into the batch.
 */
export class FrameBatch {
  readonly data: Uint8Array;
  readonly offsets: Uint32Array;
  readonly lengths: Uint32Array;
  /** Frames in the batch. */
  count = 0;
  /** Bytes of `data` in use (the end of the last frame appended). */
  used = 0;

  /**
   * @param capacity most frames the batch holds
   * @param dataBytes size of the byte buffer; every read is offered maxFrame + 1
   *   bytes, so for full batches keep it near capacity × (maxFrame + 1)
   */
  constructor(capacity = 256, dataBytes = 512 * 1024) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be >= 1: ${capacity}`);
    this.data = new Uint8Array(dataBytes);
    this.offsets = new Uint32Array(capacity);
    this.lengths = new Uint32Array(capacity);
  }

  get capacity(): number {
    return this.offsets.length;
  }

  clear(): void {
    this.count = 0;
    this.used = 0;
  }

  /** A view of frame i (no copy). Allocates a view: hot loops use data/offsets/lengths directly. */
  frame(i: number): Frame {
    if (i < 0 || i >= this.count) throw new RangeError(`frame ${i} of ${this.count}`);
    const off = this.offsets[i]!;
    return this.data.subarray(off, off + this.lengths[i]!);
  }

  /**
   * Reserve `length` bytes for a new frame at the end and return its offset in
   * `data` (to be filled in place), or -1 when the batch is full.
   */
  append(length: number): number {
    if (this.count >= this.capacity || this.used + length > this.data.length) return -1;
    const off = this.used;
    this.offsets[this.count] = off;
    this.lengths[this.count] = length;
    this.count++;
    this.used += length;
    return off;
  }

  /** Copy a frame in; false when the batch is full. */
  push(frame: Frame): boolean {
    const off = this.append(frame.length);
    if (off < 0) return false;
    this.data.set(frame, off);
    return true;
  }
}

/** Counters since the device was opened. */
export interface TapStats {
  /** Frames handed to the caller by readBatch/read. */
  rxFrames: number;
  /** Frames larger than maxFrame, dropped. */
  rxTruncated: number;
  /** Failed reads (the device went away); the errno name is in lastError. */
  rxErrors: number;
  /** Frames sent. */
  txFrames: number;
  /** Frames the device refused, dropped (shorter than a TAP header, link down, no room: EAGAIN, …). */
  txErrors: number;
  /** The errno name of the last error (e.g. 'EIO'), if any. */
  lastError: string | undefined;
}

export interface TapDevice {
  /** The interface name (as the kernel reports it, when it chose it). */
  readonly name: string;
  readonly kind: TapKind;
  /** Frames up to this size are read whole; larger ones are dropped and counted (rxTruncated). */
  readonly maxFrame: number;
  /** True once close() was called. */
  readonly closed: boolean;

  /**
   * Move queued frames into `into`, packed from offset 0 in arrival order (the
   * batch is cleared first). Each read is offered maxFrame + 1 bytes, so it
   * stops when nothing more is queued, when `into.capacity` frames were read,
   * or when no more than `maxFrame` bytes of `into.data` are free. A frame
   * larger than maxFrame is dropped and counted (rxTruncated). Returns the
   * count (also `into.count`); 0 means nothing is queued now. Never blocks,
   * never allocates per frame, never throws for I/O trouble (counted in stats).
   * Throws a ShoalError coded TAP_BATCH_TOO_SMALL when `into.data` is not larger
   * than maxFrame (a programming error). A closed device returns 0.
   */
  readBatch(into: FrameBatch): number;

  /**
   * Send frames `from .. batch.count - 1` in order, each as exactly one packet
   * (never merged). Returns how many were sent; the device drops and counts
   * (stats.txErrors, lastError) any it refuses: a TAP frame shorter than 14
   * bytes (EINVAL), the link down (EIO), no room (EAGAIN). Never blocks.
   * A closed device returns 0.
   */
  writeBatch(batch: FrameBatch, from?: number): number;

  /** One frame as a fresh copy, or undefined when nothing is queued (or the device is closed). */
  read(): Frame | undefined;

  /** Send one frame as one packet; true when sent, false when refused (counted) or closed. */
  write(frame: Frame): boolean;

  /**
   * Call `listener` on the event loop (never synchronously from this call)
   * whenever frames are queued. Level-triggered: while frames stay queued it
   * is called again on a later turn, so a listener may read a bounded number
   * per call. The usual listener reads until a batch comes back not full
   * (`do n = dev.readBatch(b); while (n === b.capacity)`): that read found the
   * queue empty. `undefined` stops the calls; a new listener replaces the old;
   * the listener may close the device. While a listener is set the device
   * keeps the process alive, like a socket. No calls after close().
   */
  onReadable(listener: (() => void) | undefined): void;

  stats(): TapStats;

  /** Detach this queue; idempotent. Afterwards the device is inert. */
  close(): void;
}
