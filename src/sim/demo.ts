/**
 * The simulated cluster demo behind `shoal sim` and (for now) `shoal lab`:
 * a throwaway dev PKI, N members on the deterministic simulator, and three
 * phases, each measured:
 *
 *   form      start N members at once ─► converged ─► one rebalance round
 *   failover  SIGKILL the master ─► new master ─► all units served again ─► converged
 *   join      add member N+1 ─► converged ─► the next rebalance round evens the loads
 *
 * then steady state until the requested simulated time, and the invariant
 * check. Safety (checkSafety) is checked after every event throughout.
 * The result is plain data (DemoReport), for a table, JSON or a test.
 */
import type { MemberStatus } from '../cluster/membership/core.js';
import { UNIT_COUNT, type MemberId } from '../cluster/types.js';
import { ManualClock } from '../lib/clock.js';
import { formatIpv4 } from '../lib/ipv4.js';
import { makeDevCluster, validityFrom, type MemberBundle } from '../pki/dev-pki.js';
import { demoOptions, type DemoOptions, type DemoSettings } from './demo-options.js';
import { InvariantViolation, checkSafety, converged, loads } from './invariants.js';
import { PERFECT_NETWORK } from './network.js';
import type { SimMemberSpec } from './sim-node.js';
import { Simulation } from './simulation.js';

export { DEMO_LIMITS, demoOptions, type DemoOptions, type DemoSettings } from './demo-options.js';

export interface MemberRow {
  /** Dotted IPv4 (the member id). */
  id: string;
  role: string;
  /** Units this member serves. */
  units: number;
  /** Keepalives per watchdog window. */
  n: number;
}

export interface LoadRow {
  id: string;
  before: number;
  after: number;
}

export interface DemoReport {
  /** The cluster converged at the end and no safety invariant was ever violated. */
  ok: boolean;
  /** Why ok is false ('' when it is true). */
  problem: string;
  /** Phases that fell short (slow, uneven) without failing the run: expected under heavy loss. */
  warnings: string[];
  options: DemoSettings;
  unitCount: number;
  formation: {
    converged: boolean;
    /** Simulated ms from start until converged. */
    convergedAfterMs: number | null;
    master: string | null;
    /** After convergence and one rebalance round. */
    members: MemberRow[];
  };
  /** null when there was one member only (nothing to fail over to). */
  failover: {
    killed: string;
    /** Units the killed master served. */
    orphanedUnits: number;
    newMaster: string | null;
    newMasterAfterMs: number | null;
    allUnitsServedAfterMs: number | null;
    converged: boolean;
  } | null;
  join: {
    added: string;
    /** From adding it until the cluster converged with it. */
    joinedAfterMs: number | null;
    /** From then until loads differ by ≤ 1 (the next rebalance round), or null. */
    evenAfterMs: number | null;
    loads: LoadRow[];
    /** max − min units per member after the round. */
    spread: number;
  };
  /** The members at the end of the run. */
  final: { atMs: number; master: string | null; members: MemberRow[] };
  invariants: {
    converged: boolean;
    why: string;
    /** The first safety violation (checked after every event), or null. */
    safetyViolation: string | null;
    doubleServedMs: number;
  };
  speed: {
    simulatedSeconds: number;
    wallSeconds: number;
    /** Simulated seconds per wall-clock second. */
    ratio: number;
    events: number;
  };
}

const FORM_TIMEOUT_MS = 10_000;
const FAILOVER_TIMEOUT_MS = 5_000;
const JOIN_TIMEOUT_MS = 5_000;
const SETTLE_TIMEOUT_MS = 5_000;

function rows(sim: Simulation): MemberRow[] {
  return sim
    .live()
    .map((node) => node.core.status())
    .sort((a, b) => a.self - b.self)
    .map((s: MemberStatus) => ({ id: formatIpv4(s.self), role: s.role, units: s.servedUnits, n: s.n }));
}

function loadMap(sim: Simulation): Map<MemberId, number> {
  return new Map(sim.live().map((n) => [n.id, n.core.ctx.served.size]));
}

function spreadOf(values: readonly number[]): number {
  return values.length === 0 ? 0 : Math.max(...values) - Math.min(...values);
}

/** Run the demo. Certificates are made fresh in memory; the simulation itself is deterministic per seed. */
export async function runDemo(options: DemoOptions = {}): Promise<DemoReport> {
  const opts = demoOptions(options);
  const wallMs = options.wallMs ?? (() => performance.now());

  // The simulator's wall clock is ManualClock's: certificates must be valid then.
  const simWallStart = new ManualClock(0).wallNow();
  const pki = await makeDevCluster({ count: opts.members + 1, ...validityFrom(simWallStart, 365) });
  const spec = (m: MemberBundle): SimMemberSpec => ({ id: m.memberId, credentials: m.credentials });

  const sim = new Simulation({
    seed: opts.seed,
    trust: pki.trust,
    network: { ...PERFECT_NETWORK, loss: opts.lossPercent / 100 },
  });
  const strict = opts.lossPercent === 0;
  sim.afterEach.push((s) => checkSafety(s, strict));

  const report: DemoReport = {
    ok: false,
    problem: '',
    warnings: [],
    options: opts,
    unitCount: UNIT_COUNT,
    formation: { converged: false, convergedAfterMs: null, master: null, members: [] },
    failover: null,
    join: { added: '', joinedAfterMs: null, evenAfterMs: null, loads: [], spread: 0 },
    final: { atMs: 0, master: null, members: [] },
    invariants: { converged: false, why: '', safetyViolation: null, doubleServedMs: 0 },
    speed: { simulatedSeconds: 0, wallSeconds: 0, ratio: 0, events: 0 },
  };
  const isConverged = (): boolean => converged(sim).ok;
  /** Run until `done` or `maxMs`; the ms it took, or null. */
  const timed = (done: () => boolean, maxMs: number): number | null => {
    const t0 = sim.now;
    return sim.runUntilTrue(done, maxMs) ? sim.now - t0 : null;
  };
  const warnings = report.warnings;
  const problems: string[] = [];

  const wall0 = wallMs();
  try {
    // Form.
    const initial = pki.members.slice(0, opts.members);
    for (const m of initial) sim.addMember(spec(m));
    report.formation.convergedAfterMs = timed(isConverged, FORM_TIMEOUT_MS);
    report.formation.converged = report.formation.convergedAfterMs !== null;
    if (!report.formation.converged) warnings.push(`did not form within ${FORM_TIMEOUT_MS} ms: ${converged(sim).why}`);
    sim.runFor(sim.timing.rebalanceMs + 500);
    const master = sim.masters()[0];
    report.formation.master = master ? formatIpv4(master.id) : null;
    report.formation.members = rows(sim);

    // Fail over: kill the master.
    if (master && opts.members > 1) {
      const orphans = master.core.servedUnits();
      sim.kill(master.id);
      const killedAt = sim.now;
      const newMasterAfterMs = timed(() => sim.masters().length === 1, FAILOVER_TIMEOUT_MS);
      const served = timed(() => sim.tracker.unserved().length === 0, FAILOVER_TIMEOUT_MS);
      const allUnitsServedAfterMs = served === null ? null : sim.now - killedAt;
      const settled = timed(isConverged, SETTLE_TIMEOUT_MS) !== null;
      const newMaster = sim.masters()[0];
      report.failover = {
        killed: formatIpv4(master.id),
        orphanedUnits: orphans.length,
        newMaster: newMaster ? formatIpv4(newMaster.id) : null,
        newMasterAfterMs,
        allUnitsServedAfterMs,
        converged: settled,
      };
      if (!settled) warnings.push(`did not converge after the master died: ${converged(sim).why}`);
    }

    // Join: one more member, then the next rebalance round.
    const joiner = pki.members[opts.members];
    if (!joiner) throw new Error('no certificate for the joining member');
    const before = loadMap(sim);
    sim.addMember(spec(joiner));
    const joinedAfterMs = timed(() => sim.nodes.has(joiner.memberId) && isConverged(), JOIN_TIMEOUT_MS);
    const evenAfterMs =
      joinedAfterMs === null ? null : timed(() => spreadOf(loads(sim)) <= 1, sim.timing.rebalanceMs + 500);
    const after = loadMap(sim);
    report.join = {
      added: formatIpv4(joiner.memberId),
      joinedAfterMs,
      evenAfterMs,
      loads: [...after.keys()].sort((a, b) => a - b).map((id) => ({ id: formatIpv4(id), before: before.get(id) ?? 0, after: after.get(id) ?? 0 })),
      spread: spreadOf([...after.values()]),
    };
    if (joinedAfterMs === null) warnings.push(`member ${report.join.added} did not join within ${JOIN_TIMEOUT_MS} ms: ${converged(sim).why}`);
    else if (evenAfterMs === null) warnings.push(`loads not even after a rebalance round (spread ${report.join.spread})`);

    // Steady state until the requested time.
    sim.runUntil(Math.max(sim.now, opts.seconds * 1000));
  } catch (e) {
    if (!(e instanceof InvariantViolation)) throw e;
    report.invariants.safetyViolation = e.message;
    problems.push(`safety violated: ${e.message}`);
  }
  const wallSeconds = (wallMs() - wall0) / 1000;

  const endMaster = sim.masters();
  report.final = { atMs: sim.now, master: endMaster.length === 1 && endMaster[0] ? formatIpv4(endMaster[0].id) : null, members: rows(sim) };
  const final = converged(sim);
  report.invariants.converged = final.ok;
  report.invariants.why = final.why;
  report.invariants.doubleServedMs = sim.tracker.doubleMs;
  if (!final.ok) problems.push(`not converged at the end: ${final.why}`);
  const simulatedSeconds = sim.now / 1000;
  report.speed = {
    simulatedSeconds,
    wallSeconds,
    ratio: wallSeconds > 0 ? simulatedSeconds / wallSeconds : 0,
    events: sim.events,
  };
  report.problem = problems.join('; ');
  report.ok = problems.length === 0;
  return report;
}
