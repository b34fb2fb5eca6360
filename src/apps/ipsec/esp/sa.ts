/**
 * ESP security associations in tunnel mode, sans-IO: an outbound SA turns an
 * inner IP packet into ESP bytes, an inbound SA turns ESP bytes back into
 * the inner packet or a typed drop. Neither throws on packet content; the
 * constructors throw RangeError on a bad configuration.
 *
 * Inbound order (RFC 4303 §3.4): lifetime, length sanity, replay check
 * (cheap, before any crypto), ICV + decrypt, window update (only now that
 * the number is authentic), padding check, counters. Finding the SA by SPI
 * ('unknown-spi') is the caller's job.
 *
 * Lifetimes (RFC 4301 §4.4.2.1): bytes (of inner packets), packets and
 * seconds since creation, each with a soft limit (time to rekey) and a hard
 * one (the SA is dead). The packet that reaches a hard limit still passes;
 * the ones after it are refused with 'lifetime-expired'.
 */
import type { Millis } from '../../../lib/clock.js';
import type { RandomSource } from '../../../lib/random.js';
import {
  ESP_HEADER_LENGTH,
  ESP_NEXT_HEADER,
  ESP_TRAILER_LENGTH,
  espPadLength,
  espPayloadLength,
  readU32,
  writeEspHeader,
  writeEspTrailer,
} from '../../../wire/esp.js';
import { IV_SEQUENCE_LIMIT } from './aead-iv.js';
import { createEspTransform, type EspTransform, type EspTransformSpec } from './ciphers.js';
import { REPLAY_WINDOW_DEFAULT, ReplayWindow, type ReplayWindowState } from './replay-window.js';

export interface EspLifetimeLimits {
  softBytes?: number;
  hardBytes?: number;
  softPackets?: number;
  hardPackets?: number;
  softSeconds?: number;
  hardSeconds?: number;
}

export type LifetimeState = 'live' | 'soft-expired' | 'hard-expired';

export interface EspSaConfig {
  spi: number;
  transform: EspTransformSpec;
  /** Extended (64-bit) sequence numbers, as negotiated (RFC 4303 §2.2.1). */
  esn: boolean;
  lifetime?: EspLifetimeLimits;
}

export interface EspOutboundConfig extends EspSaConfig {
  /** IVs for CBC transforms (AEAD IVs are the tag and the sequence number). */
  random: RandomSource;
  /** This member's IV tag (aead-iv.ts; default 0, a box of its own). */
  ivTag?: number;
  /** The last sequence number sent, when the SA resumes on another member (default 0: none). */
  lastSequence?: number;
}

export interface EspInboundConfig extends EspSaConfig {
  /** Replay window in packets (default 4096, at least 1024). */
  replayWindow?: number;
  /** The window as exported by the member the SA comes from. */
  replayState?: ReplayWindowState;
}

export type EspEncapsulateFailure = 'lifetime-expired' | 'sequence-exhausted';

export type EspDropReason = 'truncated' | 'bad-icv' | 'replayed' | 'outside-window' | 'bad-padding' | 'lifetime-expired';

export const ESP_DROP_REASONS: readonly EspDropReason[] = ['truncated', 'bad-icv', 'replayed', 'outside-window', 'bad-padding', 'lifetime-expired'];

export type EspDecapsulated =
  | {
      ok: true;
      /** The inner packet (a view into a fresh buffer). */
      packet: Uint8Array;
      /** 4 for IPv4, 41 for IPv6, 59 for a dummy packet the caller discards (§2.6). */
      nextHeader: number;
      /** The full (ESN-inferred) sequence number. */
      sequence: number;
    }
  | { ok: false; reason: EspDropReason };

const DROPS: Record<EspDropReason, EspDecapsulated> = Object.freeze({
  truncated: Object.freeze({ ok: false, reason: 'truncated' }),
  'bad-icv': Object.freeze({ ok: false, reason: 'bad-icv' }),
  replayed: Object.freeze({ ok: false, reason: 'replayed' }),
  'outside-window': Object.freeze({ ok: false, reason: 'outside-window' }),
  'bad-padding': Object.freeze({ ok: false, reason: 'bad-padding' }),
  'lifetime-expired': Object.freeze({ ok: false, reason: 'lifetime-expired' }),
});

const SUBSPACE = 0x100000000;
const MAX_SEQ_32 = 0xffffffff;

function checkLimits(l: EspLifetimeLimits): void {
  for (const [k, v] of Object.entries(l)) {
    if (v !== undefined && (typeof v !== 'number' || !(v > 0))) throw new RangeError(`ESP lifetime ${k}: ${String(v)} is not a positive number`);
  }
}

/** Counters, limits and the lifetime state shared by both directions. */
abstract class EspSa {
  readonly spi: number;
  readonly esn: boolean;
  readonly transform: EspTransform;
  readonly createdAt: Millis;
  private packetCount = 0;
  private byteCount = 0;
  private readonly limits: EspLifetimeLimits;
  private reported: LifetimeState = 'live';

  protected constructor(now: Millis, config: EspSaConfig, random: RandomSource, ivTag = 0) {
    if (!Number.isInteger(config.spi) || config.spi < 1 || config.spi > 0xffffffff) throw new RangeError(`ESP SPI ${config.spi}: 1..2^32-1`);
    this.limits = { ...config.lifetime };
    checkLimits(this.limits);
    this.spi = config.spi;
    this.esn = config.esn;
    this.transform = createEspTransform(config.transform, random, 'auto', ivTag);
    this.createdAt = now;
  }

  /** Packets this SA has protected (outbound) or accepted (inbound). */
  get packets(): number {
    return this.packetCount;
  }

  /** Bytes of inner packets, as the byte lifetime counts them. */
  get bytes(): number {
    return this.byteCount;
  }

  protected count(innerLength: number): void {
    this.packetCount++;
    this.byteCount += innerLength;
  }

  /** Where the counters and the clock put the SA now. */
  lifetimeState(now: Millis): LifetimeState {
    const l = this.limits;
    const seconds = (now - this.createdAt) / 1000;
    if (reached(this.bytes, l.hardBytes) || reached(this.packets, l.hardPackets) || reached(seconds, l.hardSeconds)) return 'hard-expired';
    if (reached(this.bytes, l.softBytes) || reached(this.packets, l.softPackets) || reached(seconds, l.softSeconds)) return 'soft-expired';
    return 'live';
  }

  /**
   * The state if it moved since the last call (each transition once, for
   * the rekeying code), else null. A jump from live to hard reports hard.
   */
  pollLifetime(now: Millis): LifetimeState | null {
    const state = this.lifetimeState(now);
    if (state === this.reported || (state === 'soft-expired' && this.reported === 'hard-expired')) return null;
    this.reported = state;
    return state;
  }
}

function reached(value: number, limit: number | undefined): boolean {
  return limit !== undefined && value >= limit;
}

export class OutboundEspSa extends EspSa {
  /** The last sequence number sent (0: none yet). */
  private sequence = 0;

  constructor(now: Millis, config: EspOutboundConfig) {
    super(now, config, config.random, config.ivTag ?? 0);
    const last = config.lastSequence ?? 0;
    if (!Number.isSafeInteger(last) || last < 0 || last > (config.esn ? IV_SEQUENCE_LIMIT : MAX_SEQ_32)) throw new RangeError(`ESP last sequence ${last}`);
    this.sequence = last;
  }

  get lastSequence(): number {
    return this.sequence;
  }

  /**
   * ESP bytes for one inner packet (tunnel mode: next header 4 for IPv4).
   * Refuses after a hard lifetime, and when the sequence number would cycle
   * (2^32-1 without ESN, §3.3.3: the SA must be rekeyed instead; with ESN at
   * 2^48-1, where the AEAD IV would stop being unique, aead-iv.ts).
   */
  encapsulate(now: Millis, inner: Uint8Array, nextHeader: number = ESP_NEXT_HEADER.IPV4): Uint8Array | EspEncapsulateFailure {
    if (this.lifetimeState(now) === 'hard-expired') return 'lifetime-expired';
    const limit = this.esn ? IV_SEQUENCE_LIMIT : MAX_SEQ_32;
    if (this.sequence >= limit) return 'sequence-exhausted';
    const seq = ++this.sequence;
    const seqHigh = Math.floor(seq / SUBSPACE);
    const seqLow = seq >>> 0;
    const t = this.transform;
    const padLength = espPadLength(inner.length, t.alignment);
    const textAt = ESP_HEADER_LENGTH + t.ivLength;
    const length = textAt + inner.length + padLength + ESP_TRAILER_LENGTH + t.icvLength;
    // node's pool is cheaper than a zeroed allocation; a plain Uint8Array view keeps slice() a copy for callers
    const pooled = Buffer.allocUnsafe(length);
    const out = new Uint8Array(pooled.buffer, pooled.byteOffset, length);
    writeEspHeader(out, 0, this.spi, seqLow);
    out.set(inner, textAt);
    writeEspTrailer(out, textAt + inner.length, padLength, nextHeader);
    t.seal(out, seqHigh, seqLow, this.esn);
    this.count(inner.length);
    return out;
  }
}

export class InboundEspSa extends EspSa {
  readonly window: ReplayWindow;
  private readonly dropCounts: Record<EspDropReason, number> = { truncated: 0, 'bad-icv': 0, replayed: 0, 'outside-window': 0, 'bad-padding': 0, 'lifetime-expired': 0 };
  private readonly minLength: number;

  constructor(now: Millis, config: EspInboundConfig) {
    // inbound never generates IVs
    super(now, config, NO_RANDOM);
    this.window = new ReplayWindow(config.esn, config.replayWindow ?? REPLAY_WINDOW_DEFAULT, config.replayState);
    const t = this.transform;
    this.minLength = ESP_HEADER_LENGTH + t.ivLength + Math.max(ESP_TRAILER_LENGTH, t.alignment) + t.icvLength;
  }

  /** Drops by reason, for the SA's statistics. */
  get drops(): Readonly<Record<EspDropReason, number>> {
    return this.dropCounts;
  }

  /** The inner packet of one ESP packet (from its SPI on), or why it was dropped. */
  decapsulate(now: Millis, esp: Uint8Array): EspDecapsulated {
    if (this.lifetimeState(now) === 'hard-expired') return this.drop('lifetime-expired');
    const t = this.transform;
    const textLength = esp.length - ESP_HEADER_LENGTH - t.ivLength - t.icvLength;
    if (esp.length < this.minLength || textLength % t.alignment !== 0) return this.drop('truncated');
    const seq = this.window.check(readU32(esp, 4));
    if (typeof seq === 'string') return this.drop(seq);
    const plain = t.open(esp, Math.floor(seq / SUBSPACE), this.esn);
    if (plain === null) return this.drop('bad-icv');
    this.window.update(seq);
    const payloadLength = espPayloadLength(plain, 0, plain.length);
    if (payloadLength < 0) return this.drop('bad-padding');
    this.count(payloadLength);
    return { ok: true, packet: new Uint8Array(plain.buffer, plain.byteOffset, payloadLength), nextHeader: plain[plain.length - 1]!, sequence: seq };
  }

  private drop(reason: EspDropReason): EspDecapsulated {
    this.dropCounts[reason]++;
    return DROPS[reason];
  }
}

const NO_RANDOM: RandomSource = {
  u32: () => {
    throw new RangeError('an inbound ESP SA draws no randomness');
  },
  float: () => {
    throw new RangeError('an inbound ESP SA draws no randomness');
  },
  bytes: () => {
    throw new RangeError('an inbound ESP SA draws no randomness');
  },
};
