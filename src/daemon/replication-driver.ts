/**
 * Runs the replicator for real: membership actions in (StateSync, StateAck,
 * member changes), the core's encrypted StateSync/StateAck out, a timer for
 * resends, and one flush per event-loop turn so the records a burst of
 * packets changed leave together.
 *
 * Its flush and timer run from setImmediate and the timer wheel, where an
 * exception would end the process: each entry point catches, counts and logs
 * (a record that could not go out is resent or republished later; the member lives).
 */
import type { Action } from '../cluster/membership/actions.js';
import type { MemberCore } from '../cluster/membership/core.js';
import type { UnitId } from '../cluster/types.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../mgmt/log.js';
import type { Timers } from '../ports/timers.js';
import { Replicator, type OwnedRecord, type ReplicatorOutput } from '../replication/replicator.js';
import type { MemberRunner } from './member-runner.js';

export class ReplicationDriver {
  readonly replicator: Replicator;
  private cancelTimer: (() => void) | null = null;
  private timerAt = Infinity;
  private flushQueued = false;
  private stopped = false;
  private readonly readyListeners: (() => void)[] = [];
  private failures = 0;

  constructor(
    private readonly core: MemberCore,
    private readonly runner: MemberRunner,
    private readonly clock: Clock,
    private readonly timers: Timers,
    private readonly log: Logger,
    exportOwned: (unit: UnitId) => readonly OwnedRecord[],
  ) {
    this.replicator = new Replicator(core.self, () => core.servedUnits(), exportOwned);
  }

  get ready(): boolean {
    return this.replicator.ready;
  }

  onReady(listener: () => void): void {
    this.readyListeners.push(listener);
  }

  onAction(a: Action): void {
    this.guarded(a.kind, () => {
      const now = this.clock.now();
      if (a.kind === 'state-sync') this.apply(this.replicator.onSync(now, a.from, a.app, a.unit, a.syncSeq, a.payload));
      else if (a.kind === 'state-ack') this.replicator.onAck(a.from, a.syncSeq);
      else if (a.kind === 'members-changed') this.apply(this.replicator.membersChanged(now, a.members, a.added, a.removed));
      else if (a.kind === 'units-lost') this.replicator.unitsLost(a.units);
    });
  }

  /** An application's record changed; sent with the others of this turn. Returns its version. */
  publish(now: number, app: number, unit: UnitId, key: string, body: Uint8Array | null): number {
    const version = this.replicator.publish(now, app, unit, key, body);
    if (this.flushQueued) return version;
    this.flushQueued = true;
    setImmediate(() => {
      this.flushQueued = false;
      if (!this.stopped) this.guarded('flush', () => this.apply(this.replicator.flush(this.clock.now())));
    });
    return version;
  }

  /** The member left the cluster: start over as a joiner (see Replicator.reset). */
  reset(): void {
    this.replicator.reset();
    this.cancelTimer?.();
    this.cancelTimer = null;
    this.timerAt = Infinity;
  }

  stop(): void {
    this.stopped = true;
    this.cancelTimer?.();
  }

  /** Runs one entry point; an exception is counted and logged, never thrown into the event loop. */
  private guarded(where: string, run: () => void): void {
    try {
      run();
    } catch (e) {
      this.failures++;
      this.log.log('error', 'replication.failed', { where, error: e instanceof Error ? e.message : String(e) });
      // Resends must still be scheduled after a failure half-way.
      try {
        this.schedule();
      } catch {
        // schedule() only reads the replicator and arms a timer; nothing more to save here
      }
    }
  }

  private apply(outs: readonly ReplicatorOutput[]): void {
    if (this.stopped) return;
    const now = this.clock.now();
    for (const o of outs) {
      if (o.kind === 'sync') this.send(o, () => this.core.stateSync(now, o.to, o.app, o.unit, o.syncSeq, o.payload));
      else if (o.kind === 'ack') this.send(o, () => this.core.stateAck(now, o.to, o.app, o.unit, o.syncSeq));
      else if (o.kind === 'refused') {
        this.log.log('warn', 'replication.record-too-large', { app: o.app, unit: o.unit, key: o.key, bytes: o.bytes });
      } else {
        this.log.log(o.timedOut ? 'warn' : 'info', 'replication.ready', { waitedMs: Math.round(o.waitedMs), timedOut: o.timedOut, records: this.replicator.recordCount() });
        for (const l of this.readyListeners) l();
      }
    }
    this.schedule();
  }

  /** One message to the core: a failure costs that message (a sync is resent on its timer), not the rest. */
  private send(o: ReplicatorOutput, make: () => Action[]): void {
    try {
      this.runner.applyActions(make());
    } catch (e) {
      this.failures++;
      this.log.log('error', 'replication.send-failed', { kind: o.kind, error: e instanceof Error ? e.message : String(e) });
    }
  }

  private schedule(): void {
    const at = this.replicator.nextWakeAt();
    if (at === this.timerAt) return;
    this.cancelTimer?.();
    this.cancelTimer = null;
    this.timerAt = at;
    if (at === Infinity) return;
    this.cancelTimer = this.timers.after(at - this.clock.now(), () => {
      this.timerAt = Infinity;
      this.cancelTimer = null;
      this.guarded('tick', () => this.apply(this.replicator.tick(this.clock.now())));
    });
  }

  counters(): Record<string, number> {
    return { ...Object.fromEntries(this.replicator.counters), inFlight: this.replicator.inFlightCount, records: this.replicator.recordCount(), failed: this.failures };
  }
}
