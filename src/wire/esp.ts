/**
 * ESP (RFC 4303 §2):
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |               Security Parameters Index (SPI)                 |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                      Sequence Number                          |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |   IV (per algorithm) ‖ Payload Data ...                       ~
 *   +               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |               |     Padding (0-255 bytes)                     |
 *   +-+-+-+-+-+-+-+-+               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                               |  Pad Length   | Next Header   |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |         Integrity Check Value (ICV, per algorithm)            ~
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Only the SPI and sequence number are readable before decryption; this
 * module reads them and builds/checks the plaintext trailer (Payload ‖
 * Padding ‖ Pad Length ‖ Next Header). The default padding is the
 * monotonic series 1, 2, 3, … (§2.4), which the receiver checks.
 * The cipher transforms live in src/apps/ipsec/esp/ciphers.ts.
 */
import { DecodeError, decodeSafely, type Decoded } from './decode-error.js';

export const ESP_HEADER_LENGTH = 8;
/** Pad Length + Next Header. */
export const ESP_TRAILER_LENGTH = 2;
export const ESP_MAX_PAD = 255;
/** Next Header values used in tunnel mode (IANA protocol numbers), and the dummy-packet marker (§2.6). */
export const ESP_NEXT_HEADER = { IPV4: 4, IPV6: 41, NO_NEXT_HEADER: 59 } as const;

export interface EspHeader {
  spi: number;
  /** The low 32 bits; with ESN the high half is inferred by the receiver (RFC 4303 Appendix A). */
  sequence: number;
}

/** SPI and sequence number; SPI 0 is reserved for local use and never on the wire (§2.1). */
export function decodeEspHeader(bytes: Uint8Array): Decoded<EspHeader> {
  if (bytes.length < ESP_HEADER_LENGTH) return { ok: false, error: new DecodeError('truncated', `ESP header: ${bytes.length} < 8 bytes`) };
  const spi = readU32(bytes, 0);
  if (spi === 0) return { ok: false, error: new DecodeError('bad-value', 'ESP SPI 0') };
  return { ok: true, value: { spi, sequence: readU32(bytes, 4) } };
}

/** Writes SPI and sequence number (low 32 bits) at `at`. */
export function writeEspHeader(out: Uint8Array, at: number, spi: number, sequenceLow: number): void {
  writeU32(out, at, spi);
  writeU32(out, at + 4, sequenceLow);
}

/** Padding bytes so that Payload ‖ Padding ‖ Pad Length ‖ Next Header is a multiple of `alignment` (4 or the cipher block). */
export function espPadLength(payloadLength: number, alignment: number): number {
  const r = (payloadLength + ESP_TRAILER_LENGTH) % alignment;
  return r === 0 ? 0 : alignment - r;
}

/** Plaintext length for a payload: payload + padding + trailer. */
export function espPlaintextLength(payloadLength: number, alignment: number): number {
  return payloadLength + espPadLength(payloadLength, alignment) + ESP_TRAILER_LENGTH;
}

/** Writes Padding (1, 2, 3, …) ‖ Pad Length ‖ Next Header at `at`; returns the end offset. */
export function writeEspTrailer(out: Uint8Array, at: number, padLength: number, nextHeader: number): number {
  for (let i = 0; i < padLength; i++) out[at + i] = i + 1;
  out[at + padLength] = padLength;
  out[at + padLength + 1] = nextHeader;
  return at + padLength + ESP_TRAILER_LENGTH;
}

/** A trailer that does not fit its plaintext, or padding other than 1, 2, 3, … */
export const ESP_TRAILER_BAD_PADDING = -1;
/** Fewer than two bytes: no room for Pad Length and Next Header. */
export const ESP_TRAILER_TRUNCATED = -2;

/**
 * The payload length of a decrypted plaintext `plain[at, at+length)`, or
 * ESP_TRAILER_BAD_PADDING / ESP_TRAILER_TRUNCATED. Number-valued so the
 * packet path allocates nothing; decodeEspPlaintext is the object form.
 */
export function espPayloadLength(plain: Uint8Array, at: number, length: number): number {
  if (length < ESP_TRAILER_LENGTH) return ESP_TRAILER_TRUNCATED;
  const padLength = plain[at + length - 2]!;
  const payloadLength = length - ESP_TRAILER_LENGTH - padLength;
  if (payloadLength < 0) return ESP_TRAILER_BAD_PADDING;
  const padStart = at + payloadLength;
  for (let i = 0; i < padLength; i++) if (plain[padStart + i] !== i + 1) return ESP_TRAILER_BAD_PADDING;
  return payloadLength;
}

export interface EspPlaintext {
  payload: Uint8Array;
  padLength: number;
  nextHeader: number;
}

/** The object form of espPayloadLength: 'truncated' or 'bad-value' (padding) as typed errors. Payload is a view. */
export function decodeEspPlaintext(plain: Uint8Array): Decoded<EspPlaintext> {
  return decodeSafely(() => {
    const n = espPayloadLength(plain, 0, plain.length);
    if (n === ESP_TRAILER_TRUNCATED) throw new DecodeError('truncated', `ESP trailer: ${plain.length} < 2 bytes`);
    if (n === ESP_TRAILER_BAD_PADDING) throw new DecodeError('bad-value', 'ESP padding is not 1, 2, 3, … or longer than the plaintext');
    return { payload: plain.subarray(0, n), padLength: plain[plain.length - 2]!, nextHeader: plain[plain.length - 1]! };
  });
}

/** Payload ‖ Padding ‖ Pad Length ‖ Next Header, padded to `alignment` (for tests and non-path callers). */
export function encodeEspPlaintext(payload: Uint8Array, nextHeader: number, alignment: number): Uint8Array {
  if (!Number.isInteger(alignment) || alignment < 1 || alignment > ESP_MAX_PAD + 1) throw new RangeError(`ESP alignment ${alignment}`);
  if (!Number.isInteger(nextHeader) || nextHeader < 0 || nextHeader > 0xff) throw new RangeError(`ESP next header ${nextHeader}`);
  const padLength = espPadLength(payload.length, alignment);
  const out = new Uint8Array(payload.length + padLength + ESP_TRAILER_LENGTH);
  out.set(payload);
  writeEspTrailer(out, payload.length, padLength, nextHeader);
  return out;
}

export function readU32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

export function writeU32(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 24;
  b[at + 1] = (v >>> 16) & 0xff;
  b[at + 2] = (v >>> 8) & 0xff;
  b[at + 3] = v & 0xff;
}
