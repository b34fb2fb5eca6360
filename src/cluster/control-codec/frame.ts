/**
 * Whole frames: header + bodyLength + body, then the trailer that
 * AUTH_OF_TYPE[type] chooses (nothing on the wire says which).
 *
 *   'mac':     ... body | mac (16 bytes)                                  — end of frame
 *              authenticated = header + bodyLength + body
 *   'signed':  ... body | chainCount u8 (1..4) | chainCount × (u16 length + DER)
 *                       | signedAt u64 | signatureLength u16 | signature — end of frame
 *              authenticated = everything before signatureLength
 *
 * Encoding is split so the caller computes the MAC or signature over the exact
 * bytes that go on the wire: encodeHeaderAndBody, then either encodeMacFrame,
 * or encodeSignedPart followed by encodeSignedFrame.
 */
import { ByteReader } from '../../wire/byte-reader.js';
import { ByteWriter } from '../../wire/byte-writer.js';
import { DecodeError, decodeSafely, type Decoded } from '../../wire/decode-error.js';
import {
  AUTH_OF_TYPE,
  MAC_LENGTH,
  type AuthKind,
  type ControlMessage,
  type Frame,
  type Header,
  MessageType,
  type Trailer,
} from '../messages.js';
import { readBody, writeBody } from './bodies.js';
import { putBytes16, putU64, putU8 } from './fields.js';
import { messageTypeName, peekHeader, readHeader, writeHeader } from './header.js';
import {
  BODY_LENGTH_FIELD,
  HEADER_LENGTH,
  MAX_CHAIN_LENGTH,
  MAX_FRAME_LENGTH,
  MIN_CHAIN_LENGTH,
  MIN_SIGNED_TRAILER,
} from './layout.js';

const SIGNATURE_LENGTH_FIELD = 2;
/** Header, body length, and a forwarded packet's unit, side and length fields. */
const HEADER_GUESS = HEADER_LENGTH + BODY_LENGTH_FIELD + 5;

/** The shortest trailer a frame of this kind can carry. */
function minTrailer(kind: AuthKind): number {
  return kind === 'mac' ? MAC_LENGTH : MIN_SIGNED_TRAILER;
}

/** Longest body that still leaves room for the type's shortest trailer within MAX_FRAME_LENGTH. */
function maxBodyLength(type: MessageType): number {
  return MAX_FRAME_LENGTH - HEADER_LENGTH - BODY_LENGTH_FIELD - minTrailer(AUTH_OF_TYPE[type]);
}

function checkFrameLength(length: number, what: string): void {
  if (length > MAX_FRAME_LENGTH) {
    throw new RangeError(`${what}: ${length} bytes exceeds the ${MAX_FRAME_LENGTH}-byte frame limit`);
  }
}

// ---- encoding (bad arguments are programming errors: RangeError) ----

/** Header + bodyLength + body: what a MAC covers, and the start of what a signature covers. */
export function encodeHeaderAndBody(header: Header, message: ControlMessage): Uint8Array {
  if (header.type !== message.type) {
    throw new RangeError(`header type ${String(header.type)} does not match message type ${String(message.type)}`);
  }
  // Forwarded packets make bodies of up to a frame: size for them at once rather than growing by copies.
  const w = new ByteWriter(message.type === MessageType.ForwardedPacket ? HEADER_GUESS + message.packet.length : 256);
  writeHeader(w, header);
  const lengthAt = w.length;
  w.u16(0);
  writeBody(w, message);
  const bodyLength = w.length - lengthAt - BODY_LENGTH_FIELD;
  if (bodyLength > maxBodyLength(header.type)) {
    throw new RangeError(`${messageTypeName(header.type)}: ${bodyLength}-byte body cannot fit a ${MAX_FRAME_LENGTH}-byte frame`);
  }
  w.patchU16(lengthAt, bodyLength);
  return w.finish();
}

/** Checks that `bytes` is exactly one header + body of a type authenticated by `kind`. */
function checkHeaderAndBody(bytes: Uint8Array, kind: AuthKind, what: string): void {
  const parsed = decodeSafely(() => {
    const r = new ByteReader(bytes);
    const header = readHeader(r);
    r.bytes(r.u16('bodyLength'), 'body');
    r.expectEnd('header and body');
    return header;
  });
  if (!parsed.ok) throw new RangeError(`${what}: not an encodeHeaderAndBody result (${parsed.error.message})`);
  checkKind(parsed.value.type, kind, what);
}

function checkKind(type: MessageType, kind: AuthKind, what: string): void {
  if (AUTH_OF_TYPE[type] !== kind) {
    throw new RangeError(`${what}: ${messageTypeName(type)} is ${AUTH_OF_TYPE[type]}, not ${kind}`);
  }
}

/** A MAC frame: `headerAndBody` from encodeHeaderAndBody, then the MAC_LENGTH-byte MAC over it. */
export function encodeMacFrame(headerAndBody: Uint8Array, mac: Uint8Array): Uint8Array {
  checkHeaderAndBody(headerAndBody, 'mac', 'encodeMacFrame');
  if (mac.length !== MAC_LENGTH) throw new RangeError(`mac: must be ${MAC_LENGTH} bytes, got ${mac.length}`);
  const length = headerAndBody.length + MAC_LENGTH;
  checkFrameLength(length, 'mac frame');
  const frame = new Uint8Array(length);
  frame.set(headerAndBody);
  frame.set(mac, headerAndBody.length);
  return frame;
}

/** The bytes a signature covers: header + body, the certificate chain (leaf first) and signedAt (wall ms). */
export function encodeSignedPart(headerAndBody: Uint8Array, chain: Uint8Array[], signedAt: number): Uint8Array {
  checkHeaderAndBody(headerAndBody, 'signed', 'encodeSignedPart');
  if (chain.length < MIN_CHAIN_LENGTH || chain.length > MAX_CHAIN_LENGTH) {
    throw new RangeError(`chain: ${chain.length} certificates, need ${MIN_CHAIN_LENGTH}..${MAX_CHAIN_LENGTH}`);
  }
  const w = new ByteWriter(headerAndBody.length + MIN_SIGNED_TRAILER + chain.reduce((n, c) => n + 2 + c.length, 0));
  w.bytes(headerAndBody);
  putU8(w, chain.length, 'chain count');
  for (const cert of chain) {
    if (cert.length === 0) throw new RangeError('certificate: empty');
    putBytes16(w, cert, 'certificate');
  }
  putU64(w, signedAt, 'signedAt');
  checkFrameLength(w.length + SIGNATURE_LENGTH_FIELD + 1, 'signed part');
  return w.finish();
}

/** A signed frame: `signedPart` from encodeSignedPart, then the signature over it (u16 length + bytes). */
export function encodeSignedFrame(signedPart: Uint8Array, signature: Uint8Array): Uint8Array {
  const header = peekHeader(signedPart);
  if (!header.ok) throw new RangeError(`encodeSignedFrame: not an encodeSignedPart result (${header.error.message})`);
  checkKind(header.value.type, 'signed', 'encodeSignedFrame');
  if (signature.length === 0) throw new RangeError('signature: empty');
  const length = signedPart.length + SIGNATURE_LENGTH_FIELD + signature.length;
  checkFrameLength(length, 'signed frame');
  const w = new ByteWriter(length).bytes(signedPart);
  putBytes16(w, signature, 'signature');
  return w.finish();
}

// ---- decoding (bad input is a DecodeError, returned as a value) ----

interface ReadTrailer {
  trailer: Trailer;
  /** Offset where the authenticated range ends. */
  authenticatedEnd: number;
}

function readBodyField(r: ByteReader, type: MessageType): ControlMessage {
  const bodyLength = r.u16('bodyLength');
  if (bodyLength > maxBodyLength(type)) {
    throw new DecodeError('bad-length', `bodyLength ${bodyLength} cannot fit a ${MAX_FRAME_LENGTH}-byte frame`);
  }
  const body = new ByteReader(r.bytes(bodyLength, 'body'));
  const message = readBody(type, body);
  if (body.remaining > 0) {
    throw new DecodeError('trailing-bytes', `${messageTypeName(type)} body: ${body.remaining} bytes left over`);
  }
  return message;
}

function readMacTrailer(r: ByteReader): ReadTrailer {
  const authenticatedEnd = r.offset;
  return { trailer: { kind: 'mac', mac: r.bytes(MAC_LENGTH, 'mac') }, authenticatedEnd };
}

/** u16 length + bytes, where an empty field can never be valid (a DER certificate, a signature). */
function readNonEmpty16(r: ByteReader, what: string): Uint8Array {
  const field = r.bytes16(what);
  if (field.length === 0) throw new DecodeError('bad-length', `${what}: empty`);
  return field;
}

function readSignedTrailer(r: ByteReader): ReadTrailer {
  const count = r.u8('chain count');
  if (count < MIN_CHAIN_LENGTH || count > MAX_CHAIN_LENGTH) {
    throw new DecodeError('bad-value', `chain: ${count} certificates, need ${MIN_CHAIN_LENGTH}..${MAX_CHAIN_LENGTH}`);
  }
  const chain: Uint8Array[] = [];
  for (let i = 0; i < count; i++) chain.push(readNonEmpty16(r, 'certificate'));
  const signedAt = r.u64('signedAt');
  const authenticatedEnd = r.offset;
  const signature = readNonEmpty16(r, 'signature');
  return { trailer: { kind: 'signed', chain, signedAt, signature }, authenticatedEnd };
}

/**
 * The throwing form of decodeFrame: only ever throws DecodeError. Internal to
 * the codec (not re-exported); tests call it to prove no other exception escapes.
 */
export function readFrame(bytes: Uint8Array): Frame {
  if (bytes.length > MAX_FRAME_LENGTH) {
    throw new DecodeError('bad-length', `frame: ${bytes.length} bytes exceeds ${MAX_FRAME_LENGTH}`);
  }
  const r = new ByteReader(bytes);
  const header = readHeader(r);
  const message = readBodyField(r, header.type);
  const { trailer, authenticatedEnd } = AUTH_OF_TYPE[header.type] === 'mac' ? readMacTrailer(r) : readSignedTrailer(r);
  r.expectEnd('frame');
  return { header, message, trailer, authenticated: bytes.subarray(0, authenticatedEnd) };
}

/**
 * Decodes and checks one frame; never throws. `authenticated` and every byte
 * field of the result (nonce, digest, keys, payloads, chain, MAC, signature)
 * are views into `bytes`, not copies: a caller that reuses the buffer must
 * copy what it keeps.
 */
export function decodeFrame(bytes: Uint8Array): Decoded<Frame> {
  return decodeSafely(() => readFrame(bytes));
}
