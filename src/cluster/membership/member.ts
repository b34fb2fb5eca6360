/**
 * A member under a master (patent Figures 8G–8I).
 *
 *   MASTER_KEEPALIVE ─► reset the master watchdog, take n and the member list,
 *                       ask for the table if its digest differs from ours
 *   WORK_ASSIGN ─► serve (with the hand-over markers), acknowledge
 *   WORK_DEASSIGN ─► serve on for the release grace, then stop and acknowledge
 *                       with each unit's hand-over marker (handoff.ts)
 *   a newer epoch for a unit we serve, given elsewhere, fences us at once
 *   every W/n ─► CLIENT_KEEPALIVE with the next sequence number
 *   watchdog expiry or EXIT_CLUSTER ─► join again, still serving our units
 *   CONFIG_VERSION_EXIT ─► release every unit, excluded until the versions match (excluded.ts)
 */
import { unwrapKey } from '../auth/key-wrap.js';
import { bytesEqual } from '../../lib/bytes.js';
import { watchdogTimeout } from '../keepalive.js';
import {
  AckKind,
  ExitReason,
  MessageType,
  UnitState,
  type Header,
  type MasterKeepalive,
  type TableSnapshot,
  type WorkAssign,
  type WorkDeassign,
} from '../messages.js';
import type { Epoch, UnitEpoch, UnitId } from '../types.js';
import type { Inbound } from './channel.js';
import type { MembershipContext } from './context.js';
import { exclusionReason } from './excluded.js';
import { markerList, markersByUnit } from './handoff.js';
import type { Role, RoleSwitch } from './role.js';

/** Signed messages a restarted master sends first; from our master's address they mean it restarted. */
const RESTART_HINTS = new Set<number>([MessageType.JoinRequest, MessageType.OfferMaster, MessageType.MasterAnnounce]);

const WANTED = new Set<number>([
  MessageType.MasterKeepalive,
  MessageType.WorkAssign,
  MessageType.WorkDeassign,
  MessageType.TableSnapshot,
  MessageType.KeyUpdate,
  MessageType.ExitCluster,
  MessageType.ConfigVersionExit,
]);

/** A unit the master took from us: served until `at`, then given up under the de-assign's `epoch`. */
interface Release {
  epoch: Epoch;
  at: number;
}

export class MemberRole implements Role {
  private master = 0;
  private masterIncarnation = 0;
  private lastHeard = 0;
  private nextKeepaliveAt = 0;
  private lastTableRequestAt = -Infinity;
  private masterChain: Uint8Array[] | null = null;
  private nextCertCheckAt = Infinity;
  /**
   * De-assigned units still in their grace. Forgotten with this role: a member
   * that rejoins before letting go still serves them, as if the de-assign had
   * been lost, and the master's join rules sort that out.
   */
  private readonly releasing = new Map<UnitId, Release>();
  /** What each released unit was acknowledged with, so a resent de-assign gets the same marker. */
  private readonly released = new Map<UnitId, { epoch: Epoch; marker: number }>();

  constructor(
    private readonly ctx: MembershipContext,
    private readonly roles: RoleSwitch,
  ) {}

  private get window(): number {
    return this.ctx.cfg.timing.watchdogMs;
  }

  enter(now: number, master: number, masterIncarnation: number, masterChain: Uint8Array[] | null): void {
    this.master = master;
    this.masterIncarnation = masterIncarnation;
    this.masterChain = masterChain;
    this.nextCertCheckAt = now + this.ctx.cfg.timing.certCheckMs;
    this.lastHeard = now;
    this.nextKeepaliveAt = now;
    this.ctx.setRole('member', master);
  }

  wants(header: Header): boolean {
    if (WANTED.has(header.type)) return true;
    // Anything signed by our master's address under another incarnation means it restarted.
    return RESTART_HINTS.has(header.type) && header.sender === this.master && header.incarnation !== this.masterIncarnation;
  }

  onMessage(now: number, { header, message }: Inbound): void {
    if (header.sender !== this.master) {
      this.ctx.count('member.not-my-master');
      return;
    }
    if (header.incarnation !== this.masterIncarnation) {
      this.ctx.count('member.master-restarted');
      this.roles.toJoining(now, 'the master restarted');
      return;
    }
    switch (message.type) {
      case MessageType.MasterKeepalive:
        return this.keepalive(now, message);
      case MessageType.WorkAssign:
        return this.assign(now, message);
      case MessageType.WorkDeassign:
        return this.deassign(now, message);
      case MessageType.TableSnapshot:
        if (message.target === this.ctx.cfg.self) this.snapshot(message);
        return;
      case MessageType.KeyUpdate: {
        if (message.target !== this.ctx.cfg.self) return;
        // Signed by our master (the channel checked its chain and signature; onMessage its address and
        // incarnation). A rotation retires every older key: a removed member may hold them.
        const key = unwrapKey(message.wrappedKey, this.ctx.cfg.credentials.privateKey);
        if (!key) this.ctx.count('member.bad-key-wrap');
        else if (!this.ctx.channel.keys.rotate({ epoch: message.keyEpoch, key })) this.ctx.count('member.retired-key-update');
        return;
      }
      case MessageType.ConfigVersionExit:
        if (message.target === this.ctx.cfg.self) this.orderedOut(now, message.configVersion);
        return;
      case MessageType.ExitCluster:
        if (message.target === 0 || message.target === this.ctx.cfg.self) {
          this.ctx.outbox.push({ kind: 'exit', reason: message.reason });
          // Removed (watchdog or certificate): its units are someone else's now or after the grace, so stop serving them now.
          if (message.reason === ExitReason.Removed) {
            this.releasing.clear();
            this.ctx.lose([...this.ctx.served.keys()]);
          }
          this.roles.toJoining(now, `exit requested (reason ${message.reason})`);
        }
        return;
      default:
        return;
    }
  }

  /**
   * Our master's order to leave for our config version. An order naming our
   * own version is stale (our version changed back since): ignored, and the
   * master sees the version it wants in our next keepalive.
   */
  private orderedOut(now: number, masterVersion: number): void {
    const own = this.ctx.configVersion;
    if (masterVersion === own) {
      this.ctx.count('member.stale-config-exit');
      return;
    }
    this.releasing.clear();
    this.roles.toExcluded(now, { master: this.master, configVersion: own, masterConfigVersion: masterVersion, reason: exclusionReason(own, masterVersion) });
  }

  private keepalive(now: number, ka: MasterKeepalive): void {
    this.lastHeard = now;
    this.ctx.term = Math.max(this.ctx.term, ka.term);
    this.ctx.n = ka.n;
    this.ctx.noteEpoch(ka.maxEpoch);
    if (!ka.members.includes(this.ctx.cfg.self)) {
      this.roles.toJoining(now, 'not in the master member list');
      return;
    }
    this.ctx.setMembers(ka.members);
    if (!bytesEqual(ka.tableDigest, this.ctx.view.digest()) && now - this.lastTableRequestAt >= this.window) {
      this.lastTableRequestAt = now;
      this.ctx.send(now, { type: MessageType.TableRequest }, this.master);
    }
  }

  /**
   * Orders older than what the view already holds are stale (an old order
   * delivered late, or replayed inside the replay window): acting on one could
   * serve a unit that has since moved on, so they are ignored.
   */
  private current(entries: readonly UnitEpoch[]): UnitEpoch[] {
    const fresh = entries.filter((e) => e.epoch >= this.ctx.view.epochOf(e.unit));
    if (fresh.length < entries.length) this.ctx.count('member.stale-order', entries.length - fresh.length);
    return fresh;
  }

  private assign(now: number, wa: WorkAssign): void {
    const entries = this.current(wa.entries);
    for (const e of entries) this.ctx.noteEpoch(e.epoch);
    if (wa.owner === this.ctx.cfg.self) {
      this.ctx.gain(entries, markersByUnit(wa.entries, wa.markers));
      this.record(entries, this.ctx.cfg.self, UnitState.Owned);
      // Acknowledge every entry, stale ones too, so the master stops resending.
      this.ctx.send(now, { type: MessageType.WorkAck, kind: AckKind.Assign, entries: wa.entries, markers: markerList(wa.entries) }, this.master);
      return;
    }
    this.record(entries, wa.owner, UnitState.Assigning);
    this.fence(entries);
  }

  /**
   * Units we serve under this order (or an older one) are released after the
   * grace, when every member that heard the same broadcast holds their
   * packets; everything else (stale, already released, not ours) is
   * acknowledged at once so the master stops resending.
   */
  private deassign(now: number, wd: WorkDeassign): void {
    const entries = this.current(wd.entries);
    this.record(entries, wd.owner, UnitState.Deassigning);
    if (wd.owner !== this.ctx.cfg.self) return;
    const pending = new Set<UnitEpoch>();
    for (const e of entries) {
      const mine = this.ctx.served.get(e.unit);
      if (mine === undefined || mine > e.epoch) continue;
      pending.add(e);
      const r = this.releasing.get(e.unit);
      if (r) r.epoch = Math.max(r.epoch, e.epoch); // a resend inside the grace: the release answers it
      else this.releasing.set(e.unit, { epoch: e.epoch, at: now + this.ctx.cfg.timing.releaseGraceMs });
    }
    this.ackDeassign(now, wd.entries.filter((e) => !pending.has(e)));
    this.release(now);
  }

  /** Let go of the units whose grace is over, and tell the master with their markers. */
  private release(now: number): void {
    const done: UnitEpoch[] = [];
    const lost: UnitId[] = [];
    for (const [unit, r] of this.releasing) {
      if (r.at > now) continue;
      this.releasing.delete(unit);
      done.push({ unit, epoch: r.epoch });
      // A newer epoch here means the unit was given back to us meanwhile: keep it.
      if ((this.ctx.served.get(unit) ?? Infinity) > r.epoch) continue;
      this.released.set(unit, { epoch: r.epoch, marker: this.ctx.handoffMarker(unit) });
      lost.push(unit);
    }
    this.ctx.lose(lost);
    this.ackDeassign(now, done);
  }

  private ackDeassign(now: number, entries: readonly UnitEpoch[]): void {
    if (entries.length === 0) return;
    const markers = entries.map((e) => {
      const r = this.released.get(e.unit);
      return r?.epoch === e.epoch ? r.marker : 0;
    });
    this.ctx.send(now, { type: MessageType.WorkAck, kind: AckKind.Deassign, entries: [...entries], markers }, this.master);
  }

  private snapshot(ts: TableSnapshot): void {
    this.ctx.view.load(ts.entries);
    const stale: UnitEpoch[] = [];
    ts.entries.forEach((e, unit) => {
      this.ctx.noteEpoch(e.epoch);
      if (e.owner !== this.ctx.cfg.self) stale.push({ unit, epoch: e.epoch });
    });
    this.fence(stale);
  }

  /** A newer epoch for a unit we serve means someone else owns it now: stop at once. */
  private fence(others: readonly UnitEpoch[]): void {
    const lost = others.filter((e) => {
      const mine = this.ctx.served.get(e.unit);
      return mine !== undefined && e.epoch > mine;
    });
    if (lost.length > 0) {
      this.ctx.count('member.fenced', lost.length);
      for (const e of lost) this.releasing.delete(e.unit);
      this.ctx.lose(lost.map((e) => e.unit));
    }
  }

  private record(entries: readonly UnitEpoch[], owner: number, state: UnitState): void {
    for (const e of entries) this.ctx.view.set(e.unit, owner, e.epoch, state);
  }

  tick(now: number): void {
    this.release(now);
    if (now >= this.nextCertCheckAt) {
      this.nextCertCheckAt = now + this.ctx.cfg.timing.certCheckMs;
      // A master whose certificate expired or was revoked is followed no longer (its signed messages
      // are refused already); joining again finds a master we can trust, or makes one.
      const bad = this.masterChain ? this.ctx.channel.recheck(this.masterChain, this.master, this.ctx.wall(now)) : null;
      if (bad) {
        this.ctx.count('member.master-certificate');
        this.ctx.log('warn', 'master-certificate-invalid', { master: this.master, problem: bad.problem, detail: bad.detail });
        this.roles.toJoining(now, `the master's certificate: ${bad.problem}`);
        return;
      }
    }
    if (now > this.lastHeard + watchdogTimeout(this.window, this.ctx.n)) {
      this.ctx.count('member.master-watchdog');
      this.roles.toJoining(now, 'master watchdog expired');
      return;
    }
    if (now >= this.nextKeepaliveAt) {
      this.ctx.keepaliveSeq = (this.ctx.keepaliveSeq + 1) >>> 0;
      this.ctx.send(now, {
        type: MessageType.ClientKeepalive,
        keepaliveSeq: this.ctx.keepaliveSeq,
        tableDigest: this.ctx.view.digest(),
        configVersion: this.ctx.configVersion,
      });
      this.nextKeepaliveAt = now + this.window / this.ctx.n;
    }
  }

  nextWakeAt(): number {
    let t = Math.min(this.nextKeepaliveAt, this.nextCertCheckAt, this.lastHeard + watchdogTimeout(this.window, this.ctx.n) + 0.001);
    for (const r of this.releasing.values()) t = Math.min(t, r.at);
    return t;
  }
}
