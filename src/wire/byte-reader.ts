import { DecodeError } from './decode-error.js';

/**
 * The only code that reads offsets out of a buffer. Every read checks the
 * remaining length first and throws DecodeError('truncated'); decoders wrap
 * themselves in decodeSafely so the packet path sees a value, not a throw.
 */
export class ByteReader {
  private readonly view: DataView;
  private pos: number;
  constructor(
    private readonly buf: Uint8Array,
    start = 0,
    private readonly end = buf.length,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = start;
  }
  get offset(): number {
    return this.pos;
  }
  get remaining(): number {
    return this.end - this.pos;
  }
  private need(n: number, what: string): void {
    if (this.end - this.pos < n) throw new DecodeError('truncated', `${what}: need ${n} bytes, have ${this.end - this.pos}`);
  }
  u8(what = 'u8'): number {
    this.need(1, what);
    return this.view.getUint8(this.pos++);
  }
  u16(what = 'u16'): number {
    this.need(2, what);
    const v = this.view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }
  u32(what = 'u32'): number {
    this.need(4, what);
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }
  /** A 64-bit unsigned value that must fit a JS safe integer (timestamps, counters). */
  u64(what = 'u64'): number {
    this.need(8, what);
    const hi = this.view.getUint32(this.pos);
    const lo = this.view.getUint32(this.pos + 4);
    if (hi > 0x1fffff) throw new DecodeError('bad-value', `${what}: exceeds 2^53`);
    this.pos += 8;
    return hi * 0x100000000 + lo;
  }
  /** A view (not a copy) of the next n bytes. */
  bytes(n: number, what = 'bytes'): Uint8Array {
    this.need(n, what);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  /** Bytes prefixed by a u16 length. */
  bytes16(what = 'bytes16'): Uint8Array {
    return this.bytes(this.u16(`${what} length`), what);
  }
  utf8_16(what = 'string'): string {
    return new TextDecoder('utf-8', { fatal: false }).decode(this.bytes16(what));
  }
  rest(): Uint8Array {
    return this.bytes(this.remaining, 'rest');
  }
  expectEnd(what = 'message'): void {
    if (this.pos !== this.end) throw new DecodeError('trailing-bytes', `${what}: ${this.end - this.pos} bytes left over`);
  }
}
