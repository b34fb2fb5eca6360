/** Builds simulations from the shared test PKI: member i is 198.18.0.i with CN member-i. */
import { ControlChannel } from '../../src/cluster/membership/channel.js';
import type { ControlMessage } from '../../src/cluster/messages.js';
import { SIM_CLUSTER_ID, Simulation, type SimulationOptions } from '../../src/sim/simulation.js';
import type { SimMemberSpec, SimNode } from '../../src/sim/sim-node.js';
import { checkSafety, converged } from '../../src/sim/invariants.js';
import { standardFixtures, type StandardFixtures } from '../support/pki.js';

export type HarnessOptions = Omit<SimulationOptions, 'trust'> & { restricted?: boolean };

export async function fixtures(): Promise<StandardFixtures> {
  return standardFixtures();
}

export function memberSpec(fx: StandardFixtures, i: number, extra: Partial<SimMemberSpec> = {}): SimMemberSpec {
  const m = fx.members[i - 1];
  if (!m) throw new Error(`no fixture member ${i}`);
  return { id: m.memberId, credentials: { chain: m.chain, privateKey: m.privateKey }, ...extra };
}

export function cluster(fx: StandardFixtures, count: number, options: HarnessOptions): Simulation {
  const sim = new Simulation({ ...options, trust: options.restricted ? fx.restrictedTrust : fx.trust });
  for (let i = 1; i <= count; i++) sim.addMember(memberSpec(fx, i));
  return sim;
}

/** Check safety after every event; `strict` also forbids any unit served twice. */
export function watchSafety(sim: Simulation, strict: () => boolean): void {
  sim.afterEach.push((s) => checkSafety(s, strict()));
}

/** Run until converged, failing with the reason if it does not within `maxMs`; returns the time it took. */
export function settle(sim: Simulation, maxMs: number): number {
  const t0 = sim.now;
  const ok = sim.runUntilTrue(() => converged(sim).ok, maxMs);
  if (!ok) throw new Error(`not converged within ${maxMs} ms: ${converged(sim).why}`);
  return sim.now - t0;
}

export function masterOf(sim: Simulation): SimNode {
  const m = sim.masters();
  if (m.length !== 1 || !m[0]) throw new Error(`${m.length} masters`);
  return m[0];
}

export function spread(values: readonly number[]): number {
  return Math.max(...values) - Math.min(...values);
}

/**
 * Seals control messages as member i would (its certificate and key, the
 * simulation's cluster id and wall clock), for forgery and attack tests; MACed
 * types use whatever cluster key is put in `channel.keys`.
 */
export function impostor(fx: StandardFixtures, i: number, sim: Simulation, incarnation = 1): { channel: ControlChannel; seal: (m: ControlMessage) => Uint8Array } {
  const m = fx.members[i - 1];
  if (!m) throw new Error(`no fixture member ${i}`);
  const channel = new ControlChannel({
    self: m.memberId,
    clusterId: SIM_CLUSTER_ID,
    configVersion: 1,
    incarnation,
    credentials: { chain: m.chain, privateKey: m.privateKey },
    trust: fx.trust,
    timing: sim.timing,
    maxSkewMs: 30_000,
  });
  return { channel, seal: (msg) => channel.seal(msg, Math.floor(sim.clock.wallNow())) };
}
