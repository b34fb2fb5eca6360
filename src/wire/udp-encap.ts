/**
 * UDP port 4500 (RFC 3948 §2) carries three things in the UDP payload:
 *
 *   NAT keepalive:  | 0xFF |                               (exactly one byte, §2.3)
 *   IKE (non-ESP):  | 0x00000000 (non-ESP marker) | IKE message …    (§2.2)
 *   ESP-in-UDP:     | SPI (non-zero) | Sequence Number | …           (§2.1)
 *
 * The marker aligns with the SPI field, and an ESP SPI is never 0, so the
 * first four bytes decide. Decoded IKE messages and ESP packets are views.
 */
import { DecodeError, type Decoded } from './decode-error.js';
import { ESP_HEADER_LENGTH, readU32 } from './esp.js';

export const NAT_T_PORT = 4500;
export const NON_ESP_MARKER_LENGTH = 4;
export const NAT_KEEPALIVE_BYTE = 0xff;

export type UdpEncapPayload =
  | { kind: 'keepalive' }
  | { kind: 'ike'; message: Uint8Array }
  | { kind: 'esp'; packet: Uint8Array };

const KEEPALIVE: UdpEncapPayload = Object.freeze({ kind: 'keepalive' });

/**
 * Classifies a UDP-4500 payload. Shorter than the marker (and not a
 * keepalive), or ESP shorter than its 8-byte header, is 'truncated'; a
 * one-byte payload other than 0xFF is 'bad-value'.
 */
export function decodeUdpEncap(payload: Uint8Array): Decoded<UdpEncapPayload> {
  if (payload.length === 1) {
    if (payload[0] === NAT_KEEPALIVE_BYTE) return { ok: true, value: KEEPALIVE };
    return { ok: false, error: new DecodeError('bad-value', `one-byte UDP-4500 payload 0x${payload[0]!.toString(16)} is not a NAT keepalive`) };
  }
  if (payload.length < NON_ESP_MARKER_LENGTH) return { ok: false, error: new DecodeError('truncated', `UDP-4500 payload of ${payload.length} bytes`) };
  if (readU32(payload, 0) === 0) return { ok: true, value: { kind: 'ike', message: payload.subarray(NON_ESP_MARKER_LENGTH) } };
  if (payload.length < ESP_HEADER_LENGTH) return { ok: false, error: new DecodeError('truncated', `ESP-in-UDP of ${payload.length} bytes`) };
  return { ok: true, value: { kind: 'esp', packet: payload } };
}

export function encodeNatKeepalive(): Uint8Array {
  return Uint8Array.of(NAT_KEEPALIVE_BYTE);
}

/** The non-ESP marker, then the IKE message. */
export function encodeNonEsp(ikeMessage: Uint8Array): Uint8Array {
  const out = new Uint8Array(NON_ESP_MARKER_LENGTH + ikeMessage.length);
  out.set(ikeMessage, NON_ESP_MARKER_LENGTH);
  return out;
}

/** ESP goes directly after the UDP header, unchanged; refused if it would read as a marker or a keepalive. */
export function encodeEspInUdp(espPacket: Uint8Array): Uint8Array {
  if (espPacket.length < ESP_HEADER_LENGTH || readU32(espPacket, 0) === 0) throw new RangeError('ESP-in-UDP needs an 8-byte header with a non-zero SPI');
  return espPacket;
}

export function encodeUdpEncap(p: UdpEncapPayload): Uint8Array {
  switch (p.kind) {
    case 'keepalive':
      return encodeNatKeepalive();
    case 'ike':
      return encodeNonEsp(p.message);
    case 'esp':
      return encodeEspInUdp(p.packet);
  }
}
