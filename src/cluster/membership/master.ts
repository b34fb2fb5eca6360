/**
 * The master (patent Figures 8C–8F), with the safeguards its successors added.
 *
 *   every W/n ─► MASTER_KEEPALIVE (members, n, table digest); resend unacknowledged work
 *   every announce period ─► signed MASTER_ANNOUNCE, so a master behind another key meets us
 *   CLIENT_KEEPALIVE ─► member: reset its watchdog, update its loss P and the cluster's n
 *                     ├ another config version: CONFIG_VERSION_EXIT, remove it, its units
 *                     │   reassigned after the release grace (it lets go on the order)
 *                     └ non-member: EXIT_CLUSTER (CONFIG_VERSION_EXIT if its version differs)
 *   a member's watchdog expires ─► remove it, reassign its units, issue a new cluster key
 *   another master ─► tie-break: more members wins, then the lower address;
 *                     winner sends OTHER_MASTER_EXISTS and re-announces, loser exits and rejoins
 *   every 2 s ─► rebalance; our own moved units are let go after the release grace
 *
 * A new master first keeps every unit a previous member still serves: members
 * rejoin reporting their units and it adopts them, so a master failure
 * interrupts only the old master's own units.
 */
import { wrapKey } from '../auth/key-wrap.js';
import { newClusterKey, type ClusterKey } from '../auth/cluster-key.js';
import type { VerifiedPeer } from '../auth/trust.js';
import { watchdogTimeout } from '../keepalive.js';
import { ExitReason, MessageType, UnitState, type ClientKeepalive, type Header, type OkToJoin } from '../messages.js';
import type { MemberId } from '../types.js';
import type { Inbound } from './channel.js';
import type { MembershipContext } from './context.js';
import { exclusionReason } from './excluded.js';
import { LossMonitor } from './loss-monitor.js';
import { JoinDesk, type Admission } from './master-joins.js';
import { UnitAssigner } from './master-units.js';
import type { Role, RoleSwitch } from './role.js';

interface MemberRecord {
  id: MemberId;
  incarnation: number;
  peer: VerifiedPeer | null;
  /** Its certificate chain from the join, checked again every certCheckMs. */
  chain: Uint8Array[] | null;
  lastHeard: number;
  /** A previous member we wait for after a master change; it has not rejoined yet. */
  awaiting: boolean;
  lastNudge: number;
  /** After a rotation: when to send the member the new key again, until it uses it (Infinity = it has). */
  keyResendAt: number;
}

const WANTED = new Set<number>([
  MessageType.JoinRequest,
  MessageType.ClientKeepalive,
  MessageType.WorkAck,
  MessageType.TableRequest,
  MessageType.MasterAnnounce,
  MessageType.MasterKeepalive,
  MessageType.OtherMasterExists,
  MessageType.OfferMaster,
]);

export class MasterRole implements Role {
  private readonly records = new Map<MemberId, MemberRecord>();
  readonly units: UnitAssigner;
  readonly joins: JoinDesk;
  private nextKeepaliveAt = 0;
  private nextAnnounceAt = 0;
  private nextRebalanceAt = 0;
  private nextCertCheckAt = 0;
  private graceUntil = 0;
  private readonly loss = new LossMonitor();
  /**
   * Members ordered out for their config version, and when their units are
   * reassigned: they let go on the order, so the new owners start only after
   * the release grace and no unit is served twice.
   */
  private readonly leaving = new Map<MemberId, number>();

  constructor(
    private readonly ctx: MembershipContext,
    private readonly roles: RoleSwitch,
  ) {
    this.units = new UnitAssigner(
      ctx,
      () => this.assignable(),
      (now) => this.onTime(now),
    );
    // Units the joiner did not report are free again: place them once the OK has gone out,
    // so the joiner holds the cluster key when their WORK_ASSIGN arrives.
    this.joins = new JoinDesk(
      ctx,
      (now, a) => this.admit(now, a),
      (now) => this.units.assignUnassigned(now),
    );
  }

  private get self(): MemberId {
    return this.ctx.cfg.self;
  }

  private get timing() {
    return this.ctx.cfg.timing;
  }

  private assignable(): MemberId[] {
    return [...this.records.values()].filter((r) => !r.awaiting).map((r) => r.id);
  }

  /**
   * Live members whose last keepalive is at most one and a half keepalive
   * intervals old (the master itself always): one that missed a keepalive may
   * be dead, and the watchdog has not said so yet.
   */
  private onTime(now: number): MemberId[] {
    const late = (1.5 * this.timing.watchdogMs) / this.ctx.n;
    return [...this.records.values()].filter((r) => !r.awaiting && (r.id === this.self || now - r.lastHeard <= late)).map((r) => r.id);
  }

  enter(now: number): void {
    const ctx = this.ctx;
    ctx.term += 1;
    ctx.channel.keys.set(newClusterKey(ctx.rng, this.freshKeyEpoch()));
    const heard = new Set(ctx.heardJoins.keys());
    const previous = [...new Set([...ctx.members.filter((m) => m !== ctx.lastMaster), ...heard])].filter((m) => m !== this.self);
    this.records.set(this.self, this.record(this.self, ctx.cfg.incarnation, null, now, false));
    for (const m of previous) this.records.set(m, this.record(m, 0, null, now, true));
    this.graceUntil = now + this.timing.adoptGraceMs;

    // Keep what we serve and what the members we wait for serve; everything else is free.
    this.units.startAbove(Math.max(ctx.maxEpochSeen, ctx.view.maxEpoch()));
    const waitFor = new Set(previous);
    for (let u = 0; u < 1024; u++) {
      const mine = ctx.served.get(u);
      const e = ctx.view.get(u);
      if (mine !== undefined) ctx.view.set(u, this.self, Math.max(mine, e.epoch), UnitState.Owned);
      else if (e.state !== UnitState.Unassigned && !waitFor.has(e.owner)) ctx.view.clear(u);
      else if (e.state !== UnitState.Unassigned) ctx.view.set(u, e.owner, e.epoch, UnitState.Owned);
    }
    for (const [m, served] of ctx.heardJoins) {
      for (const { unit, epoch } of served) {
        ctx.noteEpoch(epoch);
        if (!ctx.served.has(unit) && epoch >= ctx.view.epochOf(unit)) ctx.view.set(unit, m, epoch, UnitState.Owned);
      }
    }
    ctx.heardJoins.clear();
    ctx.setMembers([...this.records.keys()]);
    ctx.setRole('master', this.self);
    ctx.log('info', 'became-master', { term: ctx.term, awaiting: previous.length });
    ctx.outbox.push({ kind: 'announce-cluster-address' });
    this.nextAnnounceAt = now;
    this.nextKeepaliveAt = now;
    this.nextRebalanceAt = now + this.timing.rebalanceMs;
    this.nextCertCheckAt = now + this.timing.certCheckMs;
    this.units.assignUnassigned(now);
  }

  private freshKeyEpoch(): number {
    let e = 0;
    while (e === 0) e = this.ctx.rng.u32();
    return e;
  }

  private record(id: MemberId, incarnation: number, peer: VerifiedPeer | null, now: number, awaiting: boolean, chain: Uint8Array[] | null = null): MemberRecord {
    return { id, incarnation, peer, chain, lastHeard: now, awaiting, lastNudge: -Infinity, keyResendAt: Infinity };
  }

  wants(header: Header): boolean {
    return WANTED.has(header.type);
  }

  onMessage(now: number, { header, message, peer, chain, currentKey }: Inbound): void {
    const sender = header.sender;
    switch (message.type) {
      case MessageType.JoinRequest:
        if (peer && chain) this.joins.onRequest(now, sender, header.incarnation, peer, chain, message);
        return;
      case MessageType.ClientKeepalive:
        return this.clientKeepalive(now, sender, header.incarnation, currentKey, message);
      case MessageType.WorkAck:
        if (this.isLiveMember(sender)) this.units.onAck(now, sender, message.kind, message.entries, message.markers);
        return;
      case MessageType.TableRequest:
        if (this.isLiveMember(sender)) {
          this.ctx.send(now, { type: MessageType.TableSnapshot, target: sender, entries: this.ctx.view.entries() }, sender);
        }
        return;
      case MessageType.MasterAnnounce:
        return this.tieBreak(now, sender, message.memberCount, message.term);
      case MessageType.MasterKeepalive:
        return this.tieBreak(now, sender, message.members.length, message.term);
      case MessageType.OtherMasterExists:
        if (message.target === this.self && this.otherWins(sender, message.memberCount)) this.yieldTo(now, sender);
        return;
      case MessageType.OfferMaster:
        // A joiner that missed us: tell it a master exists so it joins instead.
        this.ctx.send(now, { type: MessageType.OtherMasterExists, target: sender, memberCount: this.records.size, term: this.ctx.term }, sender);
        return;
      default:
        return;
    }
  }

  private isLiveMember(id: MemberId): boolean {
    const r = this.records.get(id);
    return r !== undefined && !r.awaiting;
  }

  private clientKeepalive(now: number, sender: MemberId, incarnation: number, currentKey: boolean, ka: ClientKeepalive): void {
    this.loss.observe(now, sender, incarnation, ka.keepaliveSeq);
    const r = this.records.get(sender);
    const ownVersion = ka.configVersion === this.ctx.configVersion;
    if (!r || r.awaiting || r.incarnation !== incarnation) {
      if (!r || now - r.lastNudge >= this.timing.watchdogMs) {
        if (r) r.lastNudge = now;
        this.ctx.count('master.exit-sent');
        if (ownVersion) this.ctx.send(now, { type: MessageType.ExitCluster, target: sender, reason: ExitReason.NotMember }, sender);
        else this.orderOut(now, sender, ka.configVersion);
      }
      return;
    }
    if (!ownVersion) {
      this.orderOut(now, sender, ka.configVersion);
      this.remove(now, sender, exclusionReason(ka.configVersion, this.ctx.configVersion), now + this.timing.releaseGraceMs);
      return;
    }
    r.lastHeard = now;
    // Only a member holding the key can MAC under it: it has the update, stop resending.
    if (currentKey) r.keyResendAt = Infinity;
  }

  /** Tell a member its config version is not the cluster's: it leaves, releases its units and waits (excluded.ts). */
  private orderOut(now: number, member: MemberId, memberVersion: number): void {
    this.ctx.count('master.config-version-exit');
    this.ctx.send(
      now,
      { type: MessageType.ConfigVersionExit, target: member, configVersion: this.ctx.configVersion, memberConfigVersion: memberVersion },
      member,
    );
  }

  private otherWins(other: MemberId, otherCount: number): boolean {
    const mine = this.records.size;
    if (otherCount !== mine) return otherCount > mine;
    return other < this.self;
  }

  private tieBreak(now: number, other: MemberId, otherCount: number, term: number): void {
    this.ctx.term = Math.max(this.ctx.term, term);
    if (this.otherWins(other, otherCount)) {
      this.yieldTo(now, other);
      return;
    }
    this.ctx.count('master.tie-break-won');
    this.ctx.send(now, { type: MessageType.OtherMasterExists, target: other, memberCount: this.records.size, term: this.ctx.term }, other);
    this.announce(now);
    this.ctx.outbox.push({ kind: 'announce-cluster-address' });
  }

  private announce(now: number): void {
    this.ctx.send(now, { type: MessageType.MasterAnnounce, memberCount: this.records.size, term: this.ctx.term, configVersion: this.ctx.configVersion });
  }

  private yieldTo(now: number, other: MemberId): void {
    this.ctx.count('master.tie-break-lost');
    this.ctx.log('info', 'yield-master', { to: other });
    this.ctx.send(now, { type: MessageType.ExitCluster, target: 0, reason: ExitReason.LostTieBreak });
    this.ctx.outbox.push({ kind: 'exit', reason: ExitReason.LostTieBreak });
    this.roles.toJoining(now, 'lost the tie-break');
  }

  private admit(now: number, a: Admission): OkToJoin {
    const old = this.records.get(a.member);
    // Back before its units were released (see `leaving`): the join's adoption below settles them.
    this.leaving.delete(a.member);
    this.units.startAbove(a.request.maxEpoch);
    const holders = new Set([...this.records.values()].filter((r) => r.id !== a.member).map((r) => r.id));
    const keep = this.units.adopt(a.member, a.request.served, holders);
    this.records.set(a.member, this.record(a.member, a.incarnation, a.peer, now, false, a.chain));
    if (old && !old.awaiting && old.incarnation !== a.incarnation) this.ctx.log('info', 'member-restarted', { member: a.member });
    this.ctx.setMembers([...this.records.keys()]);
    this.ctx.log('info', 'member-joined', { member: a.member, kept: keep.length });
    const key = this.ctx.channel.keys.current;
    if (!key) throw new Error('master without a cluster key');
    return {
      type: MessageType.OkToJoin,
      target: a.member,
      nonce: a.nonce,
      term: this.ctx.term,
      keyEpoch: key.epoch,
      wrappedKey: wrapKey(key.key, a.peer.publicKey, this.ctx.rng),
      members: [...this.records.keys()].sort((x, y) => x - y),
      keep,
      n: this.ctx.n,
    };
  }

  /** `releaseAt`: when its units are reassigned (now, for a member that stopped answering). */
  private remove(now: number, id: MemberId, why: string, releaseAt = now): void {
    this.removeAll(now, [{ id, why }], releaseAt);
  }

  /**
   * Members that go in the same instant (several watchdogs expire in one
   * tick) go in one step: their units are placed once, among the survivors
   * only, and one new key reaches the survivors, not one per member removed.
   */
  private removeAll(now: number, gone: readonly { id: MemberId; why: string }[], releaseAt = now): void {
    if (gone.length === 0) return;
    for (const { id, why } of gone) {
      this.records.delete(id);
      this.joins.forget(id);
      this.ctx.count('master.member-removed');
      this.ctx.log('warn', 'member-removed', { member: id, why });
      if (releaseAt > now) this.leaving.set(id, releaseAt);
    }
    this.ctx.setMembers([...this.records.keys()]);
    // The new key first: every order that follows goes out under it, never under one the removed members hold.
    this.rotateKey(now);
    if (releaseAt <= now) this.units.membersRemoved(now, gone.map((g) => g.id));
  }

  /**
   * A member's certificate expires, or a re-read CRL revokes it, while it
   * stays joined: it is ordered out (signed EXIT_CLUSTER, reason Removed: it
   * lets go of every unit), removed, and the key rotated, so from then on
   * nothing it sends under a cluster key is taken, and its next join is
   * refused with the certificate's problem. Its units move on after the
   * release grace, as for a member ordered out for its config version.
   */
  private checkCertificates(now: number): void {
    const gone: { id: MemberId; why: string }[] = [];
    for (const r of this.records.values()) {
      if (r.id === this.self || r.awaiting || !r.chain) continue;
      const bad = this.ctx.channel.recheck(r.chain, r.id, this.ctx.wall(now));
      if (!bad) continue;
      this.ctx.count('master.certificate-evicted');
      this.ctx.send(now, { type: MessageType.ExitCluster, target: r.id, reason: ExitReason.Removed }, r.id);
      gone.push({ id: r.id, why: `certificate ${bad.problem}: ${bad.detail}` });
    }
    this.removeAll(now, gone, now + this.timing.releaseGraceMs);
  }

  private releaseLeavers(now: number): void {
    const due = [...this.leaving].filter(([, at]) => at <= now).map(([id]) => id);
    for (const id of due) this.leaving.delete(id);
    if (due.length > 0) this.units.membersRemoved(now, due);
  }

  /**
   * A removed member must not read or forge what follows: a new key for every
   * remaining member, wrapped to its certificate key and signed by ours (a
   * MAC under the old key would prove nothing: the removed member holds it),
   * and every older key retired at once (KeyRing.rotate). A member whose
   * MACed messages carry the old key is unheard until it has the new one, so
   * the update is resent every keepalive interval until the member uses it.
   */
  private rotateKey(now: number): void {
    const next = newClusterKey(this.ctx.rng, this.freshKeyEpoch());
    this.ctx.channel.keys.rotate(next);
    this.ctx.count('master.key-rotated');
    for (const r of this.records.values()) {
      if (r.id === this.self || !r.peer || r.awaiting) continue;
      this.sendKey(now, r, next);
    }
  }

  private sendKey(now: number, r: MemberRecord, key: ClusterKey): void {
    if (!r.peer) return;
    const wrappedKey = wrapKey(key.key, r.peer.publicKey, this.ctx.rng);
    this.ctx.send(now, { type: MessageType.KeyUpdate, target: r.id, keyEpoch: key.epoch, wrappedKey }, r.id);
    r.keyResendAt = now + this.timing.watchdogMs / this.ctx.n;
  }

  private resendKeys(now: number): void {
    const key = this.ctx.channel.keys.current;
    if (!key) return;
    for (const r of this.records.values()) {
      if (r.keyResendAt > now || r.awaiting) continue;
      this.ctx.count('master.key-resent');
      this.sendKey(now, r, key);
    }
  }

  private adaptN(now: number): void {
    const members = [...this.records.values()].filter((r) => r.id !== this.self && !r.awaiting).map((r) => r.id);
    const verdict = this.loss.evaluate(now, members);
    this.ctx.n = verdict.n;
    if (verdict.alarm) {
      const raised = verdict.alarm.raised;
      this.ctx.outbox.push({ kind: 'alarm', code: 'keepalive-loss', raised, p: verdict.p });
      this.ctx.log(raised ? 'warn' : 'info', 'keepalive-loss-alarm', { raised, p: verdict.p });
    }
  }

  tick(now: number): void {
    const timeout = watchdogTimeout(this.timing.watchdogMs, this.ctx.n);
    const expired = [...this.records.values()]
      .filter((r) => r.id !== this.self && (r.awaiting ? now >= this.graceUntil : now > r.lastHeard + timeout))
      .map((r) => ({ id: r.id, why: r.awaiting ? 'did not rejoin the new master' : 'watchdog expired' }));
    // A member that is only slow (not dead) keeps serving until told: its units go to others now, and
    // after the key rotation it can read none of the orders that say so. The order is signed, not MACed.
    for (const { id } of expired) this.ctx.send(now, { type: MessageType.ExitCluster, target: id, reason: ExitReason.Removed }, id);
    this.removeAll(now, expired);
    if (now >= this.nextCertCheckAt) {
      this.nextCertCheckAt = now + this.timing.certCheckMs;
      this.checkCertificates(now);
    }
    this.joins.tick(now);
    this.resendKeys(now);
    this.releaseLeavers(now);
    this.units.releaseOwn(now);
    if (now >= this.nextKeepaliveAt) {
      this.adaptN(now);
      this.ctx.send(now, {
        type: MessageType.MasterKeepalive,
        term: this.ctx.term,
        n: this.ctx.n,
        members: [...this.records.keys()].sort((a, b) => a - b),
        tableDigest: this.ctx.view.digest(),
        maxEpoch: this.units.maxEpoch,
      });
      this.units.resend(now, this.timing.watchdogMs / this.ctx.n);
      this.nextKeepaliveAt = now + this.timing.watchdogMs / this.ctx.n;
    }
    if (now >= this.nextAnnounceAt) {
      this.announce(now);
      this.nextAnnounceAt = now + this.timing.announceMs;
    }
    if (now >= this.nextRebalanceAt) {
      if (now >= this.graceUntil) this.units.rebalance(now);
      this.nextRebalanceAt = now + this.timing.rebalanceMs;
    }
  }

  nextWakeAt(): number {
    const timeout = watchdogTimeout(this.timing.watchdogMs, this.ctx.n);
    let t = Math.min(this.nextKeepaliveAt, this.nextAnnounceAt, this.nextRebalanceAt, this.nextCertCheckAt, this.joins.nextWakeAt(), this.units.nextReleaseAt());
    for (const at of this.leaving.values()) t = Math.min(t, at);
    for (const r of this.records.values()) t = Math.min(t, r.keyResendAt);
    for (const r of this.records.values()) {
      if (r.id === this.self) continue;
      t = Math.min(t, r.awaiting ? this.graceUntil : r.lastHeard + timeout + 0.001);
    }
    return t;
  }

  /** For status queries. */
  lossEstimates(): Map<MemberId, number> {
    return new Map([...this.records.keys()].map((id) => [id, this.loss.estimate(id)]));
  }
}
