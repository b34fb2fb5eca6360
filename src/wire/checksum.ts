/**
 * The Internet checksum (RFC 1071): the 16-bit one's complement of the one's
 * complement sum of the data taken as big-endian 16-bit words, an odd last
 * octet padded on the right with a zero octet.
 *
 *     byte:   A     B     C     D    ...   Z (odd length)
 *     words: [A,B]     [C,D]        ...  [Z,0]
 *     sum  = [A,B] +' [C,D] +' ... +' [Z,0]      (+' = add with end-around carry)
 *     checksum = ~sum
 *
 * RFC 1071 §2: carries may be deferred — we add plain 16-bit words into a JS
 * number (exact up to 2^53, i.e. far beyond any IP datagram) and fold the
 * carries back once at the end. Verification (§1, RFC 1624 §5) sums the data
 * *including* the checksum field and expects -0 (0xFFFF).
 *
 * Pseudo-header for UDP and TCP over IPv4 (RFC 768, RFC 9293 §3.1):
 *
 *     0      7 8     15 16    23 24    31
 *    +--------+--------+--------+--------+
 *    |          source address           |
 *    +--------+--------+--------+--------+
 *    |        destination address        |
 *    +--------+--------+--------+--------+
 *    |  zero  |protocol|  segment length |
 *    +--------+--------+--------+--------+
 *
 * Incremental update (RFC 1624 Eqn. 3) when one 16-bit word m changes to m':
 *
 *     HC' = ~(~HC + ~m + m')
 *
 * (Eqn. 2 of RFC 1141 gets -0 where recomputation gives +0; Eqn. 3 does not.)
 */

/**
 * The unfolded one's complement sum of bytes[start, end) as 16-bit words,
 * added to `initial` (another unfolded sum, e.g. a pseudo-header). The range
 * starts a word; an odd last byte is padded with zero. Chain ranges only when
 * every range but the last has even length.
 */
export function onesSum(bytes: Uint8Array, start = 0, end = bytes.length, initial = 0): number {
  if (start < 0 || end > bytes.length || start > end) {
    throw new RangeError(`checksum range [${start}, ${end}) outside a ${bytes.length}-byte buffer`);
  }
  let sum = initial;
  let i = start;
  // Big-endian 32-bit words: a word hi‖lo is hi·2^16 + lo ≡ hi + lo (mod 2^16 − 1), so
  // summing them and folding at the end gives the 16-bit result in half the steps
  // (the packet path checksums every UDP datagram it receives).
  const words = (end - start) >>> 2;
  if (words >= 8) {
    const view = new DataView(bytes.buffer, bytes.byteOffset + start, words * 4);
    for (let k = 0; k < words * 4; k += 4) sum += view.getUint32(k);
    i += words * 4;
  }
  const last = end - 1;
  for (; i < last; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!;
  if (i === last) sum += bytes[i]! << 8;
  return sum;
}

/** Folds the carries of an unfolded sum back into 16 bits (end-around carry). */
export function foldSum(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s % 0x10000) + Math.floor(s / 0x10000);
  return s;
}

/** The checksum field value for bytes[start, end) (whose own checksum field must read 0), plus `initial`. */
export function internetChecksum(bytes: Uint8Array, start = 0, end = bytes.length, initial = 0): number {
  return ~foldSum(onesSum(bytes, start, end, initial)) & 0xffff;
}

/** The checksum of a sum already accumulated with onesSum / pseudoHeaderSum and plain word additions. */
export function checksumOfSum(sum: number): number {
  return ~foldSum(sum) & 0xffff;
}

/** True when bytes[start, end), checksum field included, plus `initial` sums to -0 (RFC 1071 §1). */
export function checksumValid(bytes: Uint8Array, start = 0, end = bytes.length, initial = 0): boolean {
  return foldSum(onesSum(bytes, start, end, initial)) === 0xffff;
}

/** Unfolded sum of the IPv4 pseudo-header (RFC 768): src, dst, zero|protocol, length of header + data. */
export function pseudoHeaderSum(src: number, dst: number, protocol: number, length: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + (protocol & 0xff) + (length & 0xffff);
}

/**
 * RFC 1624 Eqn. 3: the new checksum field after one 16-bit word of the
 * covered data changes from `oldWord` to `newWord` (e.g. TTL|protocol on a
 * TTL decrement). Equals recomputation from scratch whenever the rest of the
 * covered data is not all zero (always true for an IPv4 header).
 */
export function updateChecksum(checksum: number, oldWord: number, newWord: number): number {
  return ~foldSum((~checksum & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff)) & 0xffff;
}
