/**
 * The flash personality image container (flash-image/FORMAT.md): a header,
 * typed sections, and last a signature over every byte before the signature
 * value. This file owns the framing; the section bodies are in
 * flash-image-sections.ts, and the signature arithmetic in src/flash/signing.ts.
 *
 *   0       8  magic "SHOALFPI"
 *   8       2  format version (1)
 *   10      2  header flags (0; reserved)
 *   12      4  total length of the image, signature included
 *   16      …  sections: u16 type | u16 flags (bit 0 critical) | u32 length | body
 *   last       signature section (type 0xff): u8 algorithm | 32 key id | u16 length | value
 *              the signature covers bytes [0, offset of value)
 *
 * readFrame() checks the framing only (so a verifier can check the signature
 * before parsing any body); decodeBody() then parses the sections. Both throw
 * FlashImageError and nothing else, whatever the input.
 */
import { ByteReader } from './byte-reader.js';
import { ByteWriter } from './byte-writer.js';
import { DecodeError } from './decode-error.js';
import { FlashImageError } from './flash-image-error.js';
import {
  REQUIRED_SECTIONS,
  SECTION,
  decodeFile,
  decodeSingles,
  encodeSections,
  sectionName,
  type Personality,
} from './flash-image-sections.js';

export * from './flash-image-sections.js';
export { FlashImageError, type FlashImageFailure } from './flash-image-error.js';

export const MAGIC = new Uint8Array([0x53, 0x48, 0x4f, 0x41, 0x4c, 0x46, 0x50, 0x49]); // "SHOALFPI"
export const FORMAT_VERSION = 1;
export const HEADER_BYTES = 16;
export const SECTION_HEADER_BYTES = 8;
/** A personality is certificates and a config: far below this. Bounds what a reader allocates. */
export const MAX_IMAGE_BYTES = 16 * 1024 * 1024;
export const MAX_SECTIONS = 1024;
const FLAG_CRITICAL = 0x0001;

export const SIGNATURE_ALGORITHM = { ECDSA_P256_SHA256: 1, ED25519: 2 } as const;
export type SignatureAlgorithm = (typeof SIGNATURE_ALGORITHM)[keyof typeof SIGNATURE_ALGORITHM];
/** ECDSA in IEEE P1363 form (r ‖ s), so both algorithms have a fixed length. */
export const SIGNATURE_BYTES: Record<SignatureAlgorithm, number> = { 1: 64, 2: 64 };
export const KEY_ID_BYTES = 32;

export interface RawSection {
  type: number;
  critical: boolean;
  /** Offset of the section header. */
  offset: number;
  body: Uint8Array;
}

export interface SignatureBlock {
  algorithm: SignatureAlgorithm;
  /** SHA-256 of the signer's SubjectPublicKeyInfo (DER). */
  keyId: Uint8Array;
  value: Uint8Array;
  /** The signed bytes: [0, offset of value). */
  signed: Uint8Array;
}

export interface ImageFrame {
  version: number;
  length: number;
  sections: RawSection[];
  signature: SignatureBlock | null;
  /** Unknown non-critical sections skipped (kept for inspect). */
  skipped: number[];
}

function fail(reason: ConstructorParameters<typeof FlashImageError>[0], detail: string): never {
  throw new FlashImageError(reason, detail);
}

function checkHeader(bytes: Uint8Array): number {
  const seen = bytes.subarray(0, MAGIC.length);
  if (seen.some((b, i) => b !== MAGIC[i])) fail('bad-magic', 'does not start with "SHOALFPI" (not a personality image)');
  if (bytes.length < HEADER_BYTES) fail('truncated', `truncated: ${bytes.length} bytes, shorter than the ${HEADER_BYTES}-byte header`);
  const r = new ByteReader(bytes, MAGIC.length);
  const version = r.u16();
  if (version !== FORMAT_VERSION) fail('unknown-version', `unknown format version ${version} (this software reads version ${FORMAT_VERSION})`);
  const flags = r.u16();
  if (flags !== 0) fail('bad-header', `reserved header flags 0x${flags.toString(16)} set`);
  const length = r.u32();
  if (length > MAX_IMAGE_BYTES) fail('too-large', `too large: header says ${length} bytes, more than the ${MAX_IMAGE_BYTES} allowed`);
  if (length < HEADER_BYTES) fail('bad-header', `header says ${length} bytes, shorter than the header itself`);
  if (length > bytes.length) fail('truncated', `truncated: header says ${length} bytes, only ${bytes.length} present`);
  if (length < bytes.length) fail('trailing-bytes', `trailing bytes: header says ${length} bytes, ${bytes.length - length} more follow`);
  return length;
}

function readSignature(bytes: Uint8Array, body: Uint8Array, bodyOffset: number): SignatureBlock {
  const r = new ByteReader(body);
  try {
    const algorithm = r.u8('algorithm');
    if (algorithm !== SIGNATURE_ALGORITHM.ECDSA_P256_SHA256 && algorithm !== SIGNATURE_ALGORITHM.ED25519) fail('unknown-algorithm', `unknown signature algorithm ${algorithm}`);
    const keyId = r.bytes(KEY_ID_BYTES, 'key id').slice();
    const n = r.u16('signature length');
    if (n !== SIGNATURE_BYTES[algorithm]) fail('bad-section', `signature: ${n} bytes, algorithm ${algorithm} signs with ${SIGNATURE_BYTES[algorithm]}`);
    const valueAt = r.offset;
    const value = r.bytes(n, 'signature').slice();
    r.expectEnd('signature');
    return { algorithm, keyId, value, signed: bytes.subarray(0, bodyOffset + valueAt) };
  } catch (e) {
    if (e instanceof DecodeError) fail('bad-section', `signature: ${e.message}`);
    throw e;
  }
}

/** The header and the section boundaries, checked; no body is parsed except the signature's. */
export function readFrame(bytes: Uint8Array): ImageFrame {
  const length = checkHeader(bytes);
  const sections: RawSection[] = [];
  const skipped: number[] = [];
  const seen = new Set<number>();
  let signature: SignatureBlock | null = null;
  let pos = HEADER_BYTES;
  while (pos < length) {
    if (signature !== null) fail('misplaced-signature', `${length - pos} bytes follow the signature, which must come last`);
    if (sections.length + skipped.length >= MAX_SECTIONS) fail('too-large', `too large: more than ${MAX_SECTIONS} sections`);
    if (length - pos < SECTION_HEADER_BYTES) fail('truncated', `truncated: section header at offset ${pos}: need ${SECTION_HEADER_BYTES} bytes, have ${length - pos}`);
    const r = new ByteReader(bytes, pos, length);
    const type = r.u16();
    const flags = r.u16();
    const n = r.u32();
    if ((flags & ~FLAG_CRITICAL) !== 0) fail('bad-header', `section ${sectionName(type)} at offset ${pos}: reserved flag bits 0x${flags.toString(16)} set`);
    if (n > r.remaining) fail('truncated', `truncated: section ${sectionName(type)} at offset ${pos} says ${n} bytes, ${r.remaining} left`);
    const body = bytes.subarray(r.offset, r.offset + n);
    const critical = (flags & FLAG_CRITICAL) !== 0;
    if (type === SECTION.SIGNATURE) signature = readSignature(bytes, body, r.offset);
    else if (sectionName(type).startsWith('type ')) {
      if (critical) fail('unknown-critical-section', `unknown section type ${type} is marked critical (made by newer software?)`);
      skipped.push(type);
    } else {
      if (type !== SECTION.FILE && seen.has(type)) fail('duplicate-section', `section ${sectionName(type)} appears twice`);
      seen.add(type);
      sections.push({ type, critical, offset: pos, body });
    }
    pos = r.offset + n;
  }
  return { version: FORMAT_VERSION, length, sections, signature, skipped };
}

/** Runs a section parser; anything it throws becomes 'bad-section' naming the section. */
function inSection<T>(type: () => number, parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    if (e instanceof FlashImageError) throw e;
    return fail('bad-section', `section ${sectionName(type())}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Parses the sections of a framed image into the personality. */
export function decodeBody(frame: ImageFrame): Personality {
  for (const type of REQUIRED_SECTIONS) {
    if (!frame.sections.some((s) => s.type === type)) fail('missing-section', `missing section ${sectionName(type)}`);
  }
  const files = frame.sections.filter((s) => s.type === SECTION.FILE).map((s) => inSection(() => SECTION.FILE, () => decodeFile(new ByteReader(s.body))));
  const names = new Set<string>();
  for (const f of files) {
    if (names.has(f.name)) fail('duplicate-section', `file '${f.name}' appears twice`);
    names.add(f.name);
  }
  let current = 0;
  return inSection(
    () => current,
    () =>
      decodeSingles((type) => {
        current = type;
        const s = frame.sections.find((x) => x.type === type);
        return new ByteReader(s?.body ?? new Uint8Array(0));
      }, files),
  );
}

/** Framing and sections; the signature, if any, is returned but not checked (see src/flash/signing.ts). */
export function decodeImage(bytes: Uint8Array): { frame: ImageFrame; personality: Personality } {
  const frame = readFrame(bytes);
  return { frame, personality: decodeBody(frame) };
}

function header(w: ByteWriter, length: number): void {
  w.bytes(MAGIC).u16(FORMAT_VERSION).u16(0).u32(length);
}

/** An unsigned image (what `shoal flash build` writes). */
export function encodeImage(p: Personality): Uint8Array {
  const sections = encodeSections(p);
  const length = HEADER_BYTES + sections.reduce((n, s) => n + SECTION_HEADER_BYTES + s.body.length, 0);
  if (length > MAX_IMAGE_BYTES) throw new FlashImageError('too-large', `${length} bytes, more than the ${MAX_IMAGE_BYTES} allowed`);
  const w = new ByteWriter(length);
  header(w, length);
  for (const s of sections) w.u16(s.type).u16(FLAG_CRITICAL).u32(s.body.length).bytes(s.body);
  return w.finish();
}

/**
 * `image` with its signature replaced: an old signature, if present, is dropped, the
 * header's length is set for the new one, and `sign` is handed exactly the
 * bytes the signature covers.
 */
export function appendSignature(image: Uint8Array, algorithm: SignatureAlgorithm, keyId: Uint8Array, sign: (signed: Uint8Array) => Uint8Array): Uint8Array {
  if (keyId.length !== KEY_ID_BYTES) throw new RangeError(`key id must be ${KEY_ID_BYTES} bytes`);
  const frame = readFrame(image);
  const last = frame.signature === null ? frame.length : frame.signature.signed.length - (1 + KEY_ID_BYTES + 2) - SECTION_HEADER_BYTES;
  const sigBytes = SIGNATURE_BYTES[algorithm];
  const bodyLength = 1 + KEY_ID_BYTES + 2 + sigBytes;
  const length = last + SECTION_HEADER_BYTES + bodyLength;
  const w = new ByteWriter(length);
  header(w, length);
  w.bytes(image.subarray(HEADER_BYTES, last));
  w.u16(SECTION.SIGNATURE).u16(FLAG_CRITICAL).u32(bodyLength).u8(algorithm).bytes(keyId).u16(sigBytes);
  const signed = w.finish();
  const value = sign(signed);
  if (value.length !== sigBytes) throw new RangeError(`signer returned ${value.length} bytes, expected ${sigBytes}`);
  const out = new Uint8Array(length);
  out.set(signed);
  out.set(value, signed.length);
  return out;
}
