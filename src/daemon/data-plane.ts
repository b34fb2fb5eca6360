/**
 * The data plane of one member: the outer TAP, the optional inner TAP, the
 * userspace host for the cluster's addresses, and the membership core's view
 * of which units this member serves.
 *
 *   TAP(side) readable ─► readBatch ─► ClusterHost.input(side) ─► frames ─► TAP(side') writeBatch
 *   core action 'announce-cluster-address' ─► gratuitous ARP on both sides
 *   timer at host.nextWakeAt ─► ARP retries, reassembly expiry
 *
 * A batch is bounded per turn so control traffic on the same event loop is
 * never starved by a flood on the data side. Nothing that comes in (a frame,
 * a forwarded packet, a timer) can throw out of here: an exception is a
 * counted, logged drop of that one input, and the loop goes on.
 */
import type { Action } from '../cluster/membership/actions.js';
import type { MemberCore } from '../cluster/membership/core.js';
import { ForwardSide, UnitState } from '../cluster/messages.js';
import type { MemberId, UnitId } from '../cluster/types.js';
import type { Clock } from '../lib/clock.js';
import { EntryGuard } from '../lib/guard.js';
import type { Logger } from '../mgmt/log.js';
import { FrameBatch, type TapDevice } from '../ports/tap.js';
import type { Timers } from '../ports/timers.js';
import { ClusterHost, type ClusterHostConfig, type HostEffect, type SideName } from '../stack/cluster-host.js';
import type { TunnelOutput } from '../stack/tunnel-handler.js';

const FRAMES_PER_TURN = 256;
const BATCH_BYTES = 1024 * 1024;

interface Port {
  tap: TapDevice;
  tx: FrameBatch;
  /** Frames and bytes read from and written to this side's TAP. */
  traffic: { rxPackets: number; rxBytes: number; txPackets: number; txBytes: number };
}

const noTraffic = (): Port['traffic'] => ({ rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0 });

/** Forwarding mode: hands a packet to its unit's owner over the interconnect (the master only). */
export type Forwarder = (to: MemberId, unit: UnitId, side: SideName, packet: Uint8Array) => void;

export interface DataPlaneTaps {
  outer: TapDevice;
  inner?: TapDevice;
}

export class DataPlane {
  readonly host: ClusterHost;
  private readonly rx = new FrameBatch(FRAMES_PER_TURN, BATCH_BYTES);
  private readonly ports: Map<SideName, Port>;
  private cancelTimer: (() => void) | null = null;
  private timerAt = Infinity;
  txDropped = 0;
  /** Set by the daemon in forwarding mode. */
  forwarder: Forwarder | null = null;
  private flushPending = false;
  private stopped = false;
  /** Exceptions caught at an entry point: counted by where, logged at most once a second (a packet that throws may come in a flood). */
  private readonly guard: EntryGuard;
  /**
   * Replication: a member serves nothing until it holds every peer's records
   * (its bulk sync); until then packets of its units are held, not answered.
   */
  ready: () => boolean = () => true;
  private pendingGained: { unit: number; marker: number | undefined }[] = [];
  /** Runs a flush after the current burst of I/O callbacks (forwarded packets arrive one datagram per callback). */
  defer: (fn: () => void) => void = (fn) => void setImmediate(fn);

  constructor(
    taps: DataPlaneTaps,
    private readonly core: MemberCore,
    config: ClusterHostConfig,
    private readonly clock: Clock,
    private readonly timers: Timers,
    private readonly log: Logger,
  ) {
    if ((taps.inner === undefined) !== (config.inner === undefined)) throw new Error('data plane: an inner TAP needs an inner configuration and vice versa');
    this.guard = new EntryGuard('data-plane', log, clock);
    this.ports = new Map([['outer', { tap: taps.outer, tx: new FrameBatch(FRAMES_PER_TURN, BATCH_BYTES), traffic: noTraffic() }]]);
    if (taps.inner) this.ports.set('inner', { tap: taps.inner, tx: new FrameBatch(FRAMES_PER_TURN, BATCH_BYTES), traffic: noTraffic() });
    const forwarding = config.mode === 'forwarding';
    this.host = new ClusterHost(config, {
      serves: (unit) => core.serves(unit) && this.ready(),
      isMaster: () => core.ctx.role === 'master',
      masterId: () => (core.ctx.role === 'member' ? (core.ctx.master ?? 0) : 0),
      inTransition: (unit) => {
        const state = core.ctx.view.stateOf(unit);
        return state === UnitState.Deassigning || (forwarding && state === UnitState.Assigning) || (core.serves(unit) && !this.ready());
      },
    });
    this.host.ownerOf = (unit) => (core.ctx.view.stateOf(unit) === UnitState.Owned ? core.ctx.view.ownerOf(unit) : 0);
  }

  start(): void {
    for (const [side, port] of this.ports) port.tap.onReadable(() => this.guarded('drain', () => this.drain(side, port)));
    this.guarded('tick', () => this.emit(this.host.tick(this.clock.now()))); // ask for the gateways now, and keep them fresh from here on
  }

  /** Follow the membership core: announce the cluster addresses when this member becomes (or stays) master. */
  onAction(a: Action): void {
    this.guarded(a.kind, () => this.follow(a));
  }

  private follow(a: Action): void {
    if (a.kind === 'announce-cluster-address') {
      this.log.log('info', 'gratuitous-arp', { devices: [...this.ports.values()].map((p) => p.tap.name) });
      this.emit(this.host.announce(this.clock.now()));
    } else if (a.kind === 'forwarded-packet') {
      // One datagram per callback: batch the TAP writes of a whole burst instead of one write call each.
      this.emit(this.host.inputForwarded(this.clock.now(), a.side === ForwardSide.Inner ? 'inner' : 'outer', a.packet), true);
    } else if (a.kind === 'units-gained') {
      // Units handed over from a live owner come with its marker: serve what we held after it.
      const gained = a.units.map((unit) => ({ unit, marker: a.markers.get(unit) }));
      if (!this.ready()) this.pendingGained.push(...gained);
      else this.emit(this.host.unitsGained(this.clock.now(), gained));
    }
  }

  /** The bulk sync finished: serve the units gained meanwhile, starting with what was held for them. */
  becameReady(): void {
    const gained = this.pendingGained;
    this.pendingGained = [];
    if (gained.length > 0) this.emit(this.host.unitsGained(this.clock.now(), gained));
  }

  /** What the core reports when it lets `unit` go: the digest of the last packet served here. */
  handoffMarker(unit: number): number {
    return this.host.hold.markerOf(unit);
  }

  /** A tunnel handler's outputs made outside a packet or a tick (an admin's tunnel kill): sent now. */
  sendTunnelOutputs(outputs: readonly TunnelOutput[]): void {
    this.emit(this.host.tunnelOutputs(this.clock.now(), outputs));
  }

  private drain(side: SideName, port: Port): void {
    const n = port.tap.readBatch(this.rx);
    port.traffic.rxPackets += n;
    port.traffic.rxBytes += this.rx.used;
    const now = this.clock.now();
    const out: HostEffect[] = [];
    for (let i = 0; i < n; i++) {
      // One frame that throws costs that frame, not the rest of the batch.
      try {
        const effects = this.host.input(now, side, this.rx.frame(i));
        for (const e of effects) out.push(e);
      } catch (e) {
        this.guard.caught('input', e);
      }
    }
    this.emit(out);
  }

  /** Runs an entry point's work; an exception is counted and logged, never thrown to the event loop. */
  private guarded(where: string, fn: () => void): void {
    this.guard.run(where, fn);
  }

  private emit(effects: HostEffect[], deferFlush = false): void {
    for (const e of effects) {
      if (e.kind === 'forward') {
        const to = this.host.ownerOf(e.unit);
        if (to === 0 || !this.forwarder) this.host.count('drop.no-forwarder');
        else this.guarded('forward', () => this.forwarder?.(to, e.unit, e.side, e.packet));
        continue;
      }
      const port = this.ports.get(e.side);
      if (!port) continue;
      if (!port.tx.push(e.frame)) {
        this.flush(port);
        if (!port.tx.push(e.frame)) this.txDropped++;
      }
    }
    if (!deferFlush) this.flushAll();
    else if (!this.flushPending) {
      this.flushPending = true;
      this.defer(() => {
        this.flushPending = false;
        if (!this.stopped) this.guarded('flush', () => this.flushAll());
      });
    }
    this.schedule();
  }

  private flushAll(): void {
    for (const port of this.ports.values()) this.flush(port);
  }

  private flush(port: Port): void {
    if (port.tx.count === 0) return;
    const sent = port.tap.writeBatch(port.tx);
    this.txDropped += port.tx.count - sent;
    port.traffic.txPackets += sent;
    for (let i = 0; i < sent; i++) port.traffic.txBytes += port.tx.lengths[i]!;
    port.tx.clear();
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
      this.guarded('tick', () => this.emit(this.host.tick(this.clock.now())));
    });
  }

  stop(): void {
    this.stopped = true;
    this.cancelTimer?.();
    for (const port of this.ports.values()) {
      port.tap.onReadable(undefined);
      port.tap.close();
    }
  }

  /** Frames and bytes per side and direction, since start. */
  traffic(): { side: SideName; rxPackets: number; rxBytes: number; txPackets: number; txBytes: number }[] {
    return [...this.ports].map(([side, p]) => ({ side, ...p.traffic }));
  }

  counters(): Record<string, number> {
    return { ...Object.fromEntries(this.host.counters), ...this.guard.counters(), 'tx.dropped': this.txDropped };
  }
}
