/**
 * One member's clustering core: the membership state machine of patent
 * Figures 6 and 8A–8I behind a sans-IO surface.
 *
 *   datagram ─► channel.decode ─► role.wants? ─► target check ─► channel.authenticate ─► role.onMessage
 *                                                         unknown key ─► held until it arrives (early-frames.ts)
 *   timer    ─► role.tick (the driver calls tick at nextWakeAt())
 *   every call returns the actions it produced (send, units gained/lost, approve-join, ...)
 *
 * Roles: joining/offering → master | member; refused is terminal until reconfigured;
 * excluded (our config version differs from the master's) waits until the
 * versions match (excluded.ts).
 * The served-unit set lives in the shared context, so it survives role changes.
 */
import type { Approval } from '../../apps/application.js';
import type { RandomSource } from '../../lib/random.js';
import { MAX_FORWARDED_PACKET } from '../control-codec.js';
import { MessageType, type ControlMessage, type ForwardSide, type Frame } from '../messages.js';
import type { MemberId, UnitId } from '../types.js';
import type { Action, Exclusion, RoleName } from './actions.js';
import { ControlChannel, type DropReason } from './channel.js';
import type { MemberConfig } from './config.js';
import { MembershipContext } from './context.js';
import { EarlyFrames } from './early-frames.js';
import { ExcludedRole } from './excluded.js';
import { openState, sealState } from './state-crypto.js';
import { JoiningRole } from './joining.js';
import { LeftRole } from './left.js';
import { MasterRole } from './master.js';
import { MemberRole } from './member.js';
import type { Role, RoleSwitch } from './role.js';

export interface MemberStatus {
  self: MemberId;
  role: RoleName;
  master: MemberId | null;
  term: number;
  members: MemberId[];
  n: number;
  servedUnits: number;
  keyEpoch: number;
  /** On the master: each member's smoothed keepalive loss P (by member id). */
  loss: Record<string, number>;
  counters: Record<string, number>;
  configVersion: number;
  /** Why we are out of the cluster for our config version (role 'excluded'), else null. */
  excluded: string | null;
}

const REFUSED: Role = {
  wants: () => false,
  onMessage: () => undefined,
  tick: () => undefined,
  nextWakeAt: () => Infinity,
};

export class MemberCore implements RoleSwitch {
  readonly ctx: MembershipContext;
  private role: Role;
  private masterRole: MasterRole | null = null;
  private readonly early: EarlyFrames;

  constructor(cfg: MemberConfig, rng: RandomSource, wallOffset: number) {
    this.ctx = new MembershipContext(cfg, new ControlChannel(cfg), rng, wallOffset);
    this.early = new EarlyFrames(cfg.timing.watchdogMs);
    this.role = REFUSED;
  }

  get self(): MemberId {
    return this.ctx.cfg.self;
  }

  /** Begin by joining (patent Figure 6: every member starts as a joiner). */
  start(now: number): Action[] {
    this.toJoining(now, 'start');
    return this.drain();
  }

  handleDatagram(now: number, bytes: Uint8Array): Action[] {
    const before = this.ctx.channel.keys.current?.epoch;
    this.datagram(now, bytes);
    // A key just arrived: open what came under it before it did (early-frames.ts).
    const after = this.ctx.channel.keys.current?.epoch;
    if (after !== undefined && after !== before) {
      for (const held of this.early.take(now, after)) {
        this.ctx.count('early.reopened');
        this.datagram(now, held);
      }
    }
    return this.drain();
  }

  private datagram(now: number, bytes: Uint8Array): void {
    const decoded = this.ctx.channel.decode(bytes);
    if (!decoded.ok) {
      this.ctx.drop(decoded.reason);
      return;
    }
    const { frame } = decoded;
    if (frame.message.type === MessageType.ForwardedPacket) return this.forwarded(now, frame, bytes);
    if (frame.message.type === MessageType.StateSync || frame.message.type === MessageType.StateAck) return this.stateMessage(now, frame, bytes);
    if (!this.role.wants(frame.header)) {
      this.ctx.drop('not-interested');
      return;
    }
    const target = targetOf(frame.message);
    if (target !== null && target !== 0 && target !== this.self) {
      this.ctx.drop('not-for-me');
      return;
    }
    const opened = this.ctx.channel.authenticate(frame, this.ctx.wall(now));
    if (!opened.ok) {
      this.refused(now, opened.reason, frame, bytes);
      if (opened.reason === 'certificate' && this.masterRole && frame.message.type === MessageType.JoinRequest) {
        // A joiner with a bad certificate learns why, so it stops trying.
        this.masterRole.joins.refuseCertificate(
          now,
          frame.header.sender,
          frame.message.nonce,
          opened.certProblem === 'not-allowed',
          `${opened.certProblem ?? 'certificate'}: ${opened.detail ?? ''}`,
        );
      }
      return;
    }
    this.ctx.count('accepted');
    this.role.onMessage(now, opened.inbound);
  }

  /** Counts a refusal; a frame under a key we may be about to get waits for it (never one under a retired key). */
  private refused(now: number, reason: DropReason, frame: Frame, bytes: Uint8Array): void {
    if (reason === 'unknown-key') {
      if (!this.early.hold(now, frame.header.epoch, bytes)) this.ctx.count('early.pushed-out');
      this.ctx.count('early.held');
      return;
    }
    this.ctx.drop(reason);
  }

  /**
   * Forwarding mode: a packet a master handed us. Taken in every role, as
   * long as it carries the cluster key's MAC and we serve its unit: a member
   * re-joining (its watchdog fired while the master was busy) keeps serving
   * its units, so it must keep getting their packets.
   */
  private forwarded(now: number, frame: Frame, bytes: Uint8Array): void {
    const opened = this.ctx.channel.authenticate(frame, this.ctx.wall(now));
    const m = frame.message;
    if (!opened.ok) this.refused(now, opened.reason, frame, bytes);
    else if (m.type !== MessageType.ForwardedPacket || !this.ctx.served.has(m.unit)) this.ctx.drop('not-interested');
    else this.ctx.outbox.push({ kind: 'forwarded-packet', unit: m.unit, side: m.side, packet: m.packet });
  }

  /**
   * Replication traffic, in every role (a member re-joining after a missed
   * keepalive keeps its units and their replicas): it needs only the cluster
   * key's MAC, and a StateSync must decrypt under the key of its epoch.
   */
  private stateMessage(now: number, frame: Frame, bytes: Uint8Array): void {
    const opened = this.ctx.channel.authenticate(frame, this.ctx.wall(now));
    const m = frame.message;
    const from = frame.header.sender;
    if (!opened.ok) {
      this.refused(now, opened.reason, frame, bytes);
    } else if (m.type === MessageType.StateAck) {
      this.ctx.outbox.push({ kind: 'state-ack', from, app: m.app, unit: m.unit, syncSeq: m.syncSeq });
    } else if (m.type === MessageType.StateSync) {
      const key = this.ctx.channel.keys.get(frame.header.epoch);
      const plain = key ? openState(key.key, m.app, m.unit, m.syncSeq, m.payload) : null;
      if (plain === null) this.ctx.drop('state-undecryptable');
      else this.ctx.outbox.push({ kind: 'state-sync', from, app: m.app, unit: m.unit, syncSeq: m.syncSeq, payload: plain });
    }
  }

  /** Replication: essential-state records for `unit`, encrypted under the current cluster key. Nothing before joining. */
  stateSync(now: number, to: MemberId | 'all', app: number, unit: UnitId, syncSeq: number, plain: Uint8Array): Action[] {
    const key = this.ctx.channel.keys.current;
    if (!key) {
      this.ctx.drop('state-no-key');
      return this.drain();
    }
    const payload = sealState(key.key, this.ctx.rng, app, unit, syncSeq, plain);
    this.ctx.send(now, { type: MessageType.StateSync, app, unit, syncSeq, payload }, to);
    return this.drain();
  }

  stateAck(now: number, to: MemberId, app: number, unit: UnitId, syncSeq: number): Action[] {
    if (!this.ctx.channel.keys.current) return [];
    this.ctx.send(now, { type: MessageType.StateAck, app, unit, syncSeq }, to);
    return this.drain();
  }

  tick(now: number): Action[] {
    this.role.tick(now);
    return this.drain();
  }

  /** The applications' combined answer to an approve-join action. */
  approvalResult(now: number, requestId: number, approval: Approval): Action[] {
    this.masterRole?.joins.verdict(now, requestId, approval);
    return this.drain();
  }

  nextWakeAt(): number {
    return this.role.nextWakeAt();
  }

  /**
   * Forwarding mode: as master, hand a packet of `unit` to its owner `to`
   * over the interconnect (MACed under the cluster key like all unit traffic).
   * Nothing when this member is not the master: only the master forwards.
   * A packet longer than one frame carries is refused and counted, never
   * thrown: the data plane splits such packets first (forward-split.ts).
   */
  forward(now: number, to: MemberId, unit: UnitId, side: ForwardSide, packet: Uint8Array): Action[] {
    if (this.ctx.role !== 'master' || to === this.self) return [];
    if (packet.length > MAX_FORWARDED_PACKET) {
      this.ctx.count('drop.forward-too-big');
      return [];
    }
    this.ctx.send(now, { type: MessageType.ForwardedPacket, unit, side, packet }, to);
    return this.drain();
  }

  serves(unit: UnitId): boolean {
    return this.ctx.served.has(unit);
  }

  servedUnits(): UnitId[] {
    return [...this.ctx.served.keys()].sort((a, b) => a - b);
  }

  status(): MemberStatus {
    return {
      self: this.self,
      role: this.ctx.role,
      master: this.ctx.master,
      term: this.ctx.term,
      members: [...this.ctx.members],
      n: this.ctx.n,
      servedUnits: this.ctx.served.size,
      keyEpoch: this.ctx.channel.keys.current?.epoch ?? 0,
      loss: Object.fromEntries(this.masterRole?.lossEstimates() ?? []),
      counters: Object.fromEntries(this.ctx.counters),
      configVersion: this.ctx.configVersion,
      excluded: this.ctx.role === 'excluded' ? (this.ctx.exclusion?.reason ?? null) : null,
    };
  }

  /**
   * Our config version changed without a restart (a reloaded personality).
   * Excluded: ask to join again at once. A member: the next keepalive carries
   * it, and the master orders us out if it differs from its own. The master:
   * its version is the cluster's, so every member whose version differs is
   * ordered out as its next keepalive arrives.
   */
  setConfigVersion(now: number, version: number): Action[] {
    if (!Number.isInteger(version) || version < 0 || version > 0xffffffff) throw new RangeError(`config version ${version} is not a u32`);
    if (version === this.ctx.configVersion) return [];
    const before = this.ctx.configVersion;
    this.ctx.configVersion = version;
    this.ctx.log('info', 'config-version-changed', { from: before, to: version });
    if (this.ctx.role === 'excluded') this.toJoining(now, 'our config version changed');
    return this.drain();
  }

  /**
   * An administrator takes this member out of the cluster (`shoal cluster
   * leave`): it releases every unit and goes quiet until rejoin() (left.ts).
   */
  leave(_now: number): Action[] {
    if (this.ctx.role === 'left') return [];
    this.masterRole = null;
    const r = new LeftRole(this.ctx);
    this.role = r;
    r.enter();
    return this.drain();
  }

  /** Back into the cluster after leave(), joining as at start; nothing otherwise. */
  rejoin(now: number): Action[] {
    if (this.ctx.role !== 'left') return [];
    this.toJoining(now, 'rejoin requested');
    return this.drain();
  }

  // RoleSwitch: how roles hand over.

  toJoining(now: number, why: string): void {
    this.ctx.log('info', 'joining', { why });
    this.ctx.exclusion = null;
    this.masterRole = null;
    const r = new JoiningRole(this.ctx, this);
    this.role = r;
    r.enter(now);
  }

  toMember(now: number, master: MemberId, masterIncarnation: number, masterChain: Uint8Array[] | null): void {
    this.ctx.exclusion = null;
    this.masterRole = null;
    const r = new MemberRole(this.ctx, this);
    this.role = r;
    r.enter(now, master, masterIncarnation, masterChain);
    r.tick(now);
  }

  toMaster(now: number): void {
    this.ctx.exclusion = null;
    const r = new MasterRole(this.ctx, this);
    this.masterRole = r;
    this.role = r;
    r.enter(now);
    r.tick(now);
  }

  toRefused(_now: number): void {
    this.masterRole = null;
    // Refused for good (a certificate, the allowed list, a veto): a master will give its units to others.
    this.ctx.lose([...this.ctx.served.keys()]);
    this.role = REFUSED;
    this.ctx.setRole('refused', null);
  }

  toExcluded(now: number, why: Exclusion): void {
    this.masterRole = null;
    const r = new ExcludedRole(this.ctx, this);
    this.role = r;
    r.enter(now, why);
  }

  private drain(): Action[] {
    return this.ctx.outbox.splice(0);
  }
}

function targetOf(m: ControlMessage): number | null {
  return 'target' in m ? m.target : null;
}
