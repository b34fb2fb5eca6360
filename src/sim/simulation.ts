/**
 * The deterministic cluster simulator: N members running the real cores, one
 * manual clock, a lossy/partitionable network, and one seeded random source.
 *
 *   event queue (time, seq) ─► deliver datagram │ member timer │ scripted step
 *        ─► MemberCore returns actions ─► network (sends) │ AppHost (hooks) │ tracker (units)
 *        ─► afterEach hooks (invariants)
 *
 * The same seed gives the same run, event for event.
 */
import { DEFAULT_TIMING, type MemberConfig, type MembershipTiming } from '../cluster/membership/config.js';
import type { Action } from '../cluster/membership/actions.js';
import { MemberCore } from '../cluster/membership/core.js';
import type { TrustConfig } from '../cluster/auth/trust.js';
import type { MemberId } from '../cluster/types.js';
import type { ControlMessage } from '../cluster/messages.js';
import { ManualClock } from '../lib/clock.js';
import { SeededRandom } from '../lib/random.js';
import { EventQueue } from './event-queue.js';
import { PERFECT_NETWORK, SimNetwork, type NetworkModel } from './network.js';
import { OwnershipTracker } from './ownership.js';
import { SimNode, type SimMemberSpec } from './sim-node.js';

export interface SimulationOptions {
  seed: number;
  trust: TrustConfig;
  clusterId?: number;
  network?: NetworkModel;
  timing?: Partial<MembershipTiming>;
  configVersion?: number;
  /** Called with every log action, for debugging a seed. */
  trace?: (line: string) => void;
}

const MAX_TICKS_AT_ONE_INSTANT = 10_000;

/** The cluster id members get unless the options name another. */
export const SIM_CLUSTER_ID = 0x5348_0001;

export class Simulation {
  readonly clock = new ManualClock(0);
  readonly rng: SeededRandom;
  readonly net: SimNetwork;
  readonly queue = new EventQueue();
  readonly nodes = new Map<MemberId, SimNode>();
  readonly tracker = new OwnershipTracker();
  readonly timing: MembershipTiming;
  readonly afterEach: ((sim: Simulation) => void)[] = [];
  /** Sees every datagram a member sends (tests capture real messages to forge or replay them). */
  readonly taps: ((from: MemberId, bytes: Uint8Array, message: ControlMessage) => void)[] = [];
  /** Sees every action a member's core returns, before the simulation applies it. */
  readonly actionTaps: ((member: MemberId, action: Action) => void)[] = [];
  events = 0;
  /** The member the last event changed (invariant checks look at it). */
  lastTouched: SimNode | null = null;
  private readonly netRng: SeededRandom;
  private ticksAtInstant = 0;
  private lastInstant = -1;

  constructor(private readonly options: SimulationOptions) {
    this.rng = new SeededRandom(options.seed);
    this.netRng = this.rng.fork();
    this.net = new SimNetwork(options.network ?? PERFECT_NETWORK, this.netRng);
    this.timing = { ...DEFAULT_TIMING, ...options.timing };
  }

  get now(): number {
    return this.clock.now();
  }

  private config(spec: SimMemberSpec, incarnation: number): MemberConfig {
    return {
      self: spec.id,
      clusterId: this.options.clusterId ?? SIM_CLUSTER_ID,
      configVersion: spec.configVersion ?? this.options.configVersion ?? 1,
      incarnation,
      credentials: spec.credentials,
      trust: this.options.trust,
      timing: this.timing,
      maxSkewMs: 30_000,
      ...(spec.handoffMarker ? { handoffMarker: spec.handoffMarker } : {}),
    };
  }

  /** Start a member now (or at `at`). */
  addMember(spec: SimMemberSpec, at = this.now): void {
    this.queue.push(at, () => this.boot(spec));
  }

  private boot(spec: SimMemberSpec): void {
    const incarnation = spec.incarnation ?? Math.floor(this.clock.wallNow());
    const core = new MemberCore(this.config(spec, incarnation), this.rng.fork(), this.clock.wallNow() - this.now);
    const node = SimNode.create(spec, core, incarnation);
    this.nodes.set(spec.id, node);
    this.apply(node, core.start(this.now));
  }

  /** SIGKILL: the member stops at once; it sends nothing more and hears nothing. */
  kill(id: MemberId): void {
    const node = this.nodes.get(id);
    if (!node || !node.alive) return;
    node.alive = false;
    this.tracker.lost(this.now, id, node.core.servedUnits());
  }

  /** Kill and boot again as a new incarnation; `changes` alter its spec (a new config version, say). */
  restart(id: MemberId, changes: Partial<SimMemberSpec> = {}): void {
    const node = this.nodes.get(id);
    if (!node) throw new Error(`no member ${id}`);
    this.kill(id);
    this.boot({ ...node.spec, ...changes });
  }

  /** Change a running member's config version in place (MemberCore.setConfigVersion), at `at`. */
  setConfigVersion(id: MemberId, version: number, at = this.now): void {
    this.queue.push(at, () => {
      const node = this.nodes.get(id);
      if (node?.alive) this.apply(node, node.core.setConfigVersion(this.now, version));
    });
  }

  at(time: number, step: () => void): void {
    this.queue.push(time, step);
  }

  /**
   * At `at`, call one of a live member's other entry points (what a daemon's
   * drivers call: the replicator's StateSync/StateAck, say) and apply the
   * actions it returns. Nothing happens when the member died or restarted.
   */
  drive(id: MemberId, call: (core: MemberCore, now: number) => Action[], at = this.now): void {
    const node = this.nodes.get(id);
    const core = node?.core;
    this.queue.push(at, () => {
      if (node?.alive && node.core === core && core) this.apply(node, call(core, this.now));
    });
  }

  /** Hand raw bytes to a member as if they came off the wire (forgery and replay tests). */
  inject(to: MemberId, bytes: Uint8Array, at = this.now): void {
    this.queue.push(at, () => {
      const node = this.nodes.get(to);
      if (node?.alive) this.apply(node, node.core.handleDatagram(this.now, bytes));
    });
  }

  private send(from: SimNode, to: MemberId | 'all', bytes: Uint8Array): void {
    const targets = to === 'all' ? [...this.nodes.keys()] : [to];
    for (const t of targets) {
      if (t === from.id) continue;
      for (const d of this.net.delays(from.id, t, bytes.length)) {
        this.queue.push(this.now + d, () => {
          const node = this.nodes.get(t);
          // Links may have been cut while the datagram was in flight.
          if (node?.alive && this.net.connected(from.id, t)) this.apply(node, node.core.handleDatagram(this.now, bytes));
        });
      }
    }
  }

  private apply(node: SimNode, actions: Action[]): void {
    this.lastTouched = node;
    for (const a of actions) {
      for (const tap of this.actionTaps) tap(node.id, a);
      switch (a.kind) {
        case 'send':
          for (const tap of this.taps) tap(node.id, a.bytes, a.message);
          this.send(node, a.to, a.bytes);
          break;
        case 'units-gained':
          this.tracker.gained(this.now, node.id, a.units);
          node.host.deliver(a);
          break;
        case 'units-lost':
          this.tracker.lost(this.now, node.id, a.units);
          node.host.deliver(a);
          break;
        case 'members-changed':
          node.host.deliver(a);
          break;
        case 'approve-join':
          this.approve(node, a.requestId, a.candidate);
          break;
        case 'role':
          node.roles.push({ at: this.now, role: a.role, master: a.master });
          break;
        case 'join-refused':
          node.refusal = { reason: a.reason, detail: a.detail };
          break;
        case 'excluded':
          node.exclusions.push({ at: this.now, master: a.master, configVersion: a.configVersion, masterConfigVersion: a.masterConfigVersion, reason: a.reason });
          break;
        case 'alarm':
          node.alarms.push({ at: this.now, raised: a.raised, p: a.p });
          break;
        case 'exit':
          node.exits++;
          break;
        case 'log':
          this.options.trace?.(`${this.now.toFixed(1)} ${node.id} ${a.level} ${a.event} ${JSON.stringify(a.fields)}`);
          break;
        case 'announce-cluster-address':
          break;
      }
    }
    this.scheduleWake(node);
  }

  private approve(node: SimNode, requestId: number, candidate: Parameters<SimNode['host']['approve']>[0]): void {
    const verdict = node.host.approve(candidate);
    // A promise never settles inside simulated time: it stands for an application that does not answer.
    if (verdict instanceof Promise) return;
    const core = node.core;
    this.queue.push(this.now + (node.spec.approvalLatencyMs ?? 0), () => {
      if (node.alive && node.core === core) this.apply(node, core.approvalResult(this.now, requestId, verdict));
    });
  }

  private scheduleWake(node: SimNode): void {
    const at = node.core.nextWakeAt();
    if (!Number.isFinite(at)) return;
    const token = ++node.wakeToken;
    const core = node.core;
    this.queue.push(Math.max(at, this.now), () => {
      if (!node.alive || node.wakeToken !== token || node.core !== core) return;
      this.apply(node, core.tick(this.now));
    });
  }

  /** Run events up to and including time `until`. */
  runUntil(until: number): void {
    while (this.queue.peekTime() <= until) this.step();
    if (this.now < until) this.clock.advanceTo(until);
  }

  runFor(ms: number): void {
    this.runUntil(this.now + ms);
  }

  /** Run until `done` holds (checked after every event) or `maxMs` passes; returns whether it held. */
  runUntilTrue(done: () => boolean, maxMs: number): boolean {
    const limit = this.now + maxMs;
    if (done()) return true;
    while (this.queue.peekTime() <= limit) {
      this.step();
      if (done()) return true;
    }
    this.clock.advanceTo(limit);
    return done();
  }

  private step(): void {
    const e = this.queue.pop();
    if (!e) return;
    if (e.at === this.lastInstant) {
      if (++this.ticksAtInstant > MAX_TICKS_AT_ONE_INSTANT) throw new Error(`simulation stuck at t=${e.at}`);
    } else {
      this.lastInstant = e.at;
      this.ticksAtInstant = 0;
    }
    this.clock.advanceTo(e.at);
    this.events++;
    e.run();
    for (const check of this.afterEach) check(this);
  }

  live(): SimNode[] {
    return [...this.nodes.values()].filter((n) => n.alive);
  }

  masters(): SimNode[] {
    return this.live().filter((n) => n.role === 'master');
  }
}
