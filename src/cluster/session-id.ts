/**
 * Identifiers the cluster chose carry their unit.
 *
 * When a member accepts a new session it allocates the identifiers the peer
 * will echo back (ESP SPI, IKE responder SPI, L2TP tunnel ID, PPTP call ID,
 * the client's virtual address). Each is chosen so that it maps back to the
 * unit that accepted the session: the low 10 bits of the identifier ARE the
 * unit, the remaining bits are random from the injected RandomSource (random
 * so that identifiers are not guessable and do not collide across restarts).
 * The filter (filter.ts) then reads the unit straight out of later packets,
 * which keeps a session on its unit even when the NAT in front of the client
 * changes the source port (the charon-cmd IKE_SA_INIT 500 → IKE_AUTH 4500 case).
 *
 * Virtual addresses cannot carry bits by construction (the pool is a fixed
 * prefix), so pools instead hand out only addresses whose destination-only
 * hash, unitOfAddress(addr), equals the session's unit.
 */
import { ShoalError } from '../lib/errors.js';
import type { RandomSource } from '../lib/random.js';
import { UNIT_COUNT, UNIT_MASK, type UnitId } from './types.js';
import { unitOfAddress } from './unit-hash.js';

/** Random retries before we call a 22-bit (or wider) space exhausted. */
const MAX_RANDOM_TRIES = 256;

function checkUnit(unit: UnitId): void {
  if (!Number.isInteger(unit) || unit < 0 || unit >= UNIT_COUNT) {
    throw new ShoalError('BAD_UNIT', `unit out of range 0..${UNIT_COUNT - 1}: ${unit}`);
  }
}

// ---------------------------------------------------------------- ESP SPI

/** ESP SPI (RFC 4303 §2.1): the low 10 bits are the unit. */
export function unitOfSpi32(spi: number): UnitId {
  return spi & UNIT_MASK;
}

/**
 * A 32-bit ESP SPI in `unit`. RFC 4303 reserves 1..255 and forbids 0; any
 * value whose upper 22 bits are non-zero is >= 1024, so we only need to reject
 * an all-zero random part. `inUse` lets the caller enforce uniqueness in its
 * own SA table.
 */
export function allocateSpi32(unit: UnitId, rng: RandomSource, inUse?: (spi: number) => boolean): number {
  checkUnit(unit);
  for (let i = 0; i < MAX_RANDOM_TRIES; i++) {
    const spi = ((rng.u32() & ~UNIT_MASK) | unit) >>> 0;
    if (spi >>> 10 === 0) continue;
    if (inUse?.(spi)) continue;
    return spi;
  }
  throw new ShoalError('ID_EXHAUSTED', `no free ESP SPI in unit ${unit} after ${MAX_RANDOM_TRIES} tries`);
}

// ---------------------------------------------------------- IKE SPI (8 bytes)

export const IKE_SPI_LEN = 8;

/**
 * The unit of an 8-byte IKE SPI read as a big-endian 64-bit value: its low 10
 * bits, i.e. the low 2 bits of byte 6 and all of byte 7. The caller guarantees
 * offset+8 <= bytes.length (the filter bounds-checks before calling).
 */
export function unitOfIkeSpi(bytes: Uint8Array, offset = 0): UnitId {
  return ((bytes[offset + 6]! & 0x03) << 8) | bytes[offset + 7]!;
}

/** An IKE responder SPI (RFC 7296 §3.1) in `unit`; never all-zero (zero means "not yet chosen"). */
export function allocateIkeSpi(unit: UnitId, rng: RandomSource, inUse?: (spi: Uint8Array) => boolean): Uint8Array {
  checkUnit(unit);
  for (let i = 0; i < MAX_RANDOM_TRIES; i++) {
    const spi = rng.bytes(IKE_SPI_LEN);
    spi[6] = (spi[6]! & 0xfc) | (unit >>> 8);
    spi[7] = unit & 0xff;
    // Require the random 54 bits to be non-zero: unit 0 would otherwise give 0.
    let random = spi[6]! & 0xfc;
    for (let b = 0; b < 6; b++) random |= spi[b]!;
    if (random === 0) continue;
    if (inUse?.(spi)) continue;
    return spi;
  }
  throw new ShoalError('ID_EXHAUSTED', `no free IKE SPI in unit ${unit} after ${MAX_RANDOM_TRIES} tries`);
}

// ------------------------------------- 16-bit ids (L2TP tunnel, PPTP call ID)

/** 16 bits minus the 10 unit bits leave 6 random bits: 64 ids per unit. */
export const ID16_PER_UNIT = 1 << (16 - 10);

/** L2TP Tunnel ID (RFC 2661 §3.1) or PPTP Call ID (RFC 2637 §4.1): the low 10 bits. */
export function unitOfId16(id: number): UnitId {
  return id & UNIT_MASK;
}

/**
 * A non-zero 16-bit id in `unit`. Only 64 candidates exist (63 for unit 0,
 * where 0 is excluded), so instead of random retries we start at a random
 * candidate and scan all of them: exhaustion is detected exactly.
 */
export function allocateId16(unit: UnitId, rng: RandomSource, inUse?: (id: number) => boolean): number {
  checkUnit(unit);
  const start = rng.u32() % ID16_PER_UNIT;
  for (let i = 0; i < ID16_PER_UNIT; i++) {
    const id = (((start + i) % ID16_PER_UNIT) << 10) | unit;
    if (id === 0) continue;
    if (inUse?.(id)) continue;
    return id;
  }
  throw new ShoalError('ID_EXHAUSTED', `all 16-bit ids of unit ${unit} are in use`);
}

// ------------------------------------------------------ virtual-address pools

/** Smallest prefix we accept: a /8 already means 16M addresses to bucket. */
const MIN_POOL_PREFIX = 8;

interface PoolRange {
  first: number;
  count: number;
}

function poolRange(base: number, prefixLen: number): PoolRange {
  if (!Number.isInteger(prefixLen) || prefixLen < MIN_POOL_PREFIX || prefixLen > 32) {
    throw new ShoalError('BAD_POOL', `pool prefix length must be ${MIN_POOL_PREFIX}..32: ${prefixLen}`);
  }
  const size = 2 ** (32 - prefixLen);
  const network = (base & (0xffffffff << (32 - prefixLen))) >>> 0;
  // /31 and /32 have no network/broadcast address (RFC 3021); others skip both.
  if (prefixLen >= 31) return { first: network, count: size };
  return { first: network + 1, count: size - 2 };
}

/**
 * The host addresses of base/prefixLen whose destination-only unit is `unit`,
 * ascending. O(pool size): for configuration and tests; AddressPool is the
 * per-session path.
 */
export function poolAddressesForUnit(base: number, prefixLen: number, unit: UnitId): number[] {
  checkUnit(unit);
  const { first, count } = poolRange(base, prefixLen);
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const addr = (first + i) >>> 0;
    if (unitOfAddress(addr) === unit) out.push(addr);
  }
  return out;
}

/** Per-unit free rings over one array: unit u owns slots[start[u] .. start[u+1]). */
interface Buckets {
  slots: Uint32Array;
  start: Uint32Array;
  head: Uint32Array;
  free: Uint32Array;
}

/**
 * Hands out virtual addresses of one unit. On first use it buckets every host
 * address by unit in one pass (counting sort into one Uint32Array); each unit
 * then owns a slice used as a FIFO ring of free addresses, so allocate and
 * release are O(1) and a just-released address is reused last (stale routes
 * and ARP entries for it have the longest time to expire).
 */
export class AddressPool {
  private readonly first: number;
  private readonly count: number;
  private lazy: Buckets | null = null;
  private readonly used = new Set<number>();

  constructor(base: number, prefixLen: number) {
    const range = poolRange(base, prefixLen);
    this.first = range.first;
    this.count = range.count;
  }

  /** A free address whose unitOfAddress is `unit`, or null if the unit has none left. */
  allocate(unit: UnitId): number | null {
    checkUnit(unit);
    const b = this.buckets();
    const free = b.free[unit]!;
    if (free === 0) return null;
    const base = b.start[unit]!;
    const size = b.start[unit + 1]! - base;
    const h = b.head[unit]!;
    const addr = b.slots[base + h]!;
    b.head[unit] = (h + 1) % size;
    b.free[unit] = free - 1;
    this.used.add(addr);
    return addr;
  }

  /** Returns addr to its unit's free ring; false if it was not allocated from this pool. */
  release(addr: number): boolean {
    addr = addr >>> 0;
    if (!this.used.delete(addr)) return false;
    const b = this.buckets();
    const unit = unitOfAddress(addr);
    const base = b.start[unit]!;
    const size = b.start[unit + 1]! - base;
    const free = b.free[unit]!;
    b.slots[base + ((b.head[unit]! + free) % size)] = addr;
    b.free[unit] = free + 1;
    return true;
  }

  /**
   * Marks a specific free address as allocated: a session taken over from
   * another member keeps its virtual address. False if it is not in this pool
   * or already in use. O(addresses of its unit).
   */
  claim(addr: number): boolean {
    addr = addr >>> 0;
    if (this.used.has(addr) || addr < this.first || addr >= this.first + this.count) return false;
    const b = this.buckets();
    const unit = unitOfAddress(addr);
    const base = b.start[unit]!;
    const size = b.start[unit + 1]! - base;
    const head = b.head[unit]!;
    const free = b.free[unit]!;
    for (let i = 0; i < free; i++) {
      const at = base + ((head + i) % size);
      if (b.slots[at] !== addr) continue;
      // Swap it to the head of the free run, then take it as allocate() would.
      b.slots[at] = b.slots[base + head]!;
      b.slots[base + head] = addr;
      b.head[unit] = (head + 1) % size;
      b.free[unit] = free - 1;
      this.used.add(addr);
      return true;
    }
    return false;
  }

  inUse(addr: number): boolean {
    return this.used.has(addr >>> 0);
  }

  /** How many addresses of `unit` are still free. */
  freeCount(unit: UnitId): number {
    checkUnit(unit);
    return this.buckets().free[unit]!;
  }

  private buckets(): Buckets {
    if (this.lazy) return this.lazy;
    const units = new Uint16Array(this.count);
    const start = new Uint32Array(UNIT_COUNT + 1);
    for (let i = 0; i < this.count; i++) {
      const u = unitOfAddress((this.first + i) >>> 0);
      units[i] = u;
      start[u + 1] = start[u + 1]! + 1;
    }
    for (let u = 0; u < UNIT_COUNT; u++) start[u + 1] = start[u + 1]! + start[u]!;
    const fill = start.slice(0, UNIT_COUNT);
    const slots = new Uint32Array(this.count);
    for (let i = 0; i < this.count; i++) {
      const u = units[i]!;
      slots[fill[u]!] = (this.first + i) >>> 0;
      fill[u] = fill[u]! + 1;
    }
    const free = new Uint32Array(UNIT_COUNT);
    for (let u = 0; u < UNIT_COUNT; u++) free[u] = start[u + 1]! - start[u]!;
    this.lazy = { slots, start, head: new Uint32Array(UNIT_COUNT), free };
    return this.lazy;
  }
}
