/**
 * The master's join desk (patent Figures 8C–8D).
 *
 *   JOIN_REQUEST ─► certificate checked by the channel (refusal → NAK with the reason)
 *               ─► config version ≠ ours → NAK config-version
 *               ─► NAK in-progress, ask every application (asynchronously)
 *                    ├─ all approve ─► admit: OK_TO_JOIN with the cluster key
 *                    ├─ a veto ──────► NAK vetoed, with the application's reason
 *                    └─ no verdict in time ─► NAK busy (the joiner retries)
 *
 * A repeated request with the same nonce gets the same answer again, without
 * asking the applications twice.
 */
import type { Approval } from '../../apps/application.js';
import { bytesEqual } from '../../lib/bytes.js';
import type { VerifiedPeer } from '../auth/trust.js';
import { MessageType, NakReason, type JoinRequest, type OkToJoin } from '../messages.js';
import { isSaneEpoch, MAX_EPOCH, type MemberId } from '../types.js';
import type { MembershipContext } from './context.js';
import { exclusionReason } from './excluded.js';
import { NakLimiter } from './nak-limit.js';

/**
 * Why a join's epochs cannot be taken (null when they can): a master starts
 * above the joiner's maxEpoch and adopts its served epochs, so one beyond
 * MAX_EPOCH would push the next epoch past the u32 field.
 */
export function joinEpochProblem(req: JoinRequest): string | null {
  if (!isSaneEpoch(req.maxEpoch)) return `maxEpoch ${req.maxEpoch} is beyond the limit ${MAX_EPOCH}`;
  const bad = req.served.find((s) => !isSaneEpoch(s.epoch));
  return bad === undefined ? null : `unit ${bad.unit} epoch ${bad.epoch} is beyond the limit ${MAX_EPOCH}`;
}

export interface Admission {
  member: MemberId;
  incarnation: number;
  nonce: Uint8Array;
  peer: VerifiedPeer;
  /** The chain the request carried: checked again while the member stays (expiry, revocation). */
  chain: Uint8Array[];
  request: JoinRequest;
}

interface PendingJoin extends Admission {
  requestId: number;
  deadline: number;
}

export class JoinDesk {
  private readonly pending = new Map<MemberId, PendingJoin>();
  private readonly answered = new Map<MemberId, { nonce: Uint8Array; ok: OkToJoin }>();
  private nextRequestId = 1;
  private readonly nakLimit = new NakLimiter();

  constructor(
    private readonly ctx: MembershipContext,
    private readonly admit: (now: number, a: Admission) => OkToJoin,
    private readonly admitted: (now: number) => void,
  ) {}

  onRequest(now: number, sender: MemberId, incarnation: number, peer: VerifiedPeer, chain: Uint8Array[], req: JoinRequest): void {
    const done = this.answered.get(sender);
    if (done && bytesEqual(done.nonce, req.nonce)) {
      this.ctx.send(now, done.ok, sender);
      return;
    }
    const epochProblem = joinEpochProblem(req);
    if (epochProblem !== null) {
      this.ctx.count('master.bad-epoch-nak');
      this.nak(now, sender, req.nonce, NakReason.BadRequest, epochProblem);
      return;
    }
    if (req.configVersion !== this.ctx.configVersion) {
      this.ctx.count('master.config-version-nak');
      this.nak(now, sender, req.nonce, NakReason.ConfigVersion, exclusionReason(req.configVersion, this.ctx.configVersion));
      return;
    }
    const waiting = this.pending.get(sender);
    if (!waiting || !bytesEqual(waiting.nonce, req.nonce)) {
      const requestId = this.nextRequestId++;
      this.pending.set(sender, {
        requestId,
        member: sender,
        incarnation,
        nonce: req.nonce,
        peer,
        chain,
        request: req,
        deadline: now + this.ctx.cfg.timing.approvalTimeoutMs,
      });
      this.ctx.outbox.push({
        kind: 'approve-join',
        requestId,
        candidate: {
          memberId: sender,
          subject: peer.subject,
          configVersion: req.configVersion,
          served: req.served.map((s) => s.unit),
        },
      });
    }
    this.nak(now, sender, req.nonce, NakReason.InProgress, 'waiting for the applications');
  }

  /** The applications' combined verdict for a request (first veto wins). */
  verdict(now: number, requestId: number, approval: Approval): void {
    const p = [...this.pending.values()].find((x) => x.requestId === requestId);
    if (!p) return; // timed out or superseded
    this.pending.delete(p.member);
    if (!approval.approve) {
      this.nak(now, p.member, p.nonce, NakReason.Vetoed, approval.reason);
      return;
    }
    const ok = this.admit(now, p);
    this.answered.set(p.member, { nonce: p.nonce, ok });
    this.ctx.send(now, ok, p.member);
    this.admitted(now);
  }

  refuseCertificate(now: number, sender: MemberId, nonce: Uint8Array, notAllowed: boolean, detail: string): void {
    this.nak(now, sender, nonce, notAllowed ? NakReason.NotAllowed : NakReason.BadCertificate, detail);
  }

  /** The member was removed: a later request from it is a new join. */
  forget(member: MemberId): void {
    this.answered.delete(member);
  }

  tick(now: number): void {
    for (const p of [...this.pending.values()]) {
      if (now < p.deadline) continue;
      this.pending.delete(p.member);
      this.ctx.count('master.approval-timeout');
      this.nak(now, p.member, p.nonce, NakReason.Busy, 'the applications did not answer in time');
    }
  }

  nextWakeAt(): number {
    let t = Infinity;
    for (const p of this.pending.values()) t = Math.min(t, p.deadline);
    return t;
  }

  private nak(now: number, target: MemberId, nonce: Uint8Array, reason: NakReason, detail: string): void {
    if (!this.nakLimit.allow(now, target)) {
      this.ctx.count('master.nak-suppressed');
      return;
    }
    if (reason !== NakReason.InProgress) this.ctx.log('info', 'join-nak', { target, reason, detail });
    this.ctx.send(now, { type: MessageType.JoinNak, target, nonce, reason, detail, configVersion: this.ctx.configVersion }, target);
  }
}
