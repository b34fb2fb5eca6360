/**
 * The SK / SKF envelope of an established (or half-open, after
 * IKE_SA_INIT) IKE SA: seal a message's inner payloads, splitting them into
 * RFC 7383 fragments when the peer supports it and the message is too big
 * for one datagram, and open what arrives, reassembling fragments.
 *
 * Associated data (RFC 5282 §5.1, RFC 7383 §2.5): every byte of the message
 * before the encrypted data — the IKE header and the SK (or SKF, with its
 * Fragment Number and Total Fragments) payload header.
 */
import type { RandomSource } from '../../../lib/random.js';
import { ByteWriter } from '../../../wire/byte-writer.js';
import { PAYLOAD, IKE_HEADER_LENGTH, GENERIC_PAYLOAD_HEADER_LENGTH } from '../../../wire/ike/constants.js';
import { writeIkeHeader, type IkeHeader } from '../../../wire/ike/header.js';
import { decodeInnerPayloads, encodeInnerPayloads, type DecodedIkeMessage } from '../../../wire/ike/message.js';
import type { IkePayload } from '../../../wire/ike/payload.js';
import { SKF_HEADER_LENGTH } from '../../../wire/ike/sk.js';
import { decryptSk, encryptSk, newIv, skBodyLength, type SkKeys } from '../crypto/sk-cipher.js';
import type { ProtectionSuite } from '../crypto/transforms.js';

export interface Protection {
  suite: ProtectionSuite;
  /** Keys for what we send (SK_er/SK_ar for a responder). */
  out: SkKeys;
  /** Keys for what we receive (SK_ei/SK_ai). */
  in: SkKeys;
}

/** Most fragments one message may arrive in; more is refused (a peer filling our memory). */
export const MAX_FRAGMENTS = 32;
/**
 * Most decrypted fragment bytes held for one SA (RFC 7383 §5: limit the sum
 * of what waits for reassembly; "NOT RECOMMENDED to exceed 64 KB"). Without
 * it 32 fragments of an IP-reassembled 64 kB datagram each held 2 MB.
 */
export const MAX_FRAGMENT_BYTES = 65_535;
/** How long an incomplete fragmented message waits for its other pieces. */
export const FRAGMENT_TIMEOUT_MS = 10_000;

function assemble(header: IkeHeader, payloadType: number, nextPayload: number, fields: Uint8Array, body: (aad: Uint8Array) => Uint8Array | null, bodyLength: number): Uint8Array | null {
  const length = IKE_HEADER_LENGTH + GENERIC_PAYLOAD_HEADER_LENGTH + fields.length + bodyLength;
  const w = new ByteWriter(length);
  writeIkeHeader(w, header, payloadType, length);
  w.u8(nextPayload).u8(0).u16(GENERIC_PAYLOAD_HEADER_LENGTH + fields.length + bodyLength).bytes(fields);
  const aad = w.finish();
  const sealed = body(aad);
  if (sealed === null || sealed.length !== bodyLength) return null;
  const out = new Uint8Array(length);
  out.set(aad);
  out.set(sealed, aad.length);
  return out;
}

/**
 * The message as datagrams: one SK message, or — when `fragmentSize` is set
 * (the peer announced IKEV2_FRAGMENTATION_SUPPORTED) and one datagram would
 * exceed it — SKF fragments each at most `fragmentSize` bytes long.
 * Returns null only if the cipher refuses its keys (a bug, never peer input).
 */
export function sealMessage(
  p: Protection,
  header: IkeHeader,
  payloads: readonly IkePayload[],
  random: RandomSource,
  fragmentSize?: number,
): Uint8Array[] | null {
  const inner = encodeInnerPayloads(payloads);
  const whole = IKE_HEADER_LENGTH + GENERIC_PAYLOAD_HEADER_LENGTH + skBodyLength(p.suite, inner.bytes.length);
  if (fragmentSize === undefined || whole <= fragmentSize) {
    const m = assemble(header, PAYLOAD.SK, inner.firstType, new Uint8Array(0), (aad) => seal(p, aad, inner.bytes, random), skBodyLength(p.suite, inner.bytes.length));
    return m === null ? null : [m];
  }
  // The largest plaintext slice whose SKF message fits in fragmentSize.
  const overhead = IKE_HEADER_LENGTH + GENERIC_PAYLOAD_HEADER_LENGTH + SKF_HEADER_LENGTH;
  let chunk = fragmentSize - overhead - skBodyLength(p.suite, 0);
  while (chunk > 1 && overhead + skBodyLength(p.suite, chunk) > fragmentSize) chunk--;
  const total = Math.ceil(inner.bytes.length / chunk);
  if (chunk < 1 || total > MAX_FRAGMENTS) return null;
  const out: Uint8Array[] = [];
  for (let i = 0; i < total; i++) {
    const slice = inner.bytes.subarray(i * chunk, Math.min(inner.bytes.length, (i + 1) * chunk));
    const fields = new ByteWriter(SKF_HEADER_LENGTH).u16(i + 1).u16(total).finish();
    const m = assemble(header, PAYLOAD.SKF, i === 0 ? inner.firstType : 0, fields, (aad) => seal(p, aad, slice, random), skBodyLength(p.suite, slice.length));
    if (m === null) return null;
    out.push(m);
  }
  return out;
}

function seal(p: Protection, aad: Uint8Array, plain: Uint8Array, random: RandomSource): Uint8Array | null {
  const r = encryptSk(p.suite, p.out, aad, plain, newIv(p.suite.encryption, random));
  return r.ok ? r.value : null;
}

export type Opened =
  | { kind: 'payloads'; payloads: IkePayload[] }
  | { kind: 'fragment-pending' }
  | { kind: 'drop'; reason: 'no-sk' | 'bad-icv' | 'malformed-inner' | 'fragments-over-limit' };

/** Fragments of one message being collected (per IKE SA and message ID). */
export class FragmentCollector {
  private messageId = -1;
  private total = 0;
  private firstType = 0;
  private readonly parts = new Map<number, Uint8Array>();
  private bytes = 0;
  private startedAt = 0;

  /** Decrypted bytes waiting for the rest of their message. */
  get held(): number {
    return this.bytes;
  }

  /**
   * The plaintext once every fragment is in; null while waiting; 'over-limit'
   * (everything held is dropped) past MAX_FRAGMENTS or MAX_FRAGMENT_BYTES.
   */
  add(now: number, messageId: number, number: number, total: number, innerFirst: number, plain: Uint8Array): { firstType: number; plain: Uint8Array } | null | 'over-limit' {
    if (messageId !== this.messageId || now - this.startedAt > FRAGMENT_TIMEOUT_MS || total !== this.total) {
      // RFC 7383 §2.6.1: a different total restarts collection; a newer message ID replaces the old one.
      this.messageId = messageId;
      this.total = total;
      this.clear();
      this.startedAt = now;
      this.firstType = 0;
    }
    const replaced = this.parts.get(number)?.length ?? 0;
    if (total > MAX_FRAGMENTS || this.bytes - replaced + plain.length > MAX_FRAGMENT_BYTES) {
      this.clear();
      this.messageId = -1;
      return 'over-limit';
    }
    if (number === 1) this.firstType = innerFirst;
    this.parts.set(number, plain);
    this.bytes += plain.length - replaced;
    if (this.parts.size < total) return null;
    const pieces: Uint8Array[] = [];
    for (let i = 1; i <= total; i++) pieces.push(this.parts.get(i)!);
    this.clear();
    this.messageId = -1;
    const length = pieces.reduce((n, x) => n + x.length, 0);
    const joined = new Uint8Array(length);
    let at = 0;
    for (const x of pieces) {
      joined.set(x, at);
      at += x.length;
    }
    return { firstType: this.firstType, plain: joined };
  }

  private clear(): void {
    this.parts.clear();
    this.bytes = 0;
  }
}

/** The inner payloads of a received message whose last payload is SK or SKF. */
export function openMessage(p: Protection, now: number, datagram: Uint8Array, m: DecodedIkeMessage, fragments: FragmentCollector): Opened {
  const last = m.payloads[m.payloads.length - 1];
  if (m.encryptedAt === undefined || last === undefined || (last.kind !== 'sk' && last.kind !== 'skf')) return { kind: 'drop', reason: 'no-sk' };
  const aad = datagram.subarray(0, m.encryptedAt);
  const plain = decryptSk(p.suite, p.in, aad, last.encrypted);
  if (!plain.ok) return { kind: 'drop', reason: 'bad-icv' };
  let firstType = last.innerFirst;
  let bytes = plain.value;
  if (last.kind === 'skf') {
    const got = fragments.add(now, m.header.messageId, last.fragmentNumber, last.totalFragments, last.innerFirst, plain.value);
    if (got === 'over-limit') return { kind: 'drop', reason: 'fragments-over-limit' };
    if (got === null) return { kind: 'fragment-pending' };
    firstType = got.firstType;
    bytes = got.plain;
  }
  const inner = decodeInnerPayloads(firstType, bytes);
  if (!inner.ok) return { kind: 'drop', reason: 'malformed-inner' };
  return { kind: 'payloads', payloads: inner.value };
}
