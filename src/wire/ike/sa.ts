/**
 * Security Association payload body (RFC 7296 §3.3): one or more proposals,
 *
 *   Proposal (§3.3.1)
 *   | Last Substruc |   RESERVED    |         Proposal Length       |
 *   | Proposal Num  |  Protocol ID  |    SPI Size   |Num  Transforms|
 *   ~                        SPI (variable)                         ~
 *   ~                        <Transforms>                           ~
 *
 *   Transform (§3.3.2)
 *   | Last Substruc |   RESERVED    |        Transform Length       |
 *   |Transform Type |   RESERVED    |          Transform ID         |
 *   ~                      Transform Attributes                     ~
 *
 *   Attribute (§3.3.5)
 *   |A|       Attribute Type        |    AF=0  Attribute Length     |
 *   |                             |    AF=1  Attribute Value      |
 *   ~                   AF=0  Attribute Value                       ~
 *
 * Decode checks that every length stays inside its parent, that Last
 * Substruc is 2 (proposal) / 3 (transform) on all but the last and 0 on the
 * last, and that Num Transforms equals the transforms present. Proposal
 * numbering is not checked: a responder's single proposal carries the number
 * it chose (§3.3.1), which the SA logic compares.
 */
import { ByteReader } from '../byte-reader.js';
import { ByteWriter } from '../byte-writer.js';
import { DecodeError, decodeSafely, type Decoded } from '../decode-error.js';
import { TRANSFORM_ATTRIBUTE } from './constants.js';
import { MAX_PAYLOAD_BODY, maxLength, uint } from './fields.js';

const MORE_PROPOSALS = 2;
const MORE_TRANSFORMS = 3;
const LAST = 0;
const PROPOSAL_HEADER = 8;
const TRANSFORM_HEADER = 8;
const ATTRIBUTE_TV = 0x8000;

export type TransformAttribute =
  | { format: 'tv'; type: number; value: number }
  | { format: 'tlv'; type: number; value: Uint8Array };

export interface Transform {
  type: number;
  id: number;
  attributes: TransformAttribute[];
}

export interface Proposal {
  number: number;
  protocolId: number;
  /** Empty for the IKE SA in IKE_SA_INIT, 8 bytes when rekeying it, 4 for ESP/AH. */
  spi: Uint8Array;
  transforms: Transform[];
}

export interface SaPayload {
  proposals: Proposal[];
}

/** The Key Length attribute (bits) of a transform, if it has one. */
export function keyLengthOf(t: Transform): number | undefined {
  for (const a of t.attributes) if (a.type === TRANSFORM_ATTRIBUTE.KEY_LENGTH && a.format === 'tv') return a.value;
  return undefined;
}

function readAttribute(r: ByteReader): TransformAttribute {
  const word = r.u16('attribute type');
  const type = word & 0x7fff;
  if (word & ATTRIBUTE_TV) return { format: 'tv', type, value: r.u16('attribute value') };
  return { format: 'tlv', type, value: r.bytes16('attribute value') };
}

function substructLength(r: ByteReader, min: number, what: string): number {
  const length = r.u16(`${what} length`);
  if (length < min) throw new DecodeError('bad-length', `${what} length ${length} < ${min}`);
  if (length - 4 > r.remaining) throw new DecodeError('bad-length', `${what} length ${length} exceeds its parent`);
  return length;
}

function checkLast(lastSubstruc: number, isLast: boolean, more: number, what: string): void {
  const want = isLast ? LAST : more;
  if (lastSubstruc !== want) throw new DecodeError('bad-value', `${what} Last Substruc ${lastSubstruc}, expected ${want}`);
}

function readTransform(r: ByteReader): { lastSubstruc: number; transform: Transform } {
  const start = r.offset;
  const lastSubstruc = r.u8('transform last substruc');
  r.u8('transform reserved');
  const length = substructLength(r, TRANSFORM_HEADER, 'transform');
  const type = r.u8('transform type');
  r.u8('transform reserved');
  const id = r.u16('transform ID');
  const inner = new ByteReader(r.bytes(start + length - r.offset, 'transform attributes'));
  const attributes: TransformAttribute[] = [];
  while (inner.remaining > 0) attributes.push(readAttribute(inner));
  return { lastSubstruc, transform: { type, id, attributes } };
}

function readProposal(r: ByteReader): { lastSubstruc: number; proposal: Proposal } {
  const start = r.offset;
  const lastSubstruc = r.u8('proposal last substruc');
  r.u8('proposal reserved');
  const length = substructLength(r, PROPOSAL_HEADER, 'proposal');
  const body = new ByteReader(r.bytes(start + length - r.offset, 'proposal'));
  const number = body.u8('proposal number');
  const protocolId = body.u8('protocol ID');
  const spiSize = body.u8('SPI size');
  const count = body.u8('transform count');
  const spi = body.bytes(spiSize, 'proposal SPI');
  const transforms: Transform[] = [];
  while (body.remaining > 0) {
    const { lastSubstruc: tLast, transform } = readTransform(body);
    checkLast(tLast, body.remaining === 0, MORE_TRANSFORMS, 'transform');
    transforms.push(transform);
  }
  if (transforms.length === 0) throw new DecodeError('bad-value', 'proposal without transforms');
  if (transforms.length !== count) throw new DecodeError('bad-length', `Num Transforms ${count}, found ${transforms.length}`);
  return { lastSubstruc, proposal: { number, protocolId, spi, transforms } };
}

export function readSa(body: Uint8Array): SaPayload {
  const r = new ByteReader(body);
  if (r.remaining === 0) throw new DecodeError('bad-length', 'SA payload without proposals');
  const proposals: Proposal[] = [];
  while (r.remaining > 0) {
    const { lastSubstruc, proposal } = readProposal(r);
    checkLast(lastSubstruc, r.remaining === 0, MORE_PROPOSALS, 'proposal');
    proposals.push(proposal);
  }
  return { proposals };
}

export function decodeSa(body: Uint8Array): Decoded<SaPayload> {
  return decodeSafely(() => readSa(body));
}

function writeAttribute(w: ByteWriter, a: TransformAttribute): void {
  const type = uint(a.type, 0x7fff, 'attribute type');
  if (a.format === 'tv') w.u16(ATTRIBUTE_TV | type).u16(uint(a.value, 0xffff, 'attribute value'));
  else w.u16(type).bytes16(a.value);
}

function encodeTransform(t: Transform, isLast: boolean): Uint8Array {
  const attrs = new ByteWriter(16);
  for (const a of t.attributes) writeAttribute(attrs, a);
  const attributes = maxLength(attrs.finish(), 0xffff - TRANSFORM_HEADER, 'transform attributes');
  return new ByteWriter(TRANSFORM_HEADER + attributes.length)
    .u8(isLast ? LAST : MORE_TRANSFORMS)
    .u8(0)
    .u16(TRANSFORM_HEADER + attributes.length)
    .u8(uint(t.type, 0xff, 'transform type'))
    .u8(0)
    .u16(uint(t.id, 0xffff, 'transform ID'))
    .bytes(attributes)
    .finish();
}

function encodeProposal(p: Proposal, isLast: boolean): Uint8Array {
  if (p.transforms.length === 0 || p.transforms.length > 0xff) throw new RangeError(`proposal with ${p.transforms.length} transforms, need 1..255`);
  maxLength(p.spi, 0xff, 'proposal SPI');
  const transforms = p.transforms.map((t, i) => encodeTransform(t, i === p.transforms.length - 1));
  const length = PROPOSAL_HEADER + p.spi.length + transforms.reduce((n, t) => n + t.length, 0);
  uint(length, 0xffff, 'proposal length');
  const w = new ByteWriter(length)
    .u8(isLast ? LAST : MORE_PROPOSALS)
    .u8(0)
    .u16(length)
    .u8(uint(p.number, 0xff, 'proposal number'))
    .u8(uint(p.protocolId, 0xff, 'protocolId'))
    .u8(p.spi.length)
    .u8(p.transforms.length)
    .bytes(p.spi);
  for (const t of transforms) w.bytes(t);
  return w.finish();
}

export function encodeSa(p: SaPayload): Uint8Array {
  if (p.proposals.length === 0) throw new RangeError('SA payload needs at least one proposal');
  const w = new ByteWriter(64);
  p.proposals.forEach((proposal, i) => w.bytes(encodeProposal(proposal, i === p.proposals.length - 1)));
  return maxLength(w.finish(), MAX_PAYLOAD_BODY, 'SA body');
}
