/**
 * What must hold in a simulated cluster: checked after every event (safety)
 * and once the cluster has had time to settle (convergence).
 */
import { UNIT_COUNT } from '../cluster/types.js';
import type { Simulation } from './simulation.js';

export class InvariantViolation extends Error {
  constructor(
    readonly at: number,
    message: string,
  ) {
    super(`t=${at.toFixed(1)}ms: ${message}`);
    this.name = 'InvariantViolation';
  }
}

/**
 * Safety after every event, whatever the network does:
 * - no unit is served twice while the network is whole and lossless (`strictSingleOwner`);
 * - what a member serves agrees, unit by unit, with what it told its applications;
 * - no member serves a unit with an epoch above every epoch ever issued.
 * An event changes one member only, so the unit-by-unit checks look at the
 * member the event touched (`Simulation.lastTouched`); `all` checks every member.
 */
export function checkSafety(sim: Simulation, strictSingleOwner: boolean, all = false): void {
  if (strictSingleOwner && sim.tracker.doubleServed() > 0) {
    const u = [...Array(UNIT_COUNT).keys()].find((x) => sim.tracker.serversOf(x).length > 1) ?? -1;
    throw new InvariantViolation(sim.now, `unit ${u} served by ${sim.tracker.serversOf(u).join(', ')}`);
  }
  const live = sim.live();
  let maxIssued = 0;
  for (const n of live) maxIssued = Math.max(maxIssued, n.core.ctx.maxEpochSeen);
  const touched = all ? live : sim.lastTouched?.alive ? [sim.lastTouched] : [];
  for (const n of touched) {
    const served = n.core.ctx.served;
    if (served.size !== n.demo.units.size) {
      throw new InvariantViolation(sim.now, `member ${n.id} serves ${served.size} units but told its apps ${n.demo.units.size}`);
    }
    for (const [u, e] of served) {
      if (!n.demo.units.has(u)) throw new InvariantViolation(sim.now, `member ${n.id} serves unit ${u} without telling its apps`);
      if (e > maxIssued) throw new InvariantViolation(sim.now, `member ${n.id} serves unit ${u} at epoch ${e} > ${maxIssued}`);
    }
  }
}

export interface Convergence {
  ok: boolean;
  why: string;
}

/**
 * The settled state of a whole network: one master; every live member is its
 * member and agrees on the member list; every unit served by exactly one live
 * member, which is the owner in the master's table. A member excluded for its
 * config version is outside the cluster: it must serve nothing, and the rest
 * must have converged without it.
 */
export function converged(sim: Simulation): Convergence {
  const excluded = sim.live().filter((n) => n.role === 'excluded');
  for (const n of excluded) if (n.core.ctx.served.size > 0) return { ok: false, why: `excluded member ${n.id} serves ${n.core.ctx.served.size} units` };
  const live = sim.live().filter((n) => n.role !== 'excluded');
  const masters = live.filter((n) => n.role === 'master');
  if (masters.length !== 1) return { ok: false, why: `${masters.length} masters` };
  const master = masters[0];
  if (!master) return { ok: false, why: 'no master' };
  const ids = live.map((n) => n.id).sort((a, b) => a - b);
  for (const n of live) {
    if (n.role !== 'master' && (n.role !== 'member' || n.core.ctx.master !== master.id)) {
      return { ok: false, why: `member ${n.id} is ${n.role} under ${n.core.ctx.master}` };
    }
    if (n.core.ctx.members.join() !== ids.join()) {
      return { ok: false, why: `member ${n.id} sees members ${n.core.ctx.members.join()} not ${ids.join()}` };
    }
  }
  const table = master.core.ctx.view;
  for (let u = 0; u < UNIT_COUNT; u++) {
    const servers = sim.tracker.serversOf(u);
    if (servers.length !== 1) return { ok: false, why: `unit ${u} has ${servers.length} servers` };
    if (table.ownerOf(u) !== servers[0]) return { ok: false, why: `unit ${u} served by ${servers[0]} but owned by ${table.ownerOf(u)}` };
  }
  return { ok: true, why: '' };
}

/** Units per live member, from what they serve. */
export function loads(sim: Simulation): number[] {
  return sim.live().map((n) => n.core.ctx.served.size);
}
