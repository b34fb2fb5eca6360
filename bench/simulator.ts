/**
 * Simulator figures, running the real membership cores (codec, MACs,
 * signatures, key wraps) on a clean simulated network (n = 2, W = 200 ms):
 *
 * - speed: simulated cluster-seconds per wall-clock second, and the control
 *   traffic delivered (bytes per simulated second, all receivers), for a
 *   steady cluster of 3, 8, 16 and 64 members;
 * - formation: from every member starting at once to one converged cluster
 *   (one master, every unit served exactly once), simulated ms;
 * - failover at scale: members SIGKILLed in the same instant (8 of 64, and
 *   the master with 7 others), simulated ms until every unit is served by
 *   exactly one survivor again.
 */
import { makeDevCluster, type DevCluster } from '../src/pki/dev-pki.js';
import { Simulation } from '../src/sim/simulation.js';
import { converged } from '../src/sim/invariants.js';
import { UNIT_COUNT } from '../src/cluster/types.js';
import { formatResult, type BenchResult } from './result.js';

const VALIDITY = { notBefore: new Date(Date.UTC(2026, 0, 1)), notAfter: new Date(Date.UTC(2030, 0, 1)) };
const NETWORK = 'clean, n=2, W=200ms';

function formed(dev: DevCluster, seed: number): { sim: Simulation; formationMs: number } {
  const sim = new Simulation({ seed, trust: dev.trust });
  for (const m of dev.members) sim.addMember({ id: m.memberId, credentials: { chain: m.chain, privateKey: m.privateKey } });
  if (!sim.runUntilTrue(() => converged(sim).ok, 10_000)) throw new Error(`cluster of ${dev.members.length} did not form: ${converged(sim).why}`);
  return { sim, formationMs: sim.now };
}

async function measure(members: number, simulatedMs: number): Promise<BenchResult[]> {
  const dev = await makeDevCluster({ count: members, ...VALIDITY });
  const { sim, formationMs } = formed(dev, 1);
  sim.runFor(5000 - sim.now); // the first rebalance: the figures are for a running cluster
  if (!converged(sim).ok) throw new Error(`cluster of ${members} did not converge: ${converged(sim).why}`);
  const bytes0 = sim.net.bytes;
  const events0 = sim.events;
  const t0 = performance.now();
  sim.runFor(simulatedMs);
  const wallMs = performance.now() - t0;
  const conditions = { members, simulated_s: simulatedMs / 1000, events: sim.events - events0, network: NETWORK };
  return [
    { name: `simulator speed, ${members} members`, figure: simulatedMs / wallMs, unit: 'simulated cluster-s per wall-s', conditions },
    { name: `simulated control traffic, ${members} members`, figure: ((sim.net.bytes - bytes0) * 1000) / simulatedMs, unit: 'bytes/s delivered (all receivers)', conditions },
    { name: `simulated formation, ${members} members`, figure: formationMs, unit: 'simulated ms to one converged cluster', conditions: { members, seed: 1, network: NETWORK } },
  ];
}

/** Kill `killed` members at once (the master among them when `withMaster`), per seed; ms until every unit is served once. */
async function failover(members: number, killed: number, withMaster: boolean, seeds: number[]): Promise<BenchResult> {
  const dev = await makeDevCluster({ count: members, ...VALIDITY });
  const times: number[] = [];
  for (const seed of seeds) {
    const { sim } = formed(dev, seed);
    sim.runFor(2500);
    const master = sim.masters()[0]?.id;
    const others = sim.live().map((n) => n.id).filter((id) => id !== master);
    const dead = withMaster && master !== undefined ? [master, ...others.slice(-(killed - 1))] : others.slice(-killed);
    const t0 = sim.now;
    for (const id of dead) sim.kill(id);
    const once = (): boolean => {
      for (let u = 0; u < UNIT_COUNT; u++) if (sim.tracker.serversOf(u).length !== 1) return false;
      return true;
    };
    if (!sim.runUntilTrue(once, 10_000)) throw new Error(`seed ${seed}: units not served once again`);
    times.push(sim.now - t0);
  }
  const sorted = [...times].sort((a, b) => a - b);
  return {
    name: `simulated failover, ${killed} of ${members} killed at once${withMaster ? ' (the master among them)' : ''}`,
    figure: sorted[sorted.length >> 1] ?? NaN,
    unit: 'simulated ms until every unit is served once (median)',
    conditions: { members, killed, master: withMaster ? 'killed' : 'survives', seeds: seeds.length, worst: Math.max(...times), network: NETWORK },
  };
}

export async function run(): Promise<BenchResult[]> {
  const seeds = [1, 2, 3, 4, 5];
  return [
    ...(await measure(3, 300_000)),
    ...(await measure(8, 120_000)),
    ...(await measure(16, 60_000)),
    ...(await measure(64, 20_000)),
    await failover(16, 4, false, seeds),
    await failover(16, 4, true, seeds),
    await failover(64, 8, false, seeds),
    await failover(64, 8, true, seeds),
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await run()) console.log(formatResult(r));
}
