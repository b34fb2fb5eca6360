/**
 * A whole IKE message: header (header.ts) + payload chain (payload-chain.ts)
 * + typed bodies (payload.ts).
 *
 *   datagram ─ readIkeHeader ─ readPayloadChain ─ readPayload* ─ IkeMessage
 *
 * When the chain ends in SK or SKF, `encryptedAt` is the offset of its
 * encrypted bytes in the datagram: the bytes before it are the AEAD
 * associated data (RFC 5282 §5.1), and since SK is last its data is the
 * message's tail. The plaintext found inside after decryption is an inner
 * chain without a header: encodeInnerPayloads / decodeInnerPayloads, whose
 * first type travels in the SK payload's Next Payload (`innerFirst`).
 */
import { ByteReader } from '../byte-reader.js';
import { ByteWriter } from '../byte-writer.js';
import { DecodeError, decodeSafely, type Decoded } from '../decode-error.js';
import { IKE_HEADER_LENGTH } from './constants.js';
import { readIkeHeader, writeIkeHeader, type IkeHeader } from './header.js';
import { isEncryptedType, readPayloadChain, writePayloadChain } from './payload-chain.js';
import { isKnownPayloadType, readPayload, toRawPayload, type IkePayload } from './payload.js';

export interface IkeMessage {
  header: IkeHeader;
  payloads: IkePayload[];
}

export interface DecodedIkeMessage extends IkeMessage {
  /** Offset of the SK/SKF encrypted bytes (IV first) in the datagram; undefined without SK/SKF. */
  encryptedAt: number | undefined;
}

export function decodeIkeMessage(datagram: Uint8Array): Decoded<DecodedIkeMessage> {
  return decodeSafely(() => {
    const r = new ByteReader(datagram);
    const { firstPayload, length: _length, ...header } = readIkeHeader(r, datagram.length);
    const raws = readPayloadChain(r, firstPayload, isKnownPayloadType);
    const payloads = raws.map(readPayload);
    return { header, payloads, encryptedAt: encryptedOffset(datagram.length, payloads) };
  });
}

/** SK/SKF is last (§3.14), so its encrypted bytes are the datagram's tail. */
function encryptedOffset(datagramLength: number, payloads: readonly IkePayload[]): number | undefined {
  const last = payloads[payloads.length - 1];
  return last?.kind === 'sk' || last?.kind === 'skf' ? datagramLength - last.encrypted.length : undefined;
}

/** The message on the wire; Next Payload fields and Length are computed. Throws RangeError for values that do not fit. */
export function encodeIkeMessage(m: IkeMessage): Uint8Array {
  const chain = new ByteWriter(256);
  const firstPayload = writePayloadChain(chain, m.payloads.map(toRawPayload));
  const body = chain.finish();
  const w = new ByteWriter(IKE_HEADER_LENGTH + body.length);
  writeIkeHeader(w, m.header, firstPayload, IKE_HEADER_LENGTH + body.length);
  return w.bytes(body).finish();
}

/** The plaintext that goes inside SK: a chain without header; `firstType` goes in the SK payload's innerFirst. */
export function encodeInnerPayloads(payloads: readonly IkePayload[]): { firstType: number; bytes: Uint8Array } {
  // RFC 7296 §3.14: an Encrypted payload MUST NOT contain another Encrypted payload.
  if (payloads.some((p) => p.kind === 'sk' || p.kind === 'skf')) throw new RangeError('SK/SKF cannot be nested');
  const w = new ByteWriter(256);
  const firstType = writePayloadChain(w, payloads.map(toRawPayload));
  return { firstType, bytes: w.finish() };
}

/** The payloads of a decrypted SK (or reassembled SKF) plaintext, padding already removed. */
export function decodeInnerPayloads(firstType: number, plaintext: Uint8Array): Decoded<IkePayload[]> {
  return decodeSafely(() => {
    const raws = readPayloadChain(new ByteReader(plaintext), firstType, isKnownPayloadType);
    if (raws.some((p) => isEncryptedType(p.type))) throw new DecodeError('bad-value', 'SK/SKF nested inside SK');
    return raws.map(readPayload);
  });
}
