/**
 * The one mixing function that folds packet fields into a work unit (0..1023).
 * The filter, the virtual-address pools, the tests and the benches all call
 * these functions; there is no second implementation anywhere.
 *
 * Why a real mixer: XOR-and-mask (`(a ^ p) & 1023`) uses only the low ten bits
 * of each field, so every address of a /22 that shares a port pattern piles up
 * in a few units and the high bits of an address never matter. murmur3's
 * fmix32 finaliser avalanches every input bit into every output bit, so
 * neighbouring addresses and ports scatter like random placement. It costs two
 * Math.imul and three xor-shifts, cheap enough for the per-packet path.
 *
 * The hash is deliberately unkeyed: every member must compute the same unit
 * for a packet without coordination, and the patent's load distribution does
 * not rely on hiding the function (one hostile source can flood one unit by
 * sending from one address+port anyway).
 */
import { UNIT_MASK, type UnitId } from './types.js';
import type { Ipv4 } from '../lib/ipv4.js';

// Distinct seeds per input shape, so (addr) and (addr, 0) and (addr, addr)
// do not systematically land together. Arbitrary odd constants.
const SEED_ADDRESS = 0x53484f41; // "SHOA"
const SEED_ADDRESS_PORT = 0x4c2d5054; // "L-PT"
const SEED_ADDRESS_PAIR = 0x50414952; // "PAIR"

/** murmur3 fmix32: a bijection on 32-bit values with full avalanche. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Destination-only (or source-only) classification: one address. */
export function unitOfAddress(addr: Ipv4): UnitId {
  return fmix32(addr ^ SEED_ADDRESS) & UNIT_MASK;
}

/**
 * The patent's TCP/UDP fields: source address and source port. The address is
 * mixed first, then the port folded in and mixed again, so both feed every bit.
 */
export function unitOfAddressPort(addr: Ipv4, port: number): UnitId {
  return fmix32(fmix32(addr ^ SEED_ADDRESS_PORT) ^ (port & 0xffff)) & UNIT_MASK;
}

/**
 * Source and destination address, in that order: (a, b) and (b, a) are
 * different keys, because forward and reverse directions of forwarded traffic
 * are separate flows in the patent's scheme.
 */
export function unitOfAddressPair(src: Ipv4, dst: Ipv4): UnitId {
  return fmix32(fmix32(src ^ SEED_ADDRESS_PAIR) ^ dst) & UNIT_MASK;
}
