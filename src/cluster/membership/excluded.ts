/**
 * Out of the cluster for our config version: the master's version is
 * authoritative, and a member whose version differs serves nothing.
 *
 *   JOIN_NAK config-version, or CONFIG_VERSION_EXIT from our master
 *     ─► release every unit, report the exclusion (both versions), stay out
 *   MASTER_ANNOUNCE (signed) with our config version ─► join again
 *   MASTER_ANNOUNCE with another version ──────────────► stay out (no asking, so no flapping)
 *   our own version changes (MemberCore.setConfigVersion) ─► join again
 *   no master heard for QUIET_ANNOUNCES announce periods ─► join again: there is
 *     no cluster left to defer to, so we may form one (and are refused again if
 *     a master with another version answers after all)
 *
 * Only MASTER_ANNOUNCE is listened to: it is signed, so it verifies after the
 * master rotated the cluster key behind us.
 */
import { MessageType, type Header } from '../messages.js';
import type { Exclusion } from './actions.js';
import type { Inbound } from './channel.js';
import type { MembershipContext } from './context.js';
import type { Role, RoleSwitch } from './role.js';

/** Announce periods of silence after which an excluded member stops waiting for a master. */
export const QUIET_ANNOUNCES = 5;

/** The one-line reason both sides use. */
export function exclusionReason(own: number, master: number): string {
  return `config version ${own} differs from the master's ${master}`;
}

export class ExcludedRole implements Role {
  private lastHeard = 0;

  constructor(
    private readonly ctx: MembershipContext,
    private readonly roles: RoleSwitch,
  ) {}

  private get quietMs(): number {
    return QUIET_ANNOUNCES * this.ctx.cfg.timing.announceMs;
  }

  enter(now: number, why: Exclusion): void {
    const ctx = this.ctx;
    this.lastHeard = now;
    ctx.count('excluded');
    ctx.lose([...ctx.served.keys()]);
    ctx.heardJoins.clear();
    ctx.setMembers([]);
    this.report(why);
    ctx.setRole('excluded', null);
  }

  private report(why: Exclusion): void {
    this.ctx.exclusion = why;
    this.ctx.outbox.push({ kind: 'excluded', ...why });
  }

  wants(header: Header): boolean {
    return header.type === MessageType.MasterAnnounce;
  }

  onMessage(now: number, { header, message }: Inbound): void {
    if (message.type !== MessageType.MasterAnnounce) return;
    const ctx = this.ctx;
    this.lastHeard = now;
    ctx.term = Math.max(ctx.term, message.term);
    if (message.configVersion === ctx.configVersion) {
      this.roles.toJoining(now, 'a master has our config version');
      return;
    }
    const was = ctx.exclusion;
    if (was && was.masterConfigVersion !== message.configVersion) {
      // Another master with yet another version: still out, but say so with the versions of now.
      const reason = exclusionReason(ctx.configVersion, message.configVersion);
      this.report({ master: header.sender, configVersion: ctx.configVersion, masterConfigVersion: message.configVersion, reason });
    }
  }

  tick(now: number): void {
    if (now >= this.lastHeard + this.quietMs) this.roles.toJoining(now, 'no master heard while excluded');
  }

  nextWakeAt(): number {
    return this.lastHeard + this.quietMs;
  }
}
