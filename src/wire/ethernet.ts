/**
 * Ethernet II frames as a TAP device reads and writes them: no preamble, no
 * FCS, no minimum-size padding required on send (IEEE 802.3 §3.2; RFC 894
 * for IPv4 over it, RFC 826 for ARP):
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |             Destination MAC address (6 octets)                |
 *   +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                               |                               |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
 *   |               Source MAC address (6 octets)                   |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |          EtherType            |  Payload ...
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * MAC address, first octet: bit 0 (I/G) = group (multicast; broadcast is
 * ff:ff:ff:ff:ff:ff), bit 1 (U/L) = locally administered.
 *
 * A type field below 0x0600 is an IEEE 802.3 length (LLC/SNAP framing), not
 * an EtherType: decode refuses it as 'unknown-type'. VLAN tags are not
 * parsed (etherType 0x8100 with the tag left in the payload). The payload is
 * a view into the input and keeps any link padding; the upper layer trims it
 * by its own length field (IPv4 Total Length; ARP is fixed-size).
 */
import { ShoalError } from '../lib/errors.js';
import { ByteReader } from './byte-reader.js';
import { ByteWriter } from './byte-writer.js';
import { DecodeError, decodeSafely, type Decoded } from './decode-error.js';

/** A 6-byte MAC address. Decoded MACs are views into the frame. */
export type Mac = Uint8Array;

export const MAC_LENGTH = 6;
export const ETHERNET_HEADER_LENGTH = 14;
/** Smallest value that is an EtherType rather than an 802.3 length. */
export const MIN_ETHERTYPE = 0x0600;

export const ETHERTYPE = { IPV4: 0x0800, ARP: 0x0806, VLAN: 0x8100, IPV6: 0x86dd } as const;

export interface EthernetFrame {
  dst: Mac;
  src: Mac;
  etherType: number;
  payload: Uint8Array;
}

// ---- MAC helpers ----

const MAC_TEXT = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

/** "aa:bb:cc:dd:ee:ff" (either case) to bytes; throws ShoalError('BAD_MAC') for anything else (config input). */
export function parseMac(text: string): Mac {
  const t = text.trim();
  if (!MAC_TEXT.test(t)) throw new ShoalError('BAD_MAC', `not a MAC address: '${text}'`);
  return Uint8Array.from(t.split(':'), (h) => parseInt(h, 16));
}

/** Lower-case colon-separated hex. */
export function formatMac(mac: Mac): string {
  return Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join(':');
}

/** A fresh ff:ff:ff:ff:ff:ff (fresh so nobody can mutate a shared constant). */
export function broadcastMac(): Mac {
  return new Uint8Array(MAC_LENGTH).fill(0xff);
}

/** A fresh 00:00:00:00:00:00 (ARP's "unknown" target hardware address). */
export function zeroMac(): Mac {
  return new Uint8Array(MAC_LENGTH);
}

export function isBroadcastMac(mac: Mac): boolean {
  return mac.length === MAC_LENGTH && mac.every((b) => b === 0xff);
}

/** Group bit (I/G) set: multicast, broadcast included. */
export function isMulticastMac(mac: Mac): boolean {
  return ((mac[0] ?? 0) & 0x01) !== 0;
}

/** U/L bit set: a locally administered address (what a cluster invents for itself). */
export function isLocallyAdministeredMac(mac: Mac): boolean {
  return ((mac[0] ?? 0) & 0x02) !== 0;
}

export function macEquals(a: Mac, b: Mac): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// ---- codec ----

/** Reads a 6-byte MAC (a view). */
export function readMac(r: ByteReader, what: string): Mac {
  return r.bytes(MAC_LENGTH, what);
}

export function writeMac(w: ByteWriter, mac: Mac, what: string): void {
  if (mac.length !== MAC_LENGTH) throw new RangeError(`${what}: a MAC is ${MAC_LENGTH} bytes, got ${mac.length}`);
  w.bytes(mac);
}

export function decodeEthernet(bytes: Uint8Array): Decoded<EthernetFrame> {
  return decodeSafely(() => {
    const r = new ByteReader(bytes);
    const dst = readMac(r, 'destination MAC');
    const src = readMac(r, 'source MAC');
    const etherType = r.u16('EtherType');
    if (etherType < MIN_ETHERTYPE) {
      throw new DecodeError('unknown-type', `type field 0x${etherType.toString(16)} is an 802.3 length, not an EtherType`);
    }
    return { dst, src, etherType, payload: r.rest() };
  });
}

/** Header + payload, no padding and no FCS (the TAP device and the kernel handle both). */
export function encodeEthernet(frame: EthernetFrame): Uint8Array {
  const { etherType } = frame;
  if (!Number.isInteger(etherType) || etherType < MIN_ETHERTYPE || etherType > 0xffff) {
    throw new RangeError(`EtherType: ${etherType} is not in 0x0600..0xffff`);
  }
  const w = new ByteWriter(ETHERNET_HEADER_LENGTH + frame.payload.length);
  writeMac(w, frame.dst, 'destination MAC');
  writeMac(w, frame.src, 'source MAC');
  w.u16(etherType).bytes(frame.payload);
  return w.finish();
}
