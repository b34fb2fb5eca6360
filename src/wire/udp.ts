/**
 * UDP (RFC 768):
 *
 *    0      7 8     15 16    23 24    31
 *   +--------+--------+--------+--------+
 *   |     Source      |   Destination   |
 *   |      Port       |      Port       |
 *   +--------+--------+--------+--------+
 *   |     Length      |    Checksum     |
 *   +--------+--------+--------+--------+
 *   |          data octets ...
 *   +---------------- ...
 *
 * Length covers header + data (minimum 8). The checksum covers the IPv4
 * pseudo-header (src, dst, zero|17, Length; see checksum.ts), the header and
 * the data. Over IPv4 a transmitted 0 means "no checksum"; a computed 0 is
 * therefore sent as 0xFFFF (its one's complement twin).
 *
 * Decode: Length < 8 is 'bad-length', Length beyond the IP payload is
 * 'truncated', a wrong non-zero checksum is 'bad-checksum'. Octets after
 * Length are ignored (as Linux trims them). The payload is a view.
 */
import type { Ipv4 } from '../lib/ipv4.js';
import { ByteReader } from './byte-reader.js';
import { ByteWriter } from './byte-writer.js';
import { checksumOfSum, checksumValid, onesSum, pseudoHeaderSum } from './checksum.js';
import { DecodeError, decodeSafely, type Decoded } from './decode-error.js';
import { IP_PROTOCOL, IPV4_MAX_DATAGRAM, IPV4_MIN_HEADER } from './ipv4.js';

export const UDP_HEADER_LENGTH = 8;
/** Largest payload that fits one IPv4 datagram with a minimal header. */
export const UDP_MAX_PAYLOAD = IPV4_MAX_DATAGRAM - IPV4_MIN_HEADER - UDP_HEADER_LENGTH;

/** The IPv4 addresses the pseudo-header takes from the enclosing datagram. */
export interface UdpEndpoints {
  src: Ipv4;
  dst: Ipv4;
}

export interface UdpDatagram {
  srcPort: number;
  dstPort: number;
  payload: Uint8Array;
}

export interface DecodedUdp extends UdpDatagram {
  /** False when the sender sent checksum 0 ("none"), so nothing was verified. */
  checksummed: boolean;
}

export function decodeUdp(bytes: Uint8Array, endpoints: UdpEndpoints): Decoded<DecodedUdp> {
  return decodeSafely(() => {
    const r = new ByteReader(bytes);
    const srcPort = r.u16('source port');
    const dstPort = r.u16('destination port');
    const length = r.u16('length');
    const checksum = r.u16('checksum');
    if (length < UDP_HEADER_LENGTH) throw new DecodeError('bad-length', `UDP length ${length} < ${UDP_HEADER_LENGTH}`);
    const payload = r.bytes(length - UDP_HEADER_LENGTH, 'UDP data');
    const checksummed = checksum !== 0;
    if (checksummed) {
      const pseudo = pseudoHeaderSum(endpoints.src, endpoints.dst, IP_PROTOCOL.UDP, length);
      if (!checksumValid(bytes, 0, length, pseudo)) throw new DecodeError('bad-checksum', 'UDP checksum');
    }
    return { srcPort, dstPort, payload, checksummed };
  });
}

function uint(v: number, max: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`${what}: ${v} is not an integer in 0..${max}`);
  return v;
}

/**
 * Header + payload. `checksum: false` sends 0 ("none", legal over IPv4 but
 * only for traffic that protects itself); the default computes it.
 */
export function encodeUdp(d: UdpDatagram, endpoints: UdpEndpoints, options: { checksum?: boolean } = {}): Uint8Array {
  if (d.payload.length > UDP_MAX_PAYLOAD) throw new RangeError(`UDP payload of ${d.payload.length} bytes exceeds ${UDP_MAX_PAYLOAD}`);
  const srcPort = uint(d.srcPort, 0xffff, 'srcPort');
  const dstPort = uint(d.dstPort, 0xffff, 'dstPort');
  const length = UDP_HEADER_LENGTH + d.payload.length;
  let checksum = 0;
  if (options.checksum ?? true) {
    const src = uint(endpoints.src, 0xffffffff, 'src');
    const dst = uint(endpoints.dst, 0xffffffff, 'dst');
    const header = srcPort + dstPort + length;
    const sum = onesSum(d.payload, 0, d.payload.length, pseudoHeaderSum(src, dst, IP_PROTOCOL.UDP, length) + header);
    checksum = checksumOfSum(sum) || 0xffff;
  }
  const w = new ByteWriter(length);
  w.u16(srcPort).u16(dstPort).u16(length).u16(checksum).bytes(d.payload);
  return w.finish();
}
