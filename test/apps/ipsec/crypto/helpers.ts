import type { RandomSource } from '../../../../src/lib/random.js';

export function hex(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text.replace(/\s+/g, ''), 'hex'));
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** Hands out fixed bytes, so a test can inject a known private key through the RandomSource interface. */
export class FixedBytes implements RandomSource {
  private readonly queue: Uint8Array[];
  constructor(...chunks: Uint8Array[]) {
    this.queue = chunks;
  }
  bytes(n: number): Uint8Array {
    const next = this.queue.shift();
    if (next === undefined || next.length !== n) throw new Error(`FixedBytes: asked for ${n} bytes, had ${next?.length ?? 'none'}`);
    return next;
  }
  u32(): number {
    throw new Error('FixedBytes: u32 not expected');
  }
  float(): number {
    throw new Error('FixedBytes: float not expected');
  }
}
