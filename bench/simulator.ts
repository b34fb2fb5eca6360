/**
 * Simulator speed: simulated cluster-seconds per wall-clock second, running
 * the real membership cores (codec, MACs, signatures, key wraps) for a
 * steady cluster of 3 and 8 members, plus the control traffic the simulated
 * cluster sends (bytes per simulated second) at n = 2 on a clean network.
 */
import { makeDevCluster } from '../src/pki/dev-pki.js';
import { Simulation } from '../src/sim/simulation.js';
import { converged } from '../src/sim/invariants.js';
import { formatResult, type BenchResult } from './result.js';

const VALIDITY = { notBefore: new Date(Date.UTC(2026, 0, 1)), notAfter: new Date(Date.UTC(2030, 0, 1)) };

async function measure(members: number, simulatedMs: number): Promise<BenchResult[]> {
  const dev = await makeDevCluster({ count: members, ...VALIDITY });
  const sim = new Simulation({ seed: 1, trust: dev.trust });
  for (const m of dev.members) sim.addMember({ id: m.memberId, credentials: { chain: m.chain, privateKey: m.privateKey } });
  sim.runFor(5000); // form and rebalance first: the figure is for a running cluster
  if (!converged(sim).ok) throw new Error(`cluster of ${members} did not converge: ${converged(sim).why}`);
  const bytes0 = sim.net.bytes;
  const events0 = sim.events;
  const t0 = performance.now();
  sim.runFor(simulatedMs);
  const wallMs = performance.now() - t0;
  const conditions = { members, simulated_s: simulatedMs / 1000, events: sim.events - events0, network: 'clean, n=2, W=200ms' };
  return [
    { name: `simulator speed, ${members} members`, figure: simulatedMs / wallMs, unit: 'simulated cluster-s per wall-s', conditions },
    {
      name: `simulated control traffic, ${members} members`,
      figure: ((sim.net.bytes - bytes0) * 1000) / simulatedMs,
      unit: 'bytes/s delivered (all receivers)',
      conditions,
    },
  ];
}

export async function run(): Promise<BenchResult[]> {
  return [...(await measure(3, 300_000)), ...(await measure(8, 120_000))];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await run()) console.log(formatResult(r));
}
