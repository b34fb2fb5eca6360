/**
 * Notify payload body (RFC 7296 §3.10):
 *
 *   |  Protocol ID  |   SPI Size    |      Notify Message Type      |
 *   ~                Security Parameter Index (SPI)                 ~
 *   ~                       Notification Data                       ~
 *
 * Types below 16384 are errors, 16384 and up are status (§3.10.1). An
 * unknown error type in a response means the request failed; unknown status
 * types are ignored — both are the caller's decision, so any type decodes.
 */
import { ByteReader } from '../byte-reader.js';
import { ByteWriter } from '../byte-writer.js';
import { decodeSafely, type Decoded } from '../decode-error.js';
import { MAX_PAYLOAD_BODY, maxLength, uint } from './fields.js';

export const NOTIFY = {
  UNSUPPORTED_CRITICAL_PAYLOAD: 1,
  INVALID_IKE_SPI: 4,
  INVALID_MAJOR_VERSION: 5,
  INVALID_SYNTAX: 7,
  INVALID_MESSAGE_ID: 9,
  INVALID_SPI: 11,
  NO_PROPOSAL_CHOSEN: 14,
  INVALID_KE_PAYLOAD: 17,
  AUTHENTICATION_FAILED: 24,
  SINGLE_PAIR_REQUIRED: 34,
  NO_ADDITIONAL_SAS: 35,
  INTERNAL_ADDRESS_FAILURE: 36,
  FAILED_CP_REQUIRED: 37,
  TS_UNACCEPTABLE: 38,
  INVALID_SELECTORS: 39,
  TEMPORARY_FAILURE: 43,
  CHILD_SA_NOT_FOUND: 44,
  INITIAL_CONTACT: 16384,
  SET_WINDOW_SIZE: 16385,
  ADDITIONAL_TS_POSSIBLE: 16386,
  IPCOMP_SUPPORTED: 16387,
  NAT_DETECTION_SOURCE_IP: 16388,
  NAT_DETECTION_DESTINATION_IP: 16389,
  COOKIE: 16390,
  USE_TRANSPORT_MODE: 16391,
  HTTP_CERT_LOOKUP_SUPPORTED: 16392,
  REKEY_SA: 16393,
  ESP_TFC_PADDING_NOT_SUPPORTED: 16394,
  NON_FIRST_FRAGMENTS_ALSO: 16395,
  // RFC 4555 §6.1
  MOBIKE_SUPPORTED: 16396,
  // RFC 7383 §2.3
  IKEV2_FRAGMENTATION_SUPPORTED: 16430,
  // RFC 7427 §4
  SIGNATURE_HASH_ALGORITHMS: 16431,
} as const;

/** First status type; everything below is an error (RFC 7296 §3.10.1). */
export const NOTIFY_STATUS_MIN = 16384;

export function isErrorNotify(type: number): boolean {
  return type < NOTIFY_STATUS_MIN;
}

export interface NotifyPayload {
  /** 0 when the notification is about the IKE SA itself (SPI Size 0). */
  protocolId: number;
  notifyType: number;
  spi: Uint8Array;
  data: Uint8Array;
}

export function readNotify(body: Uint8Array): NotifyPayload {
  const r = new ByteReader(body);
  const protocolId = r.u8('notify protocol ID');
  const spiSize = r.u8('notify SPI size');
  const notifyType = r.u16('notify type');
  const spi = r.bytes(spiSize, 'notify SPI');
  return { protocolId, notifyType, spi, data: r.rest() };
}

export function decodeNotify(body: Uint8Array): Decoded<NotifyPayload> {
  return decodeSafely(() => readNotify(body));
}

export function encodeNotify(p: NotifyPayload): Uint8Array {
  maxLength(p.spi, 0xff, 'notify SPI');
  maxLength(p.data, MAX_PAYLOAD_BODY - 4 - p.spi.length, 'notify data');
  return new ByteWriter(4 + p.spi.length + p.data.length)
    .u8(uint(p.protocolId, 0xff, 'protocolId'))
    .u8(p.spi.length)
    .u16(uint(p.notifyType, 0xffff, 'notifyType'))
    .bytes(p.spi)
    .bytes(p.data)
    .finish();
}

/** The SIGNATURE_HASH_ALGORITHMS data (RFC 7427 §4): a list of 16-bit hash algorithm numbers. */
export function readHashAlgorithms(data: Uint8Array): Decoded<number[]> {
  return decodeSafely(() => {
    const r = new ByteReader(data);
    const out: number[] = [];
    while (r.remaining > 0) out.push(r.u16('hash algorithm'));
    return out;
  });
}

/** Hash Algorithm Identifiers (RFC 7427 §7; IDENTITY from RFC 8420, for Ed25519). */
export const HASH_ALGORITHM = { SHA1: 1, SHA2_256: 2, SHA2_384: 3, SHA2_512: 4, IDENTITY: 5 } as const;
