/**
 * IPv4 reassembly (RFC 791 §3.2 "An Example Reassembly Procedure", RFC 1122
 * §3.3.2), sans-IO: the caller passes `now` and the received datagram and
 * acts on the result.
 *
 *   accept(now, packet)
 *     | decode (checksum)          -> drop 'malformed'
 *     | whole datagram (MF=0,FO=0) -> flush BUFID ('superseded'), complete = packet
 *     | MF=1 with data not a multiple of 8, or none -> drop 'bad-fragment'
 *     | BUFID = (src, dst, protocol, id); past its deadline -> 'timeout', start over
 *     | data past 65535 octets -> drop 'too-big' (and the datagram)
 *     | new BUFID: at maxDatagrams -> evict the oldest ('datagram-limit')
 *     | too many fragments ('too-many-fragments'), ends that disagree
 *     |   ('inconsistent-length'), overlap with different bytes
 *     |   ('overlap-conflict') -> drop the datagram
 *     | nothing new -> drop 'duplicate' (the datagram stays)
 *     | store the new bytes; over maxBytes -> evict oldest first ('memory-limit')
 *     v all of [0, end) held -> complete (header of fragment 0, MF=0, FO=0)
 *   expire(now) -> datagrams past their deadline ('timeout'), with the quote
 *                  an ICMP Time Exceeded (code 1) needs if fragment 0 arrived
 *
 * Overlap policy: identical overlaps (retransmitted or differently
 * re-fragmented copies of the same bytes) are harmless and accepted; an
 * overlap whose bytes differ drops the whole datagram. RFC 791 lets the newer
 * copy win, but there is no way to know which copy is genuine, and differing
 * overlaps are the tool of teardrop-style attacks and of IDS/firewall evasion
 * (RFC 1858, RFC 3128: rewriting a transport header after it was inspected).
 * Delivering neither is the safe answer; RFC 5722 made the same call for IPv6.
 *
 * The deadline is fixed at the first fragment's arrival + timeout (no TTL
 * extension as in RFC 791's example, so a sender cannot keep buffers alive).
 * Memory is charged per datagram: data bytes held, the first fragment's
 * header and quote, and FRAGMENT_OVERHEAD per stored piece so that floods of
 * tiny fragments hit the budget too.
 */
import type { Millis } from '../../lib/clock.js';
import { decodeIpv4, encodeIpv4, ipv4HeaderLength, IPV4_MAX_DATAGRAM, IPV4_MIN_HEADER, isFragment, type Ipv4Header } from '../../wire/ipv4.js';
import { joinPieces, mergePiece, type Piece } from './pieces.js';

/** Bookkeeping bytes charged per stored piece on top of its data. */
export const FRAGMENT_OVERHEAD = 64;
export const DEFAULT_REASSEMBLY_TIMEOUT: Millis = 30_000;
export const DEFAULT_REASSEMBLY_MAX_BYTES = 4 * 1024 * 1024;
export const DEFAULT_MAX_DATAGRAMS = 1024;
export const DEFAULT_MAX_FRAGMENTS_PER_DATAGRAM = 256;
const QUOTED_DATA = 8;
/** Largest data length: a datagram's 65535 octets less a minimal header. */
const MAX_DATA = IPV4_MAX_DATAGRAM - IPV4_MIN_HEADER;

export interface ReassemblerLimits {
  /** Per datagram, from its first fragment (default 30 s). */
  timeout?: Millis;
  /** Bytes charged across all datagrams in progress (default 4 MiB); the oldest go first. */
  maxBytes?: number;
  /** Datagrams in progress (default 1024); the oldest goes first. */
  maxDatagrams?: number;
  /** Fragments (duplicates included) one datagram may receive. */
  maxFragmentsPerDatagram?: number;
}

const DROP_REASONS = [
  'malformed',
  'bad-fragment',
  'too-big',
  'inconsistent-length',
  'too-many-fragments',
  'overlap-conflict',
  'duplicate',
  'superseded',
  'timeout',
  'memory-limit',
  'datagram-limit',
] as const;
export type ReassemblyDrop = (typeof DROP_REASONS)[number];

/**
 * One count per refused fragment ('malformed', 'bad-fragment', 'duplicate'),
 * per discarded datagram (the rest; 'too-big' is either), per reassembly done.
 */
export type ReassemblyCounters = Record<ReassemblyDrop | 'reassembled', number>;

export type AcceptResult = { complete: Uint8Array } | { pending: true } | { drop: ReassemblyDrop };

export interface ExpiredDatagram {
  src: number;
  dst: number;
  protocol: number;
  id: number;
  /** Fragment 0's header + 8 data octets, for ICMP Time Exceeded code 1; undefined if it never arrived (RFC 1122 §3.3.2: send none). */
  quote: Uint8Array | undefined;
}

interface InProgress {
  readonly src: number;
  readonly dst: number;
  readonly protocol: number;
  readonly id: number;
  readonly deadline: Millis;
  readonly pieces: Piece[];
  received: number;
  fragments: number;
  /** Data length, known once the MF=0 fragment arrived. */
  end: number | undefined;
  maxEnd: number;
  header: Ipv4Header | undefined;
  quote: Uint8Array | undefined;
  held: number;
}

function keyOf(h: Ipv4Header): string {
  return `${h.src}/${h.dst}/${h.protocol}/${h.id}`;
}

function limit(v: number | undefined, fallback: number, what: string): number {
  const n = v ?? fallback;
  if (!(n > 0) || !Number.isFinite(n)) throw new RangeError(`${what}: ${n} must be a positive number`);
  return n;
}

export class Reassembler {
  private readonly table = new Map<string, InProgress>();
  private held = 0;
  private readonly timeout: Millis;
  private readonly maxBytes: number;
  private readonly maxDatagrams: number;
  private readonly maxFragments: number;
  readonly counters = Object.fromEntries(['reassembled', ...DROP_REASONS].map((r) => [r, 0])) as ReassemblyCounters;

  constructor(limits: ReassemblerLimits = {}) {
    this.timeout = limit(limits.timeout, DEFAULT_REASSEMBLY_TIMEOUT, 'timeout');
    this.maxBytes = limit(limits.maxBytes, DEFAULT_REASSEMBLY_MAX_BYTES, 'maxBytes');
    this.maxDatagrams = limit(limits.maxDatagrams, DEFAULT_MAX_DATAGRAMS, 'maxDatagrams');
    this.maxFragments = limit(limits.maxFragmentsPerDatagram, DEFAULT_MAX_FRAGMENTS_PER_DATAGRAM, 'maxFragmentsPerDatagram');
  }

  /** Bytes charged to the memory budget right now. */
  get bytesHeld(): number {
    return this.held;
  }

  /** Datagrams partly reassembled right now. */
  get inProgress(): number {
    return this.table.size;
  }

  /**
   * Takes one received IPv4 datagram (fragment or whole). `complete` is the
   * reassembled datagram (new bytes), or the input itself (a view, link
   * padding dropped) when it was not a fragment. Never throws on bad input.
   */
  accept(now: Millis, packet: Uint8Array): AcceptResult {
    const decoded = decodeIpv4(packet);
    if (!decoded.ok) return this.refuse('malformed');
    const { header, payload } = decoded.value;
    const key = keyOf(header);
    let entry = this.table.get(key);
    if (!isFragment(header)) {
      if (entry) this.discard(key, entry, 'superseded');
      return { complete: packet.subarray(0, ipv4HeaderLength(header) + payload.length) };
    }
    if (header.moreFragments && (payload.length === 0 || payload.length % 8 !== 0)) return this.refuse('bad-fragment');
    if (entry && entry.deadline <= now) {
      this.discard(key, entry, 'timeout');
      entry = undefined;
    }
    if (header.fragmentOffset * 8 + payload.length > MAX_DATA) {
      if (!entry) return this.refuse('too-big');
      this.discard(key, entry, 'too-big');
      return { drop: 'too-big' };
    }
    entry ??= this.create(key, header, now);
    const verdict = this.add(entry, header, payload, packet);
    if (verdict === 'duplicate') return this.refuse('duplicate');
    if (verdict !== 'stored') {
      this.discard(key, entry, verdict);
      return { drop: verdict };
    }
    while (this.held > this.maxBytes) {
      if (this.evictOldest('memory-limit') === entry) return { drop: 'memory-limit' };
    }
    return this.complete(key, entry);
  }

  /** Discards every datagram whose deadline is at or before `now`; run it from a timer (e.g. every second). */
  expire(now: Millis): ExpiredDatagram[] {
    const expired: ExpiredDatagram[] = [];
    for (const [key, e] of this.table) {
      if (e.deadline > now) continue;
      this.discard(key, e, 'timeout');
      expired.push({ src: e.src, dst: e.dst, protocol: e.protocol, id: e.id, quote: e.quote });
    }
    return expired;
  }

  private refuse(reason: ReassemblyDrop): AcceptResult {
    this.counters[reason]++;
    return { drop: reason };
  }

  private discard(key: string, e: InProgress, reason: ReassemblyDrop): void {
    this.table.delete(key);
    this.held -= e.held;
    this.counters[reason]++;
  }

  /** Discards the datagram that started first (Map iteration is insertion order). */
  private evictOldest(reason: ReassemblyDrop): InProgress | undefined {
    const first = this.table.entries().next();
    if (first.done === true) return undefined;
    const [key, oldest] = first.value;
    this.discard(key, oldest, reason);
    return oldest;
  }

  private create(key: string, h: Ipv4Header, now: Millis): InProgress {
    if (this.table.size >= this.maxDatagrams) this.evictOldest('datagram-limit');
    const e: InProgress = {
      src: h.src,
      dst: h.dst,
      protocol: h.protocol,
      id: h.id,
      deadline: now + this.timeout,
      pieces: [],
      received: 0,
      fragments: 0,
      end: undefined,
      maxEnd: 0,
      header: undefined,
      quote: undefined,
      held: 0,
    };
    this.table.set(key, e);
    return e;
  }

  /** Checks one fragment against what is held and stores its new bytes. */
  private add(e: InProgress, h: Ipv4Header, data: Uint8Array, packet: Uint8Array): 'stored' | ReassemblyDrop {
    const start = h.fragmentOffset * 8;
    const end = start + data.length;
    if (++e.fragments > this.maxFragments) return 'too-many-fragments';
    if (h.moreFragments) {
      if (e.end !== undefined && end > e.end) return 'inconsistent-length';
    } else if ((e.end !== undefined && e.end !== end) || end < e.maxEnd) {
      return 'inconsistent-length';
    }
    const merged = mergePiece(e.pieces, start, data);
    if (merged.conflict) return 'overlap-conflict';
    const learnsEnd = !h.moreFragments && e.end === undefined;
    if (merged.newBytes === 0 && !learnsEnd) return 'duplicate';
    let charge = merged.newBytes + FRAGMENT_OVERHEAD * merged.newPieces;
    if (start === 0 && e.header === undefined) {
      e.header = { ...h, options: h.options.slice() };
      e.quote = packet.slice(0, ipv4HeaderLength(h) + Math.min(QUOTED_DATA, data.length));
      charge += e.header.options.length + IPV4_MIN_HEADER + e.quote.length;
    }
    if (learnsEnd) e.end = end;
    e.maxEnd = Math.max(e.maxEnd, end);
    e.received += merged.newBytes;
    e.held += charge;
    this.held += charge;
    return 'stored';
  }

  private complete(key: string, e: InProgress): AcceptResult {
    if (e.end === undefined || e.received !== e.end || e.header === undefined) return { pending: true };
    if (ipv4HeaderLength(e.header) + e.end > IPV4_MAX_DATAGRAM) {
      this.discard(key, e, 'too-big');
      return { drop: 'too-big' };
    }
    const header: Ipv4Header = { ...e.header, moreFragments: false, fragmentOffset: 0 };
    const complete = encodeIpv4({ header, payload: joinPieces(e.pieces, e.end) });
    this.table.delete(key);
    this.held -= e.held;
    this.counters.reassembled++;
    return { complete };
  }
}
