/**
 * Encrypted (SK, RFC 7296 §3.14) and Encrypted Fragment (SKF, RFC 7383 §2.5)
 * payload bodies, as opaque containers:
 *
 *   SK   ~ Initialization Vector | Encrypted IKE Payloads | Padding | ICV ~
 *   SKF  |        Fragment Number        |        Total Fragments        |
 *        ~ Initialization Vector | Encrypted content ...          | ICV ~
 *
 * The IV / ciphertext / ICV split depends on the negotiated transforms, so
 * the crypto layer does it. The generic header's Next Payload of SK (and of
 * the first SKF) is the type of the first inner payload; payload.ts carries
 * it as `innerFirst`. RFC 7383 §2.5: Fragment Number starts at 1 and is at
 * most Total Fragments, which is not zero — anything else is 'bad-value'.
 */
import { ByteReader } from '../byte-reader.js';
import { ByteWriter } from '../byte-writer.js';
import { DecodeError, decodeSafely, type Decoded } from '../decode-error.js';
import { MAX_PAYLOAD_BODY, maxLength, uint } from './fields.js';

export const SKF_HEADER_LENGTH = 4;

export interface SkPayload {
  /** IV, ciphertext and ICV, unsplit. */
  encrypted: Uint8Array;
}

export interface SkfPayload {
  fragmentNumber: number;
  totalFragments: number;
  encrypted: Uint8Array;
}

export function readSk(body: Uint8Array): SkPayload {
  return { encrypted: body };
}

export function decodeSk(body: Uint8Array): Decoded<SkPayload> {
  return decodeSafely(() => readSk(body));
}

export function encodeSk(p: SkPayload): Uint8Array {
  return maxLength(p.encrypted, MAX_PAYLOAD_BODY, 'SK data').slice();
}

function fragmentFieldsProblem(fragmentNumber: number, totalFragments: number): string | undefined {
  if (totalFragments === 0) return 'Total Fragments is 0';
  if (fragmentNumber === 0 || fragmentNumber > totalFragments) return `Fragment Number ${fragmentNumber} of ${totalFragments}`;
  return undefined;
}

export function readSkf(body: Uint8Array): SkfPayload {
  const r = new ByteReader(body);
  const fragmentNumber = r.u16('fragment number');
  const totalFragments = r.u16('total fragments');
  const problem = fragmentFieldsProblem(fragmentNumber, totalFragments);
  if (problem !== undefined) throw new DecodeError('bad-value', problem);
  return { fragmentNumber, totalFragments, encrypted: r.rest() };
}

export function decodeSkf(body: Uint8Array): Decoded<SkfPayload> {
  return decodeSafely(() => readSkf(body));
}

export function encodeSkf(p: SkfPayload): Uint8Array {
  const problem = fragmentFieldsProblem(uint(p.fragmentNumber, 0xffff, 'fragmentNumber'), uint(p.totalFragments, 0xffff, 'totalFragments'));
  if (problem !== undefined) throw new RangeError(problem);
  maxLength(p.encrypted, MAX_PAYLOAD_BODY - SKF_HEADER_LENGTH, 'SKF data');
  return new ByteWriter(SKF_HEADER_LENGTH + p.encrypted.length).u16(p.fragmentNumber).u16(p.totalFragments).bytes(p.encrypted).finish();
}
