/**
 * Outbound ESP sequence numbers are leased, not guessed: the owner of a
 * CHILD SA sends only up to a mark that every other member has acknowledged
 * holding (in the SA's replicated record), so whoever takes the SA over —
 * after a failure, a move, or with the record of a member cut off by a
 * partition — starts above every number the old owner can have used.
 *
 *   owner: packet ─► seq ≤ granted? ─ no ─► drop ('esp.out-failed.lease'), extension requested
 *                         └ yes ─► send; half the lease used? ─► mark = seq + size(rate), publish the record
 *   replicator: every peer acked the record's version ─► granted = mark
 *   taker: starts after the record's mark (which is ≥ every granted mark: all peers acked it)
 *
 * The size covers LEASE_SECONDS at the measured rate, at least LEASE_FLOOR,
 * so a steady stream extends about once per LEASE_SECONDS/2 and never waits;
 * an idle SA that bursts has LEASE_FLOOR/2 packets of room while the
 * extension's acknowledgements come back (a round trip on the interconnect).
 * A new SA's first mark needs no acknowledgement: no member holds an older
 * record of it, so no taker can start lower. Sans-IO: versions and acks come
 * from the caller.
 */

/** The smallest lease (sequence numbers). A takeover skips at most one lease: nothing next to 2^32. */
export const LEASE_FLOOR = 65_536;
/** A lease covers this long at the measured outbound rate. */
export const LEASE_SECONDS = 2;
/** An extension not acknowledged by then (a record given up) is requested again. */
export const LEASE_RETRY_MS = 1000;

export class SequenceLease {
  /** The highest number the replicated records allow (published, maybe not yet acknowledged). */
  mark: number;
  /** The highest number this owner may send now (acknowledged by every peer). */
  granted: number;
  /** Where the current lease started (its half-way point triggers the next extension). */
  private base: number;
  /** Version of the first record that carried `mark` (0: not published yet); granted once acked. */
  private pendingVersion = 0;
  private requestedAt = -Infinity;

  /**
   * `last`: the last number sent (a new SA: 0); `fresh`: a new SA, whose first
   * mark counts as granted; `limit`: the SA's highest sequence number.
   */
  constructor(
    last: number,
    private readonly limit: number,
    fresh: boolean,
  ) {
    this.base = last;
    this.mark = fresh ? Math.min(limit, last + LEASE_FLOOR) : last;
    this.granted = this.mark;
  }

  get pending(): boolean {
    return this.mark > this.granted;
  }

  /** Whether the owner should extend now: half the lease used (or none left), none pending, or a pending one stale. */
  wantsExtension(now: number, last: number): boolean {
    if (this.mark >= this.limit) return false;
    if (this.pending) return now - this.requestedAt >= LEASE_RETRY_MS;
    return last - this.base >= (this.mark - this.base) / 2;
  }

  /** A new mark ahead of `last`, sized from the rate; the caller publishes the SA's record. */
  extend(now: number, last: number, ratePerS: number): void {
    const size = Math.max(LEASE_FLOOR, Math.ceil(ratePerS * LEASE_SECONDS));
    this.base = last;
    this.mark = Math.max(this.mark, Math.min(this.limit, last + size));
    this.pendingVersion = 0;
    this.requestedAt = now;
  }

  /** The SA's record went out under `version`, carrying `mark`. */
  published(version: number): void {
    if (this.pending && this.pendingVersion === 0) this.pendingVersion = version;
  }

  /** Every peer acknowledged versions up to `ackedVersion`: the mark they carry is ours to use. */
  acknowledged(ackedVersion: number): void {
    if (this.pending && this.pendingVersion > 0 && ackedVersion >= this.pendingVersion) this.granted = this.mark;
  }

  /** Without replication (a box of its own) every mark is granted at once. */
  grantAll(): void {
    this.granted = this.mark;
  }
}
