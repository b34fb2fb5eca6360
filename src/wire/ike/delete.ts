/**
 * Delete payload body (RFC 7296 §3.11):
 *
 *   | Protocol ID   |   SPI Size    |          Num of SPIs          |
 *   ~               Security Parameter Index(es) (SPI)              ~
 *
 * Num of SPIs × SPI Size must be exactly the rest of the body; for the IKE
 * SA both are zero ("the SPI Size MUST be zero for IKE").
 */
import { ByteReader } from '../byte-reader.js';
import { ByteWriter } from '../byte-writer.js';
import { DecodeError, decodeSafely, type Decoded } from '../decode-error.js';
import { MAX_PAYLOAD_BODY, uint } from './fields.js';

export interface DeletePayload {
  protocolId: number;
  spiSize: number;
  spis: Uint8Array[];
}

export function readDelete(body: Uint8Array): DeletePayload {
  const r = new ByteReader(body);
  const protocolId = r.u8('delete protocol ID');
  const spiSize = r.u8('delete SPI size');
  const count = r.u16('delete SPI count');
  if (spiSize === 0 && count > 0) throw new DecodeError('bad-value', `${count} SPIs of size 0`);
  if (count * spiSize !== r.remaining) {
    throw new DecodeError('bad-length', `${count} SPIs of ${spiSize} bytes in ${r.remaining} bytes`);
  }
  const spis: Uint8Array[] = [];
  for (let i = 0; i < count; i++) spis.push(r.bytes(spiSize, 'delete SPI'));
  return { protocolId, spiSize, spis };
}

export function decodeDelete(body: Uint8Array): Decoded<DeletePayload> {
  return decodeSafely(() => readDelete(body));
}

export function encodeDelete(p: DeletePayload): Uint8Array {
  const spiSize = uint(p.spiSize, 0xff, 'spiSize');
  if (spiSize === 0 && p.spis.length > 0) throw new RangeError('SPI size 0 with SPIs listed');
  for (const spi of p.spis) if (spi.length !== spiSize) throw new RangeError(`SPI of ${spi.length} bytes, SPI size ${spiSize}`);
  uint(4 + spiSize * p.spis.length, MAX_PAYLOAD_BODY, 'delete body length');
  const w = new ByteWriter(4 + spiSize * p.spis.length).u8(uint(p.protocolId, 0xff, 'protocolId')).u8(spiSize).u16(p.spis.length);
  for (const spi of p.spis) w.bytes(spi);
  return w.finish();
}
