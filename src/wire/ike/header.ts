/**
 * The IKE header (RFC 7296 §3.1):
 *
 *   |                       IKE SA Initiator's SPI                  |
 *   |                                                               |
 *   |                       IKE SA Responder's SPI                  |
 *   |                                                               |
 *   |  Next Payload | MjVer | MnVer | Exchange Type |     Flags     |
 *   |                          Message ID                           |
 *   |                            Length                             |
 *
 * Flags: R (0x20) response, V (0x10) "can speak a higher major version",
 * I (0x08) sent by the original initiator; other bits are sent as zero and
 * ignored on receipt, as is the minor version. A major version other than 2
 * is 'bad-version' (the responder may answer INVALID_MAJOR_VERSION, §2.5).
 * Length covers the whole message and must equal the datagram: a shorter
 * datagram is 'truncated', a longer one 'trailing-bytes'.
 */
import { ByteReader } from '../byte-reader.js';
import type { ByteWriter } from '../byte-writer.js';
import { DecodeError, decodeSafely, type Decoded } from '../decode-error.js';
import { HEADER_FLAG, IKE_HEADER_LENGTH, IKE_MAJOR_VERSION, IKE_SPI_LENGTH } from './constants.js';
import { uint } from './fields.js';

export interface IkeHeader {
  spiI: Uint8Array;
  /** All zero in the first IKE_SA_INIT request. */
  spiR: Uint8Array;
  exchangeType: number;
  initiator: boolean;
  response: boolean;
  higherVersion: boolean;
  messageId: number;
}

/** The header plus the two fields the codec computes on encode. */
export interface DecodedIkeHeader extends IkeHeader {
  firstPayload: number;
  length: number;
}

/** Reads the header from `r` (at the datagram's start) and checks Length against the datagram size. */
export function readIkeHeader(r: ByteReader, datagramLength: number): DecodedIkeHeader {
  const spiI = r.bytes(IKE_SPI_LENGTH, "initiator's SPI");
  const spiR = r.bytes(IKE_SPI_LENGTH, "responder's SPI");
  const firstPayload = r.u8('next payload');
  const version = r.u8('version');
  if (version >>> 4 !== IKE_MAJOR_VERSION) throw new DecodeError('bad-version', `IKE major version ${version >>> 4}`);
  const exchangeType = r.u8('exchange type');
  const flags = r.u8('flags');
  const messageId = r.u32('message ID');
  const length = r.u32('length');
  if (length < IKE_HEADER_LENGTH) throw new DecodeError('bad-length', `IKE length ${length} < ${IKE_HEADER_LENGTH}`);
  if (length > datagramLength) throw new DecodeError('truncated', `IKE length ${length}, datagram ${datagramLength}`);
  if (length < datagramLength) throw new DecodeError('trailing-bytes', `IKE length ${length}, datagram ${datagramLength}`);
  return {
    spiI,
    spiR,
    exchangeType,
    initiator: (flags & HEADER_FLAG.INITIATOR) !== 0,
    response: (flags & HEADER_FLAG.RESPONSE) !== 0,
    higherVersion: (flags & HEADER_FLAG.VERSION) !== 0,
    messageId,
    firstPayload,
    length,
  };
}

/** The header alone, for the responder's SPI lookup before a full decode. */
export function decodeIkeHeader(datagram: Uint8Array): Decoded<DecodedIkeHeader> {
  return decodeSafely(() => readIkeHeader(new ByteReader(datagram), datagram.length));
}

export function writeIkeHeader(w: ByteWriter, h: IkeHeader, firstPayload: number, length: number): void {
  if (h.spiI.length !== IKE_SPI_LENGTH || h.spiR.length !== IKE_SPI_LENGTH) throw new RangeError('IKE SPIs must be 8 bytes');
  const flags = (h.initiator ? HEADER_FLAG.INITIATOR : 0) | (h.response ? HEADER_FLAG.RESPONSE : 0) | (h.higherVersion ? HEADER_FLAG.VERSION : 0);
  w.bytes(h.spiI)
    .bytes(h.spiR)
    .u8(uint(firstPayload, 0xff, 'next payload'))
    .u8(IKE_MAJOR_VERSION << 4)
    .u8(uint(h.exchangeType, 0xff, 'exchangeType'))
    .u8(flags)
    .u32(uint(h.messageId, 0xffffffff, 'messageId'))
    .u32(uint(length, 0xffffffff, 'length'));
}
