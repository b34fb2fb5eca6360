/**
 * ICMP for IPv4 (RFC 792), the messages a host/router stack needs. All start
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |     Type      |     Code      |          Checksum             |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * then, by type:
 *
 *   Echo (8) / Echo Reply (0), code 0:
 *   |           Identifier          |        Sequence Number        |
 *   |     Data ...
 *
 *   Destination Unreachable (3), codes 0 net, 1 host, 2 protocol, 3 port,
 *   4 fragmentation needed and DF set, 5 source route failed (RFC 1122 and
 *   RFC 1812 add 6..15):
 *   |            unused             |  Next-Hop MTU (code 4 only)   |
 *   |      Internet Header + 64 bits of Original Data Datagram      |
 *
 *   Time Exceeded (11), codes 0 TTL exceeded in transit, 1 reassembly
 *   time exceeded:
 *   |                             unused                            |
 *   |      Internet Header + 64 bits of Original Data Datagram      |
 *
 * The Next-Hop MTU is RFC 1191 §4 (the low 16 bits of the second word; 0 from
 * a router that predates it). The checksum covers the whole ICMP message
 * (type onwards, odd length zero-padded) and is verified on decode
 * ('bad-checksum'). ICMP has no length field: its length is the IP payload's.
 * Other types decode as 'unknown-type'; "unused" fields are ignored on
 * decode and sent as zero. Data and quoted datagrams are views of the input.
 */
import { ByteReader } from './byte-reader.js';
import { ByteWriter } from './byte-writer.js';
import { checksumOfSum, checksumValid, onesSum } from './checksum.js';
import { DecodeError, decodeSafely, type Decoded } from './decode-error.js';
import { decodeIpv4, ipv4HeaderLength, IPV4_MIN_HEADER } from './ipv4.js';

export const ICMP_HEADER_LENGTH = 8;
/** RFC 792: the quote is the original internet header plus 64 bits of its data. */
export const QUOTED_DATA_LENGTH = 8;

export const ICMP_TYPE = { ECHO_REPLY: 0, DESTINATION_UNREACHABLE: 3, ECHO_REQUEST: 8, TIME_EXCEEDED: 11 } as const;
export const UNREACHABLE_CODE = {
  NET: 0,
  HOST: 1,
  PROTOCOL: 2,
  PORT: 3,
  FRAGMENTATION_NEEDED: 4,
  SOURCE_ROUTE_FAILED: 5,
} as const;
export const TIME_EXCEEDED_CODE = { TTL: 0, REASSEMBLY: 1 } as const;

export interface IcmpEcho {
  kind: 'echo-request' | 'echo-reply';
  id: number;
  seq: number;
  data: Uint8Array;
}

export interface IcmpDestinationUnreachable {
  kind: 'destination-unreachable';
  code: number;
  /** RFC 1191 next-hop MTU; only code 4 carries one, 0 otherwise. */
  nextHopMtu: number;
  /** The original datagram's IP header + first 8 data octets (at least an IPv4 header). */
  original: Uint8Array;
}

export interface IcmpTimeExceeded {
  kind: 'time-exceeded';
  code: number;
  original: Uint8Array;
}

export type IcmpMessage = IcmpEcho | IcmpDestinationUnreachable | IcmpTimeExceeded;

function readOriginal(r: ByteReader): Uint8Array {
  const original = r.rest();
  if (original.length < IPV4_MIN_HEADER) throw new DecodeError('truncated', `quoted datagram: ${original.length} bytes`);
  return original;
}

export function decodeIcmp(bytes: Uint8Array): Decoded<IcmpMessage> {
  return decodeSafely((): IcmpMessage => {
    const r = new ByteReader(bytes);
    const type = r.u8('ICMP type');
    const code = r.u8('ICMP code');
    r.u16('ICMP checksum');
    const word1 = r.u16('ICMP word 1');
    const word2 = r.u16('ICMP word 2');
    if (!checksumValid(bytes)) throw new DecodeError('bad-checksum', 'ICMP checksum');
    switch (type) {
      case ICMP_TYPE.ECHO_REQUEST:
      case ICMP_TYPE.ECHO_REPLY:
        if (code !== 0) throw new DecodeError('bad-value', `echo code ${code}`);
        return { kind: type === ICMP_TYPE.ECHO_REQUEST ? 'echo-request' : 'echo-reply', id: word1, seq: word2, data: r.rest() };
      case ICMP_TYPE.DESTINATION_UNREACHABLE:
        return {
          kind: 'destination-unreachable',
          code,
          nextHopMtu: code === UNREACHABLE_CODE.FRAGMENTATION_NEEDED ? word2 : 0,
          original: readOriginal(r),
        };
      case ICMP_TYPE.TIME_EXCEEDED:
        return { kind: 'time-exceeded', code, original: readOriginal(r) };
      default:
        throw new DecodeError('unknown-type', `ICMP type ${type}`);
    }
  });
}

function uint(v: number, max: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`${what}: ${v} is not an integer in 0..${max}`);
  return v;
}

/** [type, code, word1, word2, body] for the message. */
function layout(m: IcmpMessage): [number, number, number, number, Uint8Array] {
  switch (m.kind) {
    case 'echo-request':
    case 'echo-reply':
      return [
        m.kind === 'echo-request' ? ICMP_TYPE.ECHO_REQUEST : ICMP_TYPE.ECHO_REPLY,
        0,
        uint(m.id, 0xffff, 'echo id'),
        uint(m.seq, 0xffff, 'echo seq'),
        m.data,
      ];
    case 'destination-unreachable': {
      const code = uint(m.code, 0xff, 'unreachable code');
      const mtu = uint(m.nextHopMtu, 0xffff, 'nextHopMtu');
      if (mtu !== 0 && code !== UNREACHABLE_CODE.FRAGMENTATION_NEEDED) {
        throw new RangeError(`nextHopMtu: only code 4 carries one, got code ${code}`);
      }
      return [ICMP_TYPE.DESTINATION_UNREACHABLE, code, 0, mtu, checkOriginal(m.original)];
    }
    case 'time-exceeded':
      return [ICMP_TYPE.TIME_EXCEEDED, uint(m.code, 0xff, 'time exceeded code'), 0, 0, checkOriginal(m.original)];
  }
}

function checkOriginal(original: Uint8Array): Uint8Array {
  if (original.length < IPV4_MIN_HEADER) throw new RangeError(`original: ${original.length} bytes is less than an IPv4 header`);
  return original;
}

/** The message on the wire, checksum filled in. */
export function encodeIcmp(m: IcmpMessage): Uint8Array {
  const [type, code, word1, word2, body] = layout(m);
  const length = ICMP_HEADER_LENGTH + body.length;
  if (length > 0xffff) throw new RangeError(`ICMP message of ${length} bytes cannot fit an IPv4 datagram`);
  const checksum = checksumOfSum(onesSum(body, 0, body.length, ((type << 8) | code) + word1 + word2));
  const w = new ByteWriter(length);
  w.u8(type).u8(code).u16(checksum).u16(word1).u16(word2).bytes(body);
  return w.finish();
}

/** The echo reply to `request` (RFC 792: same identifier, sequence number and data). */
export function echoReplyTo(request: IcmpEcho): IcmpEcho {
  return { kind: 'echo-reply', id: request.id, seq: request.seq, data: request.data };
}

/**
 * What an error message quotes of `datagram` (RFC 792): its IP header and
 * the first 64 bits of its data (fewer if it has fewer). A view of the
 * input. Undefined when `datagram` is not a valid IPv4 datagram.
 */
export function quoteOriginal(datagram: Uint8Array): Uint8Array | undefined {
  const d = decodeIpv4(datagram);
  if (!d.ok) return undefined;
  return datagram.subarray(0, ipv4HeaderLength(d.value.header) + Math.min(QUOTED_DATA_LENGTH, d.value.payload.length));
}

/** Destination Unreachable about `datagram`; `nextHopMtu` only with code 4 (fragmentation needed). */
export function destinationUnreachable(code: number, datagram: Uint8Array, nextHopMtu = 0): IcmpDestinationUnreachable | undefined {
  const original = quoteOriginal(datagram);
  return original && { kind: 'destination-unreachable', code, nextHopMtu, original };
}

/** Time Exceeded about `datagram`: code 0 TTL in transit, 1 reassembly. */
export function timeExceeded(code: number, datagram: Uint8Array): IcmpTimeExceeded | undefined {
  const original = quoteOriginal(datagram);
  return original && { kind: 'time-exceeded', code, original };
}
