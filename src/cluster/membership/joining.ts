/**
 * Joining and offering (patent Figures 8A–8B).
 *
 *   JOIN_REQUEST (broadcast, signed, with the units it still serves)
 *     ├─ OK_TO_JOIN ─────────────► member (keeps only the units the master let it keep)
 *     ├─ NAK in-progress ────────► wait for the applications' verdict, re-ask
 *     ├─ NAK busy ───────────────► retry later
 *     ├─ NAK config-version ─────► excluded: release every unit, wait for matching versions
 *     ├─ NAK reason ─────────────► refused: stop and report why
 *     └─ silence for the join timeout ─► OFFER_MASTER
 *            ├─ OTHER_MASTER_EXISTS / a master's beacon / a lower offer ─► join again
 *            └─ silence for 100 ms ─► master
 *
 * The member keeps serving its units throughout: only the master's answer can
 * take them away.
 */
import { bytesEqual } from '../../lib/bytes.js';
import { unwrapKey } from '../auth/key-wrap.js';
import { MessageType, NakReason, UnitState, isPermanentNak, type Header, type JoinNak, type OkToJoin } from '../messages.js';
import type { Inbound } from './channel.js';
import type { MembershipContext } from './context.js';
import { exclusionReason } from './excluded.js';
import { joinEpochProblem } from './master-joins.js';
import type { Role, RoleSwitch } from './role.js';

type Phase = 'joining' | 'waiting' | 'offering';

const WANTED = new Set<number>([
  MessageType.JoinRequest,
  MessageType.OkToJoin,
  MessageType.JoinNak,
  MessageType.OfferMaster,
  MessageType.OtherMasterExists,
  MessageType.MasterAnnounce,
]);

export class JoiningRole implements Role {
  private phase: Phase = 'joining';
  private nonce: Uint8Array = new Uint8Array(16);
  private deadline = 0;
  private resendAt = Infinity;

  constructor(
    private readonly ctx: MembershipContext,
    private readonly roles: RoleSwitch,
  ) {}

  private get timing() {
    return this.ctx.cfg.timing;
  }

  /** Jittered so that members started together do not all offer at once. */
  private joinWait(): number {
    return this.timing.joinTimeoutMs * (1 + 0.5 * this.ctx.rng.float());
  }

  enter(now: number): void {
    this.ctx.setRole('joining', null);
    this.ask(now, true);
  }

  private ask(now: number, freshNonce: boolean): void {
    if (freshNonce) this.nonce = this.ctx.rng.bytes(16);
    this.phase = 'joining';
    this.deadline = now + this.joinWait();
    this.resendAt = Infinity;
    this.ctx.send(now, {
      type: MessageType.JoinRequest,
      configVersion: this.ctx.configVersion,
      nonce: this.nonce,
      served: this.ctx.servedList(),
      maxEpoch: this.ctx.maxEpochSeen,
    });
  }

  wants(header: Header): boolean {
    return WANTED.has(header.type);
  }

  onMessage(now: number, { header, message, chain }: Inbound): void {
    switch (message.type) {
      case MessageType.JoinRequest:
        // Its epochs would seed ours if we end up master: a master would refuse this join, so do we.
        if (joinEpochProblem(message) !== null) {
          this.ctx.count('join.heard-bad-epoch');
          return;
        }
        // Another member looking for a master: if we end up master, what it serves is not ours to take.
        this.ctx.heardJoins.set(header.sender, message.served);
        this.ctx.noteEpoch(message.maxEpoch);
        return;
      case MessageType.OkToJoin:
        if (message.target === this.ctx.cfg.self && bytesEqual(message.nonce, this.nonce)) this.accepted(now, header, message, chain);
        return;
      case MessageType.JoinNak:
        if (message.target === this.ctx.cfg.self && bytesEqual(message.nonce, this.nonce)) this.refused(now, header, message);
        return;
      case MessageType.OtherMasterExists:
        if (message.target === this.ctx.cfg.self) this.ask(now, true);
        return;
      case MessageType.OfferMaster:
        this.ctx.term = Math.max(this.ctx.term, message.term);
        // A lower address is offering: let it win, then join it. A higher one will defer to us.
        if (this.phase === 'joining' || (this.phase === 'offering' && header.sender < this.ctx.cfg.self)) this.deferTo(now);
        return;
      case MessageType.MasterAnnounce:
        this.ctx.term = Math.max(this.ctx.term, message.term);
        if (this.phase !== 'waiting') this.ask(now, false);
        return;
      default:
        return;
    }
  }

  /**
   * Someone is about to become master. Tell it at once what we serve (it may
   * have started after our last request), then ask to join once it is master.
   */
  private deferTo(now: number): void {
    if (this.phase === 'offering') this.ctx.setRole('joining', null);
    this.ask(now, false);
    this.deadline = now + this.timing.offerTimeoutMs + this.joinWait();
    this.resendAt = now + this.timing.offerTimeoutMs * 1.5;
  }

  private accepted(now: number, master: Header, ok: OkToJoin, masterChain: Uint8Array[] | null): void {
    const key = unwrapKey(ok.wrappedKey, this.ctx.cfg.credentials.privateKey);
    if (!key) {
      this.ctx.count('join.bad-key-wrap');
      return;
    }
    this.ctx.channel.keys.set({ epoch: ok.keyEpoch, key });
    this.ctx.term = Math.max(this.ctx.term, ok.term);
    this.ctx.n = ok.n;
    const keep = new Map(ok.keep.map((k) => [k.unit, k.epoch]));
    this.ctx.lose([...this.ctx.served.keys()].filter((u) => !keep.has(u)));
    for (const [unit, epoch] of keep) if (this.ctx.served.has(unit)) this.ctx.served.set(unit, epoch);
    for (const { unit, epoch } of ok.keep) this.ctx.view.set(unit, this.ctx.cfg.self, epoch, UnitState.Owned);
    this.ctx.setMembers(ok.members);
    this.ctx.heardJoins.clear();
    this.roles.toMember(now, master.sender, master.incarnation, masterChain);
  }

  private refused(now: number, master: Header, nak: JoinNak): void {
    if (nak.reason === NakReason.ConfigVersion) {
      const own = this.ctx.configVersion;
      // The master's version moved to ours since it answered: ask again.
      if (nak.configVersion === own) return this.ask(now, true);
      this.roles.toExcluded(now, { master: master.sender, configVersion: own, masterConfigVersion: nak.configVersion, reason: exclusionReason(own, nak.configVersion) });
      return;
    }
    if (nak.reason === NakReason.InProgress) {
      this.phase = 'waiting';
      this.deadline = now + this.timing.approvalTimeoutMs + this.timing.joinTimeoutMs;
      this.resendAt = now + this.timing.watchdogMs / 2;
      return;
    }
    if (!isPermanentNak(nak.reason)) {
      this.phase = 'waiting';
      this.deadline = now + this.timing.retryMs;
      this.resendAt = Infinity;
      return;
    }
    this.ctx.outbox.push({ kind: 'join-refused', reason: nak.reason, detail: nak.detail });
    this.ctx.log('warn', 'join-refused', { reason: nak.reason, detail: nak.detail });
    this.roles.toRefused(now);
  }

  tick(now: number): void {
    if (now >= this.resendAt) {
      // Same nonce: the master answers a repeat from its cache instead of asking the applications again.
      this.resendAt = Infinity;
      const deadline = this.deadline;
      const phase = this.phase;
      this.ask(now, false);
      if (phase === 'waiting') {
        this.phase = 'waiting';
        this.deadline = deadline;
        this.resendAt = now + this.timing.watchdogMs / 2;
      }
    }
    if (now < this.deadline) return;
    switch (this.phase) {
      case 'waiting':
        this.ask(now, true);
        return;
      case 'joining':
        this.phase = 'offering';
        this.ctx.setRole('offering', null);
        this.deadline = now + this.timing.offerTimeoutMs;
        this.ctx.send(now, { type: MessageType.OfferMaster, term: this.ctx.term });
        return;
      case 'offering':
        this.roles.toMaster(now);
        return;
    }
  }

  nextWakeAt(): number {
    return Math.min(this.deadline, this.resendAt);
  }
}
