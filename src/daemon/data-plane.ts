/**
 * The outer data plane of one member: the outer TAP, the userspace host, and
 * the membership core's view of which units this member serves.
 *
 *   TAP readable ─► readBatch ─► OuterHost.input ─► frames ─► TAP writeBatch
 *   core action 'announce-cluster-address' ─► gratuitous ARP
 *   timer at host.nextWakeAt ─► ARP retries, reassembly expiry
 *
 * A batch is bounded per turn so control traffic on the same event loop is
 * never starved by a flood on the data side.
 */
import type { Action } from '../cluster/membership/actions.js';
import type { MemberCore } from '../cluster/membership/core.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../mgmt/log.js';
import { FrameBatch, type TapDevice } from '../ports/tap.js';
import type { Timers } from '../ports/timers.js';
import { OuterHost, type HostEffect, type OuterHostConfig } from '../stack/outer-host.js';

const FRAMES_PER_TURN = 256;

export class DataPlane {
  readonly host: OuterHost;
  private readonly rx = new FrameBatch(FRAMES_PER_TURN, 1024 * 1024);
  private readonly tx = new FrameBatch(FRAMES_PER_TURN, 1024 * 1024);
  private cancelTimer: (() => void) | null = null;
  private timerAt = Infinity;
  txDropped = 0;

  constructor(
    private readonly tap: TapDevice,
    private readonly core: MemberCore,
    config: OuterHostConfig,
    private readonly clock: Clock,
    private readonly timers: Timers,
    private readonly log: Logger,
  ) {
    this.host = new OuterHost(config, {
      serves: (unit) => core.serves(unit),
      isMaster: () => core.ctx.role === 'master',
    });
  }

  start(): void {
    this.tap.onReadable(() => this.drain());
  }

  /** Follow the membership core: announce the cluster address when this member becomes (or stays) master. */
  onAction(a: Action): void {
    if (a.kind === 'announce-cluster-address') {
      this.log.log('info', 'gratuitous-arp', { device: this.tap.name });
      this.emit(this.host.announce());
    }
  }

  private drain(): void {
    const n = this.tap.readBatch(this.rx);
    const now = this.clock.now();
    const out: HostEffect[] = [];
    for (let i = 0; i < n; i++) out.push(...this.host.input(now, this.rx.frame(i)));
    this.emit(out);
  }

  private emit(effects: HostEffect[]): void {
    this.tx.clear();
    for (const e of effects) {
      if (e.kind !== 'frame') continue; // forwarding mode's hand-over is not wired yet
      if (!this.tx.push(e.frame)) {
        this.flush();
        if (!this.tx.push(e.frame)) this.txDropped++;
      }
    }
    this.flush();
    this.schedule();
  }

  private flush(): void {
    if (this.tx.count === 0) return;
    const sent = this.tap.writeBatch(this.tx);
    this.txDropped += this.tx.count - sent;
    this.tx.clear();
  }

  private schedule(): void {
    const at = this.host.nextWakeAt();
    if (at === this.timerAt) return;
    this.cancelTimer?.();
    this.timerAt = at;
    if (!Number.isFinite(at)) return;
    this.cancelTimer = this.timers.after(at - this.clock.now(), () => {
      this.timerAt = Infinity;
      this.cancelTimer = null;
      this.emit(this.host.tick(this.clock.now()));
    });
  }

  stop(): void {
    this.cancelTimer?.();
    this.tap.onReadable(undefined);
    this.tap.close();
  }

  counters(): Record<string, number> {
    return { ...Object.fromEntries(this.host.counters), 'tx.dropped': this.txDropped };
  }
}
