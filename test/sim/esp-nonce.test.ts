/**
 * No AEAD nonce is ever sent twice, across every member, when a partition
 * leaves a cut member serving its units while the other side reassigns them,
 * then heals (issue 11). Each member runs the real Replicator over the real
 * cores (StateSync/StateAck through the simulated network), the real
 * SequenceLease and the real IV construction (writeAeadIv, ivTagOf); what is
 * modelled is only the ESP SA itself: a record holding its lease mark, and
 * bursts of packets on the SAs of the units a member serves, idle between.
 *
 *   serves unit ─► lease allows? ─► IV = tag ‖ seq ─► global set of (SA, IV): a repeat fails the run
 *   units gained ─► start after max(record mark, what this member sent before) ─► own lease, acked first
 *   units lost ─► final record, remember what was sent
 */
import { describe, expect, it } from 'vitest';
import { ivTagOf, writeAeadIv } from '../../src/apps/ipsec/esp/aead-iv.js';
import { SequenceLease } from '../../src/apps/ipsec/replication/seq-lease.js';
import type { Action } from '../../src/cluster/membership/actions.js';
import type { MemberCore } from '../../src/cluster/membership/core.js';
import type { MemberId, UnitId } from '../../src/cluster/types.js';
import { Replicator, type ReplicatorOutput } from '../../src/replication/replicator.js';
import type { Simulation } from '../../src/sim/simulation.js';
import { cluster, fixtures, settle } from './harness.js';

const APP = 1;
const SAS = 24;
const LIMIT = 0xffffffff;
const CHUNK = 512;
const SEEDS = Number(process.env.SHOAL_NONCE_SEEDS ?? 6);
const unitOf = (sa: number): UnitId => (sa * 37 + 5) % 1024;
const keyOf = (sa: number): string => `sa${sa}`;
const markBody = (mark: number): Uint8Array => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, mark);
  return b;
};
const markOf = (b: Uint8Array): number => new DataView(b.buffer, b.byteOffset, 8).getFloat64(0);

interface World {
  sim: Simulation;
  /** Per SA and IV tag, the IV counters sent, as runs [first, last] (IVs of one burst are consecutive). */
  ivs: Map<string, [number, number][]>;
  repeats: string[];
  sent: number;
  refused: number;
  rng: () => number;
}

/** One member incarnation's ESP state: its replicator, its SAs, what it sent on SAs it let go of. */
class EspMember {
  readonly replicator: Replicator;
  readonly owned = new Map<number, { lease: SequenceLease; last: number }>();
  private readonly usedBefore = new Map<number, number>();

  constructor(
    private readonly w: World,
    readonly id: MemberId,
    private readonly core: MemberCore,
  ) {
    this.replicator = new Replicator(id, () => core.servedUnits(), (unit) => this.exportOwned(unit));
  }

  private exportOwned(unit: UnitId): { app: number; key: string; body: Uint8Array }[] {
    return [...this.owned].filter(([sa]) => unitOf(sa) === unit).map(([sa, s]) => ({ app: APP, key: keyOf(sa), body: markBody(Math.max(s.lease.mark, s.last)) }));
  }

  apply(outs: readonly ReplicatorOutput[]): void {
    for (const o of outs) {
      if (o.kind === 'sync') this.w.sim.drive(this.id, (c, now) => c.stateSync(now, o.to, o.app, o.unit, o.syncSeq, o.payload));
      else if (o.kind === 'ack') this.w.sim.drive(this.id, (c, now) => c.stateAck(now, o.to, o.app, o.unit, o.syncSeq));
    }
  }

  private publish(now: number, sa: number, mark: number): number {
    const v = this.replicator.publish(now, APP, unitOf(sa), keyOf(sa), markBody(mark));
    this.apply(this.replicator.flush(now));
    return v;
  }

  /** The first owner creates the SAs of its units (an IKE_AUTH there); later owners adopt them from records. */
  gained(now: number, units: readonly UnitId[], createNew: boolean): void {
    const set = new Set(units);
    for (let sa = 0; sa < SAS; sa++) {
      if (!set.has(unitOf(sa)) || this.owned.has(sa)) continue;
      const rec = this.replicator.records(APP, unitOf(sa)).find((r) => r.key === keyOf(sa));
      if (!rec?.body && !createNew) continue; // no record here: this member cannot have the SA
      const start = Math.max(rec?.body ? markOf(rec.body) : 0, this.usedBefore.get(sa) ?? 0);
      const lease = new SequenceLease(start, LIMIT, !rec?.body);
      if (rec?.body) lease.extend(now, start, 0);
      const s = { lease, last: start };
      this.owned.set(sa, s);
      lease.published(this.publish(now, sa, Math.max(lease.mark, s.last)));
    }
  }

  lost(now: number, units: readonly UnitId[]): void {
    const set = new Set(units);
    for (const [sa, s] of [...this.owned]) {
      if (!set.has(unitOf(sa))) continue;
      this.publish(now, sa, Math.max(s.lease.mark, s.last)); // the final record
      this.usedBefore.set(sa, s.last);
      this.owned.delete(sa);
    }
  }

  /**
   * A burst on each SA this member serves now (most SAs idle most of the
   * time), in chunks of at most CHUNK packets: the lease is checked (and
   * extended) before each chunk, as the handler does before each packet.
   */
  send(now: number): void {
    if (!this.replicator.ready) return;
    const tag = ivTagOf(this.id);
    for (const [sa, s] of this.owned) {
      if (!this.core.serves(unitOf(sa))) continue;
      let n = this.w.rng() < 0.1 ? Math.floor(this.w.rng() * 100_000) : 0;
      while (n > 0) {
        const lease = s.lease;
        if (lease.pending) lease.acknowledged(this.replicator.acked(APP, unitOf(sa), keyOf(sa)));
        if (lease.wantsExtension(now, s.last)) {
          lease.extend(now, s.last, 10_000);
          lease.published(this.publish(now, sa, lease.mark));
          lease.acknowledged(this.replicator.acked(APP, unitOf(sa), keyOf(sa)));
        }
        const take = Math.min(n, lease.granted - s.last, CHUNK);
        if (take <= 0) {
          this.w.refused += n;
          break;
        }
        this.record(sa, this.ivCounter(tag, s.last + 1), this.ivCounter(tag, s.last + take), tag);
        s.last += take;
        n -= take;
        this.w.sent += take;
      }
    }
  }

  /** The IV the real construction writes for `seq`, read back as (tag, 48-bit counter): checks the tag went in. */
  private ivCounter(tag: number, seq: number): number {
    const iv = new Uint8Array(8);
    writeAeadIv(iv, 0, tag, Math.floor(seq / 2 ** 32), seq >>> 0);
    const v = new DataView(iv.buffer);
    expect(v.getUint16(0)).toBe(tag);
    return v.getUint16(2) * 2 ** 32 + v.getUint32(4);
  }

  private record(sa: number, first: number, last: number, tag: number): void {
    const k = `${sa}/${tag}`;
    let runs = this.w.ivs.get(k);
    if (!runs) this.w.ivs.set(k, (runs = []));
    for (const [a, b] of runs) if (first <= b && a <= last) this.w.repeats.push(`SA ${sa} tag ${tag}: IVs ${Math.max(a, first)}..${Math.min(b, last)} again (member ${this.id})`);
    const prev = runs.at(-1);
    if (prev && prev[1] + 1 === first) prev[1] = last;
    else runs.push([first, last]);
  }
}

function attach(sim: Simulation, seed: number): World {
  let x = seed * 2654435761;
  const w: World = {
    sim,
    ivs: new Map(),
    repeats: [],
    sent: 0,
    refused: 0,
    rng: () => ((x = (Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32),
  };
  const members = new Map<MemberCore, EspMember>();
  let firstOwners = true;
  const of = (id: MemberId): EspMember | null => {
    const node = sim.nodes.get(id);
    if (!node?.alive) return null;
    let m = members.get(node.core);
    if (!m) members.set(node.core, (m = new EspMember(w, id, node.core)));
    return m;
  };
  sim.actionTaps.push((id: MemberId, a: Action) => {
    const m = of(id);
    if (!m) return;
    const now = sim.now;
    if (a.kind === 'state-sync') m.apply(m.replicator.onSync(now, a.from, a.app, a.unit, a.syncSeq, a.payload));
    else if (a.kind === 'state-ack') m.replicator.onAck(a.from, a.syncSeq);
    else if (a.kind === 'members-changed') m.apply(m.replicator.membersChanged(now, a.members, a.added, a.removed));
    else if (a.kind === 'units-gained') m.gained(now, a.units, firstOwners);
    else if (a.kind === 'units-lost') {
      m.lost(now, a.units);
      m.replicator.unitsLost(a.units);
    }
  });
  const every = (ms: number, f: (m: EspMember, now: number) => void): void => {
    const step = (): void => {
      for (const n of sim.live()) {
        const m = of(n.id);
        if (m) f(m, sim.now);
      }
      sim.at(sim.now + ms, step);
    };
    sim.at(sim.now + ms, step);
  };
  every(20, (m, now) => m.apply(m.replicator.tick(now)));
  every(50, (m, now) => m.send(now));
  // once the cluster formed, SAs exist only where records say so
  sim.at(1500, () => (firstOwners = false));
  return w;
}

async function run(seed: number, partitions: number[][][]): Promise<World> {
  const fx = await fixtures();
  const sim = cluster(fx, 5, { seed });
  const w = attach(sim, seed);
  settle(sim, 1500);
  sim.runFor(1500);
  const ids = sim.live().map((n) => n.id);
  for (const sides of partitions) {
    sim.net.partition(sides.map((side) => side.map((i) => ids[i - 1]!)));
    sim.runFor(1500 + Math.floor(w.rng() * 1500));
    sim.net.heal();
    sim.runFor(2500);
  }
  return w;
}

describe('AEAD nonces across a partition that leaves a cut member serving its units', () => {
  it('no (SA, IV) pair is ever sent twice by any member, over many seeds of split, heal, split again', async () => {
    let sent = 0;
    let refused = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const w = await run(seed, [
        [[1, 2, 3, 4], [5]],
        [[1, 2], [3, 4, 5]],
        [[1, 2, 3, 4], [5]],
      ]);
      expect(w.repeats.slice(0, 3)).toEqual([]);
      expect(w.sent).toBeGreaterThan(1_000_000);
      sent += w.sent;
      refused += w.refused;
    }
    console.log(`[esp-nonce] ${SEEDS} seeds: ${sent} packets sent, ${refused} refused waiting for a lease, no (SA, IV) repeated`);
  }, 120_000);
});
