/**
 * "No membership change at all" while something runs against a lab cluster:
 * a baseline of every member (its daemon's PID, role, master, term, cluster
 * key epoch, member count, and its membership counters), polls of the same
 * through the admin sockets while the load runs, and at the end the members'
 * own logs since the baseline.
 *
 *   steady = await SteadyMembership.begin(cluster, n) ─► polls every 250 ms
 *   ... load ...
 *   problems = await steady.end() ─► [] when nothing changed
 *
 * A poll a member does not answer in time (a loaded admin socket) is not a
 * change by itself; term and key epoch are monotonic, so the final poll, the
 * counters and the logs still show any election or removal that happened
 * between polls.
 */
import { readFileSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { MemberObservation } from '../../src/lab/members-cluster.js';
import type { LabCluster } from './lab-cluster.js';

/** Core counters that grow only when membership changes: removals, watchdogs, elections. */
export const MEMBERSHIP_COUNTERS = [
  'master.member-removed',
  'member.master-watchdog',
  'member.master-restarted',
  'master.tie-break-lost',
  'master.tie-break-won',
  'excluded',
  'left',
] as const;

/** Log events that only a membership change writes. */
const CHANGE_EVENTS = ['"event":"member-removed"', '"event":"joining"', '"event":"role"', '"event":"members"'];

interface MemberState {
  pid: number | null;
  role: string;
  master: string | null;
  term: number;
  keyEpoch: number;
  members: number;
  counters: Record<string, number>;
}

const POLL_MS = 250;

function stateOf(o: MemberObservation): MemberState | null {
  const s = o.status;
  if (!s) return null;
  return { pid: o.pid, role: s.role, master: s.master, term: s.term, keyEpoch: s.keyEpoch, members: s.members, counters: s.counters };
}

function differences(member: number, base: MemberState, now: MemberState): string[] {
  const out: string[] = [];
  for (const k of ['pid', 'role', 'master', 'term', 'keyEpoch', 'members'] as const) {
    if (base[k] !== now[k]) out.push(`m${member} ${k} ${String(base[k])} -> ${String(now[k])}`);
  }
  for (const c of MEMBERSHIP_COUNTERS) {
    const was = base.counters[c] ?? 0;
    const is = now.counters[c] ?? 0;
    if (is !== was) out.push(`m${member} counter ${c} ${was} -> ${is}`);
  }
  return out;
}

export class SteadyMembership {
  readonly #problems = new Set<string>();
  #polls = 0;
  #unanswered = 0;
  #stop = false;
  readonly #loop: Promise<void>;

  private constructor(
    private readonly cluster: LabCluster,
    private readonly base: Map<number, MemberState>,
    private readonly logOffsets: Map<number, number>,
  ) {
    this.#loop = this.poll();
  }

  /** Take the baseline (every one of `expected` members must answer) and start polling. */
  static async begin(cluster: LabCluster, expected: number): Promise<SteadyMembership> {
    const obs = await cluster.members.observe(cluster.name, 2000);
    const base = new Map<number, MemberState>();
    for (const o of obs) {
      const s = stateOf(o);
      if (s) base.set(o.member, s);
    }
    if (base.size !== expected) throw new Error(`baseline: ${base.size} of ${expected} members answered`);
    const offsets = new Map<number, number>();
    for (const m of base.keys()) offsets.set(m, statSync(cluster.members.files(cluster.name, m).log).size);
    return new SteadyMembership(cluster, base, offsets);
  }

  /** The baseline's master address and term. */
  get master(): { address: string | null; term: number } {
    const any = [...this.base.values()][0];
    return { address: any?.master ?? null, term: any?.term ?? 0 };
  }

  private async poll(): Promise<void> {
    while (!this.#stop) {
      await this.compare(500);
      await sleep(POLL_MS);
    }
  }

  private async compare(timeoutMs: number): Promise<number> {
    const obs = await this.cluster.members.observe(this.cluster.name, timeoutMs);
    this.#polls++;
    let answered = 0;
    for (const [member, base] of this.base) {
      const o = obs.find((x) => x.member === member);
      const now = o ? stateOf(o) : null;
      if (o && o.pid !== base.pid) this.#problems.add(`m${member} pid ${base.pid} -> ${String(o.pid)}`);
      if (!now) {
        this.#unanswered++;
        continue;
      }
      answered++;
      for (const d of differences(member, base, now)) this.#problems.add(d);
    }
    return answered;
  }

  /**
   * Stop polling; one last full comparison (every member must answer within
   * a few seconds), then the members' logs since the baseline. Returns every
   * change seen, and the poll figures.
   */
  async end(): Promise<{ problems: string[]; polls: number; unanswered: number }> {
    this.#stop = true;
    await this.#loop;
    let answered = 0;
    for (let i = 0; i < 10 && answered < this.base.size; i++) answered = await this.compare(2000);
    if (answered < this.base.size) this.#problems.add(`final poll: ${answered} of ${this.base.size} members answered`);
    for (const [member, offset] of this.logOffsets) {
      const text = readFileSync(this.cluster.members.files(this.cluster.name, member).log).subarray(offset).toString('utf8');
      for (const line of text.split('\n')) {
        if (CHANGE_EVENTS.some((e) => line.includes(e))) this.#problems.add(`m${member} log: ${line.slice(0, 240)}`);
      }
    }
    return { problems: [...this.#problems], polls: this.#polls, unanswered: this.#unanswered };
  }
}
