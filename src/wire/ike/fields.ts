/** Small checks shared by the IKEv2 encoders: a value that does not fit its field is a programming error (RangeError). */
export function uint(v: number, max: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`${what}: ${v} is not an integer in 0..${max}`);
  return v;
}

export function maxLength(b: Uint8Array, max: number, what: string): Uint8Array {
  if (b.length > max) throw new RangeError(`${what}: ${b.length} bytes exceeds ${max}`);
  return b;
}

/** Largest payload body: the 16-bit Payload Length includes the 4-byte generic header. */
export const MAX_PAYLOAD_BODY = 0xffff - 4;
