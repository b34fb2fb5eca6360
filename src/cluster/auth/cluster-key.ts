/**
 * The cluster key: a shared secret the master hands each member at join time
 * (wrapped to its certificate key, see key-wrap.ts) and replaces when a member
 * is removed, so a removed member can no longer MAC control messages.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { RandomSource } from '../../lib/random.js';
import { MAC_LENGTH } from '../messages.js';

export const CLUSTER_KEY_LENGTH = 32;

/** Keys older than the current one that a KeyRing keeps. */
export const PREVIOUS_KEYS_KEPT = 4;

export interface ClusterKey {
  /** Increases with every key the master issues; sent in every MACed header. */
  epoch: number;
  key: Uint8Array;
}

/** Drawn from the injected source: production passes a CSPRNG, the simulator a seeded one. */
export function newClusterKey(rng: RandomSource, epoch: number): ClusterKey {
  return { epoch, key: rng.bytes(CLUSTER_KEY_LENGTH) };
}

/** HMAC-SHA256 truncated to MAC_LENGTH (16) bytes: 128 bits is ample against forgery and saves header space. */
export function macOf(key: Uint8Array, data: Uint8Array): Uint8Array {
  const full = createHmac('sha256', key).update(data).digest();
  return Uint8Array.from(full.subarray(0, MAC_LENGTH));
}

/** Constant-time comparison, so the time taken leaks nothing about how much of a forged MAC was right. */
export function macEquals(a: Uint8Array, b: Uint8Array): boolean {
  // Only the length can leak, and MAC_LENGTH is public.
  if (a.length !== b.length) return false;
  return timingSafeEqual(a, b);
}

/**
 * The current cluster key and the last few before it, by epoch. Old keys are
 * kept because a removed member keeps sending keepalives under the key it
 * had: the master must still authenticate them to tell the member to exit.
 * Old keys must never be used to MAC outgoing messages; use `current`.
 */
export class KeyRing {
  private cur: ClusterKey | undefined;
  /** Newest first. */
  private previous: ClusterKey[] = [];

  get current(): ClusterKey | undefined {
    return this.cur;
  }

  /**
   * Makes `key` current and keeps the previous current key. Epochs need not
   * increase: a member that joins another cluster (a new master) may be handed
   * a lower epoch. A kept key with the same epoch is dropped so get() is never
   * ambiguous. The key bytes are copied, so the caller may reuse its buffer.
   */
  set(key: ClusterKey): void {
    const copy: ClusterKey = { epoch: key.epoch, key: Uint8Array.from(key.key) };
    const kept = this.cur === undefined ? this.previous : [this.cur, ...this.previous];
    this.previous = kept.filter((k) => k.epoch !== copy.epoch).slice(0, PREVIOUS_KEYS_KEPT);
    this.cur = copy;
  }

  /** The current or a kept key with this epoch. */
  get(epoch: number): ClusterKey | undefined {
    if (this.cur?.epoch === epoch) return this.cur;
    return this.previous.find((k) => k.epoch === epoch);
  }

  isCurrent(epoch: number): boolean {
    return this.cur !== undefined && this.cur.epoch === epoch;
  }

  /** Forget every key: on leaving the cluster. */
  clear(): void {
    this.cur = undefined;
    this.previous = [];
  }
}
