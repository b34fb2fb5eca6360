/**
 * The ESP anti-replay window (RFC 4303 §3.4.3, and Appendix A for ESN).
 *
 * T is the highest sequence number authenticated so far, the window is
 * [B, T] with B = T - W + 1, and one bit per number in it says "seen".
 * The RFC splits the work in two and so does this class: check() runs
 * before the ICV (cheap rejection, and with ESN it infers the high 32 bits
 * the ICV is computed over); update() runs only after the ICV verified, so a
 * forged packet cannot move the window.
 *
 * ESN inference (Appendix A2.2): of the candidates (Th-1, Th, Th+1)·2^32 +
 * Seql, the one in [B, B + 2^32) — Cases A and B of the RFC in one formula.
 * A consequence the RFC accepts: with ESN a packet older than the window
 * is taken as the next subspace and fails the ICV ('bad-icv' for the SA),
 * since nothing on the wire tells the two apart.
 *
 * 64-bit numbers are JS numbers: exact up to 2^53, which a sender at 100 M
 * packets/s reaches after 2.8 years; numbers past that are refused.
 */

export const REPLAY_WINDOW_DEFAULT = 4096;
export const REPLAY_WINDOW_MIN = 1024;
/** Appendix A2 assumes W < 2^31; the bitmap's memory is the practical limit. */
export const REPLAY_WINDOW_MAX = 1 << 24;

export type ReplayRejection = 'replayed' | 'outside-window';

/** What a window hands over when its SA moves to another member; bit (s mod size) stands for s in [T-size+1, T]. */
export interface ReplayWindowState {
  highest: number;
  bitmap: Uint32Array;
}

const SUBSPACE = 0x100000000;

export class ReplayWindow {
  readonly size: number;
  /** Bit (s mod size) for each s in [B, T]; bits of numbers above T are kept clear. */
  private readonly bits: Uint32Array;
  private top = 0;

  constructor(
    readonly esn: boolean,
    size: number = REPLAY_WINDOW_DEFAULT,
    restore?: ReplayWindowState,
  ) {
    if (!Number.isInteger(size) || size < REPLAY_WINDOW_MIN || size > REPLAY_WINDOW_MAX || size % 32 !== 0) {
      throw new RangeError(`replay window ${size}: a multiple of 32 in ${REPLAY_WINDOW_MIN}..${REPLAY_WINDOW_MAX}`);
    }
    this.size = size;
    this.bits = new Uint32Array(size / 32);
    if (restore) {
      if (restore.bitmap.length !== this.bits.length || !Number.isSafeInteger(restore.highest) || restore.highest < 0 || (!esn && restore.highest > 0xffffffff)) {
        throw new RangeError('replay window state does not fit this window');
      }
      this.bits.set(restore.bitmap);
      this.top = restore.highest;
    }
  }

  exportState(): ReplayWindowState {
    return { highest: this.top, bitmap: this.bits.slice() };
  }

  /** T: the highest sequence number authenticated so far (0 before the first). */
  get highest(): number {
    return this.top;
  }

  /**
   * The full sequence number for the received low 32 bits (the number to
   * authenticate with), or why to drop the packet before spending an ICV on
   * it. Changes nothing.
   */
  check(sequenceLow: number): number | ReplayRejection {
    const bottom = this.top - this.size + 1;
    let seq: number;
    if (this.esn) {
      // the one of (Th-1, Th, Th+1)·2^32 + Seql that lies in [B, B + 2^32)
      const d = (sequenceLow - bottom) % SUBSPACE;
      seq = bottom + (d < 0 ? d + SUBSPACE : d);
      if (seq > Number.MAX_SAFE_INTEGER) return 'outside-window';
    } else {
      seq = sequenceLow;
    }
    // 0 is never sent (the first packet is 1, §3.3.3); below B is too old
    if (seq <= 0 || seq < bottom) return 'outside-window';
    if (seq > this.top) return seq;
    const i = seq % this.size;
    return (this.bits[i >>> 5]! >>> (i & 31)) & 1 ? 'replayed' : seq;
  }

  /** Marks `seq` (a value check() returned) as received; call only once its ICV has verified. */
  update(seq: number): void {
    if (seq > this.top) {
      this.clearAbove(this.top, seq);
      this.top = seq;
    } else if (seq <= this.top - this.size) {
      return; // fell out of the window between check and update (another packet advanced it)
    }
    const i = seq % this.size;
    this.bits[i >>> 5]! |= 1 << (i & 31);
  }

  /** Clears the bits of (from, to]: they now stand for numbers not yet received. */
  private clearAbove(from: number, to: number): void {
    const n = to - from;
    if (n >= this.size) {
      this.bits.fill(0);
      return;
    }
    let i = (from + 1) % this.size;
    for (let k = 0; k < n; ) {
      if ((i & 31) === 0 && n - k >= 32) {
        this.bits[i >>> 5] = 0;
        k += 32;
        i += 32;
      } else {
        this.bits[i >>> 5]! &= ~(1 << (i & 31));
        k++;
        i++;
      }
      if (i === this.size) i = 0;
    }
  }
}
