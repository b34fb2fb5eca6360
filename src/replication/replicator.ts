/**
 * Replication of applications' essential state to every member, sans-IO.
 *
 *   owner: publish(record) ─► batched per (app, unit) ─► StateSync to all ─► acked by each peer
 *                                                     └► unacked: resent to that peer alone, backing off, bounded
 *   every member: StateSync ─► newest version per key kept ─► StateAck
 *   a member joins ─► every member sends it the records of the units it owns, then an end marker
 *   a joiner is `ready` (may serve units) once every member it found sent its end marker
 *   a record too large for one message ─► refused (counted, reported) and sent as a tombstone
 *
 * Every member therefore holds the latest essential state of every session
 * it does not own; a member that gains a unit (failure or rebalancing)
 * imports the unit's records from its store. An owner keeps only the
 * versions of its own records, not copies: its live sessions are the state,
 * and a bulk sync exports them afresh (`exportOwned`). The transport (MACed,
 * and encrypted under the cluster key, by the membership core) is the caller's.
 */
import type { MemberId, UnitId } from '../cluster/types.js';
import { decodeRecords, encodeRecords, recordSize, type StateRecord } from './records.js';

/** Application number 0 is the replicator's own: an empty StateSync from a peer ends its bulk sync. */
export const BULK_END_APP = 0;

export interface ReplicatorOptions {
  /** First resend of an unacked message to a peer; doubles each time. */
  resendMs: number;
  maxResendMs: number;
  /** An unacked message is given up after this long (the peer is gone or cut off; membership will say). */
  giveUpMs: number;
  /** At most this many messages in flight; beyond, the oldest are given up. */
  maxInFlight: number;
  /** Largest StateSync payload (the frame limit minus headers and encryption). */
  maxPayload: number;
  /** A joiner declares itself ready after this long even if some member never finished its bulk sync. */
  bulkTimeoutMs: number;
  /** Tombstones are forgotten after this long. */
  tombstoneMs: number;
}

export const DEFAULT_REPLICATOR_OPTIONS: ReplicatorOptions = {
  resendMs: 60,
  maxResendMs: 1000,
  giveUpMs: 10_000,
  maxInFlight: 8192,
  maxPayload: 56_000,
  bulkTimeoutMs: 5000,
  tombstoneMs: 60_000,
};

export type ReplicatorOutput =
  | { kind: 'sync'; to: MemberId | 'all'; app: number; unit: UnitId; syncSeq: number; payload: Uint8Array }
  | { kind: 'ack'; to: MemberId; app: number; unit: UnitId; syncSeq: number }
  | { kind: 'ready'; waitedMs: number; timedOut: boolean }
  /** A record that cannot fit one message was not sent (its key went out as a tombstone): the caller logs it. */
  | { kind: 'refused'; app: number; unit: UnitId; key: string; bytes: number };

export interface StoredRecord extends StateRecord {
  app: number;
  unit: UnitId;
  /** When this member learned this version (local monotonic ms): takeover sizes counter jumps from it. */
  receivedAt: number;
}

/** A live session of an owned unit, as the application exports it for a bulk sync. */
export interface OwnedRecord {
  app: number;
  key: string;
  body: Uint8Array;
}

interface InFlight {
  app: number;
  unit: UnitId;
  payload: Uint8Array;
  /** The published versions it carries (not a bulk sync's): acknowledged by all once `waiting` empties. */
  versions: readonly { key: string; version: number }[] | null;
  waiting: Set<MemberId>;
  firstSentAt: number;
  nextResendAt: number;
  backoff: number;
}

const slot = (app: number, unit: UnitId): number => app * 65536 + unit;
/** The record count in front of a StateSync payload's records. */
const BATCH_HEAD = 2;

export class Replicator {
  readonly counters = new Map<string, number>();
  private readonly peers = new Set<MemberId>();
  private readonly store = new Map<number, Map<string, StoredRecord>>();
  /** Versions of the records this member published for its own sessions, by slot and key. */
  private readonly ownVersions = new Map<number, Map<string, number>>();
  private ownTombstones: { slot: number; key: string; version: number; at: number }[] = [];
  /** Per slot and key, the highest version of an own record every peer has acknowledged. */
  private readonly ackedVersions = new Map<number, Map<string, number>>();
  private readonly pending = new Map<number, Map<string, StateRecord>>();
  private readonly inFlight = new Map<number, InFlight>();
  private nextSeq = 1;
  private isReady = false;
  private bulkWaiting: Set<MemberId> | null = null;
  private bulkStartedAt = 0;
  private nextPurgeAt = 0;

  constructor(
    readonly self: MemberId,
    private readonly servedUnits: () => readonly UnitId[],
    /** The live sessions of an owned unit (what a joiner's bulk sync carries). */
    private readonly exportOwned: (unit: UnitId) => readonly OwnedRecord[],
    private readonly opts: ReplicatorOptions = DEFAULT_REPLICATOR_OPTIONS,
  ) {}

  private count(what: string, n = 1): void {
    this.counters.set(what, (this.counters.get(what) ?? 0) + n);
  }

  /** Whether this member has every peer's records (or gave up waiting): only then may it serve units. */
  get ready(): boolean {
    return this.isReady;
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /** Records held for one application's unit (tombstones excluded). */
  records(app: number, unit: UnitId): StoredRecord[] {
    return [...(this.store.get(slot(app, unit))?.values() ?? [])].filter((r) => r.body !== null);
  }

  recordCount(): number {
    let n = 0;
    for (const m of this.store.values()) for (const r of m.values()) if (r.body !== null) n++;
    return n;
  }

  /**
   * A session's essential state changed (body null: it ended); sent at the
   * next flush. Its version continues from whatever this member knew of it
   * (its own last version, or the replica it took the session over from),
   * and the replica is dropped: the owner's live session is the state now.
   * Returns the version (see `acked`).
   */
  publish(now: number, app: number, unit: UnitId, key: string, body: Uint8Array | null): number {
    if (app === BULK_END_APP) throw new RangeError('application 0 is reserved');
    const s = slot(app, unit);
    let own = this.ownVersions.get(s);
    if (!own) this.ownVersions.set(s, (own = new Map()));
    const replicas = this.store.get(s);
    const version = Math.max(own.get(key) ?? 0, replicas?.get(key)?.version ?? 0) + 1;
    replicas?.delete(key);
    // A tombstone's version is kept too (for tombstoneMs): a key published again must not go back to 1.
    own.set(key, version);
    if (body === null) {
      this.ownTombstones.push({ slot: s, key, version, at: now });
      this.ackedVersions.get(s)?.delete(key);
    }
    const record: StateRecord = { key, version, body };
    let p = this.pending.get(s);
    if (!p) this.pending.set(s, (p = new Map()));
    p.set(key, record);
    this.count(body === null ? 'published.deleted' : 'published');
    return version;
  }

  /**
   * The highest version of this member's record `key` that every peer has
   * acknowledged (each then holds it or a newer one; 0: none yet). With no
   * peers a flushed record counts as acknowledged. A sequence lease is usable
   * only once the version carrying it is (apps/ipsec/replication/seq-lease.ts).
   */
  acked(app: number, unit: UnitId, key: string): number {
    return this.ackedVersions.get(slot(app, unit))?.get(key) ?? 0;
  }

  private settle(f: InFlight): void {
    if (f.versions === null) return;
    const s = slot(f.app, f.unit);
    let m = this.ackedVersions.get(s);
    if (!m) this.ackedVersions.set(s, (m = new Map()));
    for (const { key, version } of f.versions) if (version > (m.get(key) ?? 0)) m.set(key, version);
  }

  /** Sends what was published since the last flush, one message per (app, unit) batch. */
  flush(now: number): ReplicatorOutput[] {
    if (this.pending.size === 0) return [];
    const out: ReplicatorOutput[] = [];
    for (const [s, records] of this.pending) {
      const app = Math.floor(s / 65536);
      const unit = s % 65536;
      const list = [...records.values()];
      if (this.peers.size > 0) out.push(...this.sendBatches(now, 'all', app, unit, list, true));
      else this.settle({ app, unit, payload: new Uint8Array(0), versions: list, waiting: new Set(), firstSentAt: now, nextResendAt: now, backoff: 0 });
    }
    this.pending.clear();
    return out;
  }

  private sendBatches(now: number, to: MemberId | 'all', app: number, unit: UnitId, records: StateRecord[], published = false): ReplicatorOutput[] {
    const out: ReplicatorOutput[] = [];
    let batch: StateRecord[] = [];
    let size = BATCH_HEAD;
    const emit = (): void => {
      const versions = published ? batch.map((r) => ({ key: r.key, version: r.version })) : null;
      out.push(this.send(now, to, app, unit, encodeRecords(batch), versions));
      batch = [];
      size = BATCH_HEAD;
    };
    for (const record of records) {
      let r = record;
      let n = recordSize(r);
      if (BATCH_HEAD + n > this.opts.maxPayload) {
        // No message can carry it. Peers must not keep serving an older version as if it were current, so the
        // key goes out as a tombstone: a takeover then loses this session instead of reviving a stale one.
        this.count('refused.too-large');
        out.push({ kind: 'refused', app, unit, key: r.key, bytes: n });
        r = { key: r.key, version: r.version, body: null };
        n = recordSize(r);
        if (BATCH_HEAD + n > this.opts.maxPayload) continue; // a key this long: nothing can be sent for it
      }
      if (batch.length > 0 && (size + n > this.opts.maxPayload || batch.length === 0xffff)) emit();
      batch.push(r);
      size += n;
    }
    if (batch.length > 0) emit();
    return out;
  }

  private send(now: number, to: MemberId | 'all', app: number, unit: UnitId, payload: Uint8Array, versions: InFlight['versions'] = null): ReplicatorOutput {
    const syncSeq = this.nextSeq;
    this.nextSeq = this.nextSeq >= 0xffffffff ? 1 : this.nextSeq + 1;
    const waiting = to === 'all' ? new Set(this.peers) : new Set([to]);
    this.inFlight.set(syncSeq, { app, unit, payload, versions, waiting, firstSentAt: now, nextResendAt: now + this.opts.resendMs, backoff: this.opts.resendMs });
    while (this.inFlight.size > this.opts.maxInFlight) {
      const oldest = this.inFlight.keys().next().value as number;
      this.inFlight.delete(oldest);
      this.count('gave-up.overflow');
    }
    this.count('sent');
    this.count('sent.bytes', payload.length);
    return { kind: 'sync', to, app, unit, syncSeq, payload };
  }

  /** A peer's StateSync (already authenticated and decrypted): keep the newer versions, acknowledge. */
  onSync(now: number, from: MemberId, app: number, unit: UnitId, syncSeq: number, payload: Uint8Array): ReplicatorOutput[] {
    const ack: ReplicatorOutput = { kind: 'ack', to: from, app, unit, syncSeq };
    if (app === BULK_END_APP) {
      this.count('bulk-end.received');
      const out: ReplicatorOutput[] = [ack];
      if (this.bulkWaiting?.delete(from)) out.push(...this.checkReady(now, false));
      return out;
    }
    const decoded = decodeRecords(payload);
    if (!decoded.ok) {
      this.count('drop.malformed');
      return []; // unacknowledged: a resend may arrive intact
    }
    for (const r of decoded.value) this.keep(now, app, unit, r);
    this.count('received');
    return [ack];
  }

  onAck(from: MemberId, syncSeq: number): void {
    const f = this.inFlight.get(syncSeq);
    if (!f) return;
    f.waiting.delete(from);
    if (f.waiting.size === 0) {
      this.inFlight.delete(syncSeq);
      this.settle(f);
    }
  }

  private keep(now: number, app: number, unit: UnitId, r: StateRecord): void {
    const s = slot(app, unit);
    let m = this.store.get(s);
    if (!m) this.store.set(s, (m = new Map()));
    const known = m.get(r.key);
    if (known && known.version >= r.version) {
      this.count('stale');
      return;
    }
    m.set(r.key, { ...r, app, unit, receivedAt: now });
  }

  /**
   * The member list changed. New peers get a bulk sync of the units this
   * member owns; departed peers are no longer waited for. The first call
   * (this member has just joined) starts waiting for everyone else's bulk sync.
   */
  membersChanged(now: number, members: readonly MemberId[], added: readonly MemberId[], removed: readonly MemberId[]): ReplicatorOutput[] {
    const out: ReplicatorOutput[] = [];
    for (const r of removed) {
      this.peers.delete(r);
      this.bulkWaiting?.delete(r);
      for (const [seq, f] of this.inFlight) {
        f.waiting.delete(r);
        if (f.waiting.size === 0) {
          this.inFlight.delete(seq);
          this.settle(f);
        }
      }
    }
    const others = members.filter((m) => m !== this.self);
    if (this.bulkWaiting === null && !this.isReady) {
      this.bulkWaiting = new Set(others);
      this.bulkStartedAt = now;
    }
    for (const m of others) {
      if (this.peers.has(m)) continue;
      this.peers.add(m);
      if (added.includes(m) || !this.isReady) out.push(...this.bulkSync(now, m));
    }
    out.push(...this.checkReady(now, false));
    return out;
  }

  /**
   * This member left the cluster (an administrator's `cluster leave`): forget
   * every record, peer and message, and be a joiner again — the records it
   * held go stale while it is away, so on rejoining it serves nothing until
   * its peers' bulk syncs have come in, as after a start.
   */
  reset(): void {
    this.peers.clear();
    this.store.clear();
    this.ownVersions.clear();
    this.ownTombstones = [];
    this.ackedVersions.clear();
    this.pending.clear();
    this.inFlight.clear();
    this.isReady = false;
    this.bulkWaiting = null;
    this.bulkStartedAt = 0;
    this.count('reset');
  }

  /** This member no longer owns these units: forget its versions there (the new owner continues them). */
  unitsLost(units: readonly UnitId[]): void {
    const lost = new Set(units);
    for (const s of [...this.ownVersions.keys()]) if (lost.has(s % 65536)) this.ownVersions.delete(s);
    for (const s of [...this.ackedVersions.keys()]) if (lost.has(s % 65536)) this.ackedVersions.delete(s);
  }

  /** Everything this member owns, exported live, to one new peer, then the end marker. */
  private bulkSync(now: number, to: MemberId): ReplicatorOutput[] {
    const out: ReplicatorOutput[] = [];
    let records = 0;
    for (const unit of this.servedUnits()) {
      const byApp = new Map<number, StateRecord[]>();
      for (const r of this.exportOwned(unit)) {
        const version = this.ownVersions.get(slot(r.app, unit))?.get(r.key) ?? 1;
        let list = byApp.get(r.app);
        if (!list) byApp.set(r.app, (list = []));
        list.push({ key: r.key, version, body: r.body });
      }
      for (const [app, list] of byApp) {
        records += list.length;
        out.push(...this.sendBatches(now, to, app, unit, list));
      }
    }
    out.push(this.send(now, to, BULK_END_APP, 0, new Uint8Array(0)));
    this.count('bulk-sent');
    this.count('bulk-sent.records', records);
    return out;
  }

  private checkReady(now: number, timedOut: boolean): ReplicatorOutput[] {
    if (this.isReady || this.bulkWaiting === null) return [];
    if (this.bulkWaiting.size > 0 && !timedOut) return [];
    this.isReady = true;
    if (timedOut) this.count('bulk-timeout');
    return [{ kind: 'ready', waitedMs: now - this.bulkStartedAt, timedOut }];
  }

  /** Resends to peers that have not acknowledged; gives up on old messages; purges old tombstones. */
  tick(now: number): ReplicatorOutput[] {
    const out: ReplicatorOutput[] = [];
    if (!this.isReady && this.bulkWaiting !== null && now - this.bulkStartedAt >= this.opts.bulkTimeoutMs) out.push(...this.checkReady(now, true));
    for (const [seq, f] of this.inFlight) {
      if (now - f.firstSentAt >= this.opts.giveUpMs) {
        this.inFlight.delete(seq);
        this.count('gave-up', f.waiting.size);
        continue;
      }
      if (now < f.nextResendAt) continue;
      for (const peer of f.waiting) out.push({ kind: 'sync', to: peer, app: f.app, unit: f.unit, syncSeq: seq, payload: f.payload });
      this.count('resent', f.waiting.size);
      f.backoff = Math.min(f.backoff * 2, this.opts.maxResendMs);
      f.nextResendAt = now + f.backoff;
    }
    if (now >= this.nextPurgeAt) {
      this.nextPurgeAt = now + this.opts.tombstoneMs / 4;
      for (const m of this.store.values()) for (const [k, r] of m) if (r.body === null && now - r.receivedAt > this.opts.tombstoneMs) m.delete(k);
      const keep: typeof this.ownTombstones = [];
      for (const t of this.ownTombstones) {
        if (now - t.at <= this.opts.tombstoneMs) keep.push(t);
        else if (this.ownVersions.get(t.slot)?.get(t.key) === t.version) {
          this.ownVersions.get(t.slot)?.delete(t.key);
          this.ackedVersions.get(t.slot)?.delete(t.key);
        }
      }
      this.ownTombstones = keep;
    }
    return out;
  }

  nextWakeAt(): number {
    let at = this.isReady || this.bulkWaiting === null ? Infinity : this.bulkStartedAt + this.opts.bulkTimeoutMs;
    for (const f of this.inFlight.values()) at = Math.min(at, f.nextResendAt, f.firstSentAt + this.opts.giveUpMs);
    if (this.ownTombstones.length > 0) at = Math.min(at, Math.max(this.nextPurgeAt, this.ownTombstones[0]!.at + this.opts.tombstoneMs));
    return at;
  }
}
