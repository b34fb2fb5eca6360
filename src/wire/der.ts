/**
 * The little DER reading IKE authentication and certificates need: walking the TLVs of an
 * AlgorithmIdentifier, a certificate's subject Name and a CRL's signed part,
 * byte-exact (re-encoding through a schema library could change the bytes
 * that were signed or that an ID payload is compared with).
 *
 * Only definite lengths and single-byte tags: DER allows nothing else for
 * the structures read here. Every function returns undefined instead of throwing.
 */

export interface Tlv {
  tag: number;
  /** The content octets. */
  value: Uint8Array;
  /** Tag, length and content: the element exactly as encoded. */
  whole: Uint8Array;
}

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
  /** [n] constructed, context-specific. */
  context: (n: number): number => 0xa0 | n,
} as const;

/** The element starting at `offset`, or undefined when it runs past the end. */
export function readTlv(bytes: Uint8Array, offset = 0): Tlv | undefined {
  const tag = bytes[offset];
  let lengthByte = bytes[offset + 1];
  if (tag === undefined || lengthByte === undefined || (tag & 0x1f) === 0x1f) return undefined;
  let pos = offset + 2;
  let length = lengthByte;
  if (lengthByte & 0x80) {
    const n = lengthByte & 0x7f;
    // 0x80 is the indefinite form (not DER); more than 4 length octets is beyond any payload.
    if (n === 0 || n > 4) return undefined;
    length = 0;
    for (let i = 0; i < n; i++) {
      lengthByte = bytes[pos++];
      if (lengthByte === undefined) return undefined;
      length = length * 256 + lengthByte;
    }
  }
  const end = pos + length;
  if (end > bytes.length) return undefined;
  return { tag, value: bytes.subarray(pos, end), whole: bytes.subarray(offset, end) };
}

/** The children of a constructed element's content, or undefined if they do not fill it exactly. */
export function readChildren(content: Uint8Array): Tlv[] | undefined {
  const out: Tlv[] = [];
  let offset = 0;
  while (offset < content.length) {
    const t = readTlv(content, offset);
    if (t === undefined) return undefined;
    out.push(t);
    offset += t.whole.length;
  }
  return out;
}

/** `bytes` as exactly one element of type `tag`, with nothing after it. */
export function readOnly(bytes: Uint8Array, tag: number): Tlv | undefined {
  const t = readTlv(bytes);
  return t !== undefined && t.tag === tag && t.whole.length === bytes.length ? t : undefined;
}

/** Dotted OID text from an OBJECT IDENTIFIER's content, or undefined if malformed. */
export function oidText(content: Uint8Array): string | undefined {
  if (content.length === 0 || content.length > 64) return undefined;
  const arcs: number[] = [];
  let value = 0;
  for (const [i, b] of content.entries()) {
    if (value === 0 && b === 0x80) return undefined; // non-minimal arc
    value = value * 128 + (b & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER / 128) return undefined;
    if ((b & 0x80) === 0) {
      arcs.push(value);
      value = 0;
    } else if (i === content.length - 1) {
      return undefined;
    }
  }
  const first = arcs.shift() ?? 0;
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...arcs].join('.');
}

/** A non-negative INTEGER's value when small enough for a number. */
export function smallInteger(content: Uint8Array): number | undefined {
  if (content.length === 0 || content.length > 4 || ((content[0] ?? 0) & 0x80) !== 0) return undefined;
  return content.reduce((n, b) => n * 256 + b, 0);
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
