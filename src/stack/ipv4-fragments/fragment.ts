/**
 * Fragmentation (RFC 791 §2.3 "Fragmentation", §3.2 "An Example
 * Fragmentation Procedure"):
 *
 *   datagram (TL > MTU, DF = 0)
 *   |header+all options| data ..................................... |
 *        |
 *        v   each fragment's data is a multiple of 8 octets, except the last
 *   |header+all options| data[0, n1)          |  MF=1, FO=OFO
 *   |header+copied opts| data[n1, n2)         |  MF=1, FO=OFO+n1/8
 *   |header+copied opts| data[n2, end)        |  MF=OMF, FO=OFO+n2/8
 *
 * Each fragment is as large as the MTU allows. Only options whose copied
 * flag (bit 0 of the option type, RFC 791 §3.1) is set go past the first
 * fragment, padded to a 32-bit boundary with End-of-Options. A fragment of a
 * fragment keeps the original offset and MF (steps 2 and 9), so refragmenting
 * on the way is transparent to the reassembler.
 */
import { ByteReader } from '../../wire/byte-reader.js';
import { ByteWriter } from '../../wire/byte-writer.js';
import { DecodeError, decodeSafely, type Decoded } from '../../wire/decode-error.js';
import { decodeIpv4, encodeIpv4, ipv4HeaderLength, IPV4_MAX_DATAGRAM, IPV4_MIN_HEADER, type Ipv4Header } from '../../wire/ipv4.js';

/** RFC 791: "Every internet module must be able to forward a datagram of 68 octets without further fragmentation." */
export const MIN_MTU = 68;

const OPTION_EOL = 0;
const OPTION_NOP = 1;
const OPTION_COPIED = 0x80;

export type FragmentResult =
  | { ok: true; fragments: Uint8Array[] }
  /** DF is set and the datagram exceeds the MTU: send ICMP 3/4 with this MTU as the next-hop MTU (RFC 1191). */
  | { ok: false; refusal: 'dont-fragment'; mtu: number }
  /** Not a valid IPv4 datagram, its options do not parse, or its fragment offset runs past 65535. */
  | { ok: false; refusal: 'malformed'; error: DecodeError };

/**
 * The options that go into every fragment after the first: those with the
 * copied flag, in order, padded with End-of-Options to a multiple of 4.
 * Malformed option lists (length < 2, running past the header) are a DecodeError.
 */
export function copiedOptions(options: Uint8Array): Decoded<Uint8Array> {
  return decodeSafely(() => {
    const r = new ByteReader(options);
    const w = new ByteWriter(options.length);
    while (r.remaining > 0) {
      const type = r.u8('option type');
      if (type === OPTION_EOL) break;
      if (type === OPTION_NOP) continue;
      const length = r.u8('option length');
      if (length < 2) throw new DecodeError('bad-length', `option ${type}: length ${length} < 2`);
      const body = r.bytes(length - 2, `option ${type}`);
      if ((type & OPTION_COPIED) !== 0) w.u8(type).u8(length).bytes(body);
    }
    while (w.length % 4 !== 0) w.u8(OPTION_EOL);
    return w.finish();
  });
}

/**
 * Splits `packet` (an IPv4 datagram or fragment) into fragments of at most
 * `mtu` octets. A datagram that already fits comes back as the only
 * fragment (a view of the input, link padding dropped). `mtu` below 68 is a
 * programming error (RangeError).
 */
export function fragment(packet: Uint8Array, mtu: number): FragmentResult {
  if (!Number.isInteger(mtu) || mtu < MIN_MTU) throw new RangeError(`mtu: ${mtu} is below the IPv4 minimum of ${MIN_MTU}`);
  const decoded = decodeIpv4(packet);
  if (!decoded.ok) return { ok: false, refusal: 'malformed', error: decoded.error };
  const { header, payload } = decoded.value;
  const firstLength = ipv4HeaderLength(header);
  if (firstLength + payload.length <= mtu) return { ok: true, fragments: [packet.subarray(0, firstLength + payload.length)] };
  if (header.dontFragment) return { ok: false, refusal: 'dont-fragment', mtu };
  const start = header.fragmentOffset * 8;
  if (start + payload.length > IPV4_MAX_DATAGRAM - IPV4_MIN_HEADER) {
    const error = new DecodeError('bad-length', `fragment data ends at ${start + payload.length}, past the largest datagram`);
    return { ok: false, refusal: 'malformed', error };
  }
  const copied = copiedOptions(header.options);
  if (!copied.ok) return { ok: false, refusal: 'malformed', error: copied.error };

  const fragments: Uint8Array[] = [];
  let at = 0;
  while (at < payload.length) {
    const options = at === 0 ? header.options : copied.value;
    const room = mtu - IPV4_MIN_HEADER - options.length;
    const last = payload.length - at <= room;
    const length = last ? payload.length - at : room - (room % 8);
    const fragmentHeader: Ipv4Header = {
      ...header,
      options,
      fragmentOffset: header.fragmentOffset + at / 8,
      moreFragments: last ? header.moreFragments : true,
    };
    fragments.push(encodeIpv4({ header: fragmentHeader, payload: payload.subarray(at, at + length) }));
    at += length;
  }
  return { ok: true, fragments };
}
