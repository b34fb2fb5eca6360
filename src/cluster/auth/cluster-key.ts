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

/** Retired epochs a KeyRing remembers, so a late or replayed update can never bring one back. */
export const RETIRED_EPOCHS_KEPT = 16;

/**
 * The current cluster key and the last few before it, by epoch. Previous keys
 * are kept across a change of master: members rejoin the new master one by
 * one, and until each has, its replication and keepalives still carry the old
 * master's key, which no removed member ever held (the old master rotated it
 * away when it removed one).
 *
 * A rotation (the master removed a member, KEY_UPDATE) is different: every
 * key before it may be in the removed member's hands, so rotate() forgets them
 * all at once and remembers their epochs as retired. No overlap is kept even
 * for members still present: a shared key cannot tell them from the removed
 * one, and what they had in flight is resent anyway (orders and state syncs
 * until acknowledged; keepalives tolerate n-1 losses; the master resends the
 * signed update until the member uses the new key).
 * Old keys must never be used to MAC outgoing messages; use `current`.
 */
export class KeyRing {
  private cur: ClusterKey | undefined;
  /** Newest first. */
  private previous: ClusterKey[] = [];
  /** Newest last. */
  private retired: number[] = [];

  get current(): ClusterKey | undefined {
    return this.cur;
  }

  /**
   * Makes `key` current and keeps the previous current key. Epochs need not
   * increase: a member that joins another cluster (a new master) may be handed
   * a lower epoch. A kept key with the same epoch is dropped so get() is never
   * ambiguous. The key bytes are copied, so the caller may reuse its buffer.
   * Returns false (and changes nothing) for a retired epoch.
   */
  set(key: ClusterKey): boolean {
    if (this.isRetired(key.epoch)) return false;
    const copy: ClusterKey = { epoch: key.epoch, key: Uint8Array.from(key.key) };
    const kept = this.cur === undefined ? this.previous : [this.cur, ...this.previous];
    this.previous = kept.filter((k) => k.epoch !== copy.epoch).slice(0, PREVIOUS_KEYS_KEPT);
    this.cur = copy;
    return true;
  }

  /**
   * Makes `key` current and retires every other key held: after a member is
   * removed, nothing MACed or encrypted under a key it knew is accepted again.
   * Returns false (and changes nothing) for a retired epoch. Idempotent for
   * the current key (a resent update).
   */
  rotate(key: ClusterKey): boolean {
    if (this.isRetired(key.epoch)) return false;
    const old = [...(this.cur === undefined ? [] : [this.cur]), ...this.previous].map((k) => k.epoch).filter((e) => e !== key.epoch);
    this.retired = [...this.retired.filter((e) => !old.includes(e)), ...old].slice(-RETIRED_EPOCHS_KEPT);
    this.previous = [];
    this.cur = { epoch: key.epoch, key: Uint8Array.from(key.key) };
    return true;
  }

  isRetired(epoch: number): boolean {
    return this.retired.includes(epoch);
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
