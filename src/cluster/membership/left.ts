/**
 * Out of the cluster because an administrator said so (`shoal cluster leave`),
 * until told to join again (`shoal cluster join`, MemberCore.rejoin).
 *
 *   enter ─► release every unit, forget the member list and the cluster key, report 'left'
 *   then silence: the master's watchdog misses our keepalives and hands our
 *     units on, exactly as after a failure (the replicas let the new owners
 *     continue our sessions); a leaving master is replaced by an election
 *   MemberCore.rejoin ─► joining, as at start
 *
 * Leaving has no message of its own: the patent's members leave by going
 * quiet, and a quiet member is what every other part already handles.
 */
import type { Header } from '../messages.js';
import type { MembershipContext } from './context.js';
import type { Role } from './role.js';

export class LeftRole implements Role {
  constructor(private readonly ctx: MembershipContext) {}

  enter(): void {
    const ctx = this.ctx;
    ctx.count('left');
    ctx.lose([...ctx.served.keys()]);
    ctx.heardJoins.clear();
    ctx.setMembers([]);
    // Without the key nothing of ours is accepted (and we accept no unit traffic) until a master gives us a new one.
    ctx.channel.keys.clear();
    ctx.log('info', 'left-cluster');
    ctx.setRole('left', null);
  }

  wants(_header: Header): boolean {
    return false;
  }

  onMessage(): void {}

  tick(): void {}

  nextWakeAt(): number {
    return Infinity;
  }
}
