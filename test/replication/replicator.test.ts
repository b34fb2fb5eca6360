import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/lib/random.js';
import { decodeRecords, encodeRecords, type StateRecord } from '../../src/replication/records.js';
import { BULK_END_APP, DEFAULT_REPLICATOR_OPTIONS, Replicator, type ReplicatorOutput } from '../../src/replication/replicator.js';

const APP = 1;

describe('state records codec', () => {
  it('round-trips records, tombstones included', () => {
    const records: StateRecord[] = [
      { key: 'a1', version: 1, body: Uint8Array.of(1, 2, 3) },
      { key: 'b2', version: 7, body: null },
      { key: 'ü', version: 0xffffffff, body: new Uint8Array(0) },
    ];
    const d = decodeRecords(encodeRecords(records));
    expect(d.ok).toBe(true);
    if (d.ok) expect(d.value).toEqual(records);
  });

  it('never throws on random or truncated payloads', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const d = decodeRecords(bytes);
        expect(typeof d.ok).toBe('boolean');
      }),
    );
    const good = encodeRecords([{ key: 'k', version: 3, body: Uint8Array.of(9, 9) }]);
    for (let i = 0; i < good.length; i++) expect(decodeRecords(good.subarray(0, i)).ok).toBe(false);
    expect(decodeRecords(Uint8Array.of(...good, 0)).ok).toBe(false);
  });
});

/** N replicators on a lossy, duplicating, reordering network driven by one seeded clock. */
class Net {
  now = 0;
  readonly nodes = new Map<number, Replicator>();
  /** Each node's live sessions (what its application would export for a bulk sync), by unit and key. */
  readonly live = new Map<number, Map<number, Map<string, Uint8Array>>>();
  private queue: { at: number; to: number; from: number; o: ReplicatorOutput }[] = [];
  delivered = 0;
  constructor(
    private readonly rng: SeededRandom,
    private readonly loss: number,
    readonly served: Map<number, Set<number>>,
  ) {}
  add(id: number): Replicator {
    this.live.set(id, new Map());
    const exportOwned = (unit: number) => [...(this.live.get(id)?.get(unit) ?? new Map<string, Uint8Array>())].map(([key, body]) => ({ app: APP, key, body }));
    const r = new Replicator(id, () => [...(this.served.get(id) ?? [])], exportOwned, DEFAULT_REPLICATOR_OPTIONS);
    this.nodes.set(id, r);
    return r;
  }
  /** The owner's session changed: its application state and the record it publishes. */
  publish(id: number, unit: number, key: string, body: Uint8Array | null): void {
    let byUnit = this.live.get(id)!.get(unit);
    if (!byUnit) this.live.get(id)!.set(unit, (byUnit = new Map()));
    if (body === null) byUnit.delete(key);
    else byUnit.set(key, body);
    this.nodes.get(id)!.publish(this.now, APP, unit, key, body);
  }
  emit(from: number, outs: ReplicatorOutput[]): void {
    for (const o of outs) {
      if (o.kind !== 'sync' && o.kind !== 'ack') continue;
      const targets = o.to === 'all' ? [...this.nodes.keys()].filter((n) => n !== from) : [o.to];
      for (const to of targets) {
        if (this.rng.float() < this.loss) continue;
        const copies = this.rng.float() < 0.05 ? 2 : 1;
        for (let c = 0; c < copies; c++) this.queue.push({ at: this.now + 1 + this.rng.float() * 20, to, from, o });
      }
    }
  }
  run(untilMs: number): void {
    while (this.now < untilMs) {
      this.now += 1;
      const due = this.queue.filter((q) => q.at <= this.now);
      this.queue = this.queue.filter((q) => q.at > this.now);
      for (const q of due) {
        const node = this.nodes.get(q.to);
        if (!node) continue;
        this.delivered++;
        if (q.o.kind === 'sync') this.emit(q.to, node.onSync(this.now, q.from, q.o.app, q.o.unit, q.o.syncSeq, q.o.payload));
        else if (q.o.kind === 'ack') node.onAck(q.from, q.o.syncSeq);
      }
      for (const [id, node] of this.nodes) {
        this.emit(id, node.flush(this.now));
        if (node.nextWakeAt() <= this.now) this.emit(id, node.tick(this.now));
      }
    }
  }
}

describe('Replicator', () => {
  it('delivers the newest version of every record to every member despite loss, duplicates and reordering (200 seeds)', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const rng = new SeededRandom(seed);
      const served = new Map([[1, new Set([10, 11])], [2, new Set([20])], [3, new Set<number>()]]);
      const net = new Net(rng, 0.3, served);
      const ids = [1, 2, 3];
      for (const id of ids) net.add(id);
      for (const id of ids) net.emit(id, net.nodes.get(id)!.membersChanged(0, ids, ids, []));
      const expected = new Map<string, Uint8Array | null>();
      for (let step = 0; step < 40; step++) {
        const owner = rng.float() < 0.5 ? 1 : 2;
        const unit = owner === 1 ? (rng.float() < 0.5 ? 10 : 11) : 20;
        const key = `s${rng.u32() % 6}`;
        const body = rng.float() < 0.15 ? null : Uint8Array.of(step, owner);
        net.publish(owner, unit, key, body);
        expected.set(`${unit}/${key}`, body);
        net.run(net.now + 1 + (rng.u32() % 30));
      }
      net.run(net.now + 15_000);
      for (const id of ids) {
        const node = net.nodes.get(id)!;
        for (const [k, body] of expected) {
          const [unit, key] = k.split('/');
          // The owner keeps its live sessions, not copies of their records.
          if ((id === 1 && (unit === '10' || unit === '11')) || (id === 2 && unit === '20')) continue;
          const got = node.records(APP, Number(unit)).find((r) => r.key === key);
          if (body === null) expect(got, `seed ${seed} member ${id} ${k}`).toBeUndefined();
          else expect(got?.body, `seed ${seed} member ${id} ${k}`).toEqual(body);
        }
      }
    }
  });

  it('bulk-syncs a joiner with the units each member owns, and the joiner is ready only after every bulk end', () => {
    const rng = new SeededRandom(7);
    const served = new Map([[1, new Set([5])], [2, new Set([6])], [3, new Set<number>()]]);
    const net = new Net(rng, 0, served);
    const a = net.add(1);
    const b = net.add(2);
    net.emit(1, a.membersChanged(0, [1, 2], [1, 2], []));
    net.emit(2, b.membersChanged(0, [1, 2], [1, 2], []));
    net.publish(1, 5, 'x', Uint8Array.of(1));
    net.publish(2, 6, 'y', Uint8Array.of(2));
    net.run(100);
    const c = net.add(3);
    const joined = c.membersChanged(net.now, [1, 2, 3], [1, 2, 3], []);
    expect(c.ready).toBe(false);
    expect(joined.some((o) => o.kind === 'ready')).toBe(false);
    net.emit(3, joined);
    net.emit(1, a.membersChanged(net.now, [1, 2, 3], [3], []));
    net.emit(2, b.membersChanged(net.now, [1, 2, 3], [3], []));
    net.run(net.now + 200);
    expect(c.ready).toBe(true);
    expect(c.records(APP, 5).map((r) => r.key)).toEqual(['x']);
    expect(c.records(APP, 6).map((r) => r.key)).toEqual(['y']);
    expect(c.counters.get('bulk-end.received')).toBeGreaterThanOrEqual(2); // a duplicate may arrive too
  });

  it('a joiner is ready once the members it waits for leave, or after the bulk timeout', () => {
    const c = new Replicator(3, () => [], () => []);
    c.membersChanged(0, [1, 2, 3], [1, 2, 3], []);
    expect(c.ready).toBe(false);
    const out = c.onSync(10, 1, BULK_END_APP, 0, 1, new Uint8Array(0));
    expect(out[0]).toMatchObject({ kind: 'ack', to: 1 });
    expect(c.ready).toBe(false);
    const left = c.membersChanged(20, [1, 3], [], [2]);
    expect(left.find((o) => o.kind === 'ready')).toMatchObject({ timedOut: false });
    expect(c.ready).toBe(true);

    const d = new Replicator(4, () => [], () => []);
    d.membersChanged(0, [1, 4], [1, 4], []);
    expect(d.tick(DEFAULT_REPLICATOR_OPTIONS.bulkTimeoutMs - 1).some((o) => o.kind === 'ready')).toBe(false);
    expect(d.tick(DEFAULT_REPLICATOR_OPTIONS.bulkTimeoutMs).find((o) => o.kind === 'ready')).toMatchObject({ timedOut: true });
  });

  it('the first member is ready at once; an older version never replaces a newer one', () => {
    const a = new Replicator(1, () => [], () => []);
    expect(a.membersChanged(0, [1], [1], []).some((o) => o.kind === 'ready')).toBe(true);
    const b = new Replicator(2, () => [], () => []);
    b.onSync(0, 1, APP, 3, 1, encodeRecords([{ key: 'k', version: 5, body: Uint8Array.of(5) }]));
    b.onSync(1, 1, APP, 3, 2, encodeRecords([{ key: 'k', version: 4, body: Uint8Array.of(4) }]));
    expect(b.records(APP, 3)[0]?.body).toEqual(Uint8Array.of(5));
    expect(b.counters.get('stale')).toBe(1);
    expect(b.onSync(2, 1, APP, 3, 3, Uint8Array.of(1, 2))).toEqual([]);
    expect(b.counters.get('drop.malformed')).toBe(1);
  });

  it('an owner keeps no copy of its own records; a record it takes over continues its version', () => {
    const a = new Replicator(1, () => [7], () => []);
    a.onSync(0, 2, APP, 7, 1, encodeRecords([{ key: 'k', version: 9, body: Uint8Array.of(1) }]));
    expect(a.records(APP, 7)).toHaveLength(1);
    a.membersChanged(0, [1, 2], [1, 2], []);
    a.publish(1, APP, 7, 'k', Uint8Array.of(2)); // taken over: the replica becomes the live session
    expect(a.records(APP, 7)).toHaveLength(0);
    const sent = a.flush(1).find((o) => o.kind === 'sync');
    if (sent?.kind !== 'sync') throw new Error('nothing sent');
    const d = decodeRecords(sent.payload);
    expect(d.ok && d.value[0]).toEqual({ key: 'k', version: 10, body: Uint8Array.of(2) });
  });

  it('gives up on a peer that never acknowledges, bounded in time', () => {
    const a = new Replicator(1, () => [], () => []);
    a.membersChanged(0, [1, 2], [1, 2], []);
    a.publish(0, APP, 1, 'k', Uint8Array.of(1));
    a.flush(0);
    let t = 0;
    let resends = 0;
    while (a.inFlightCount > 0 && t < 60_000) {
      t = a.nextWakeAt();
      resends += a.tick(t).filter((o) => o.kind === 'sync').length;
    }
    expect(a.inFlightCount).toBe(0);
    expect(t).toBeLessThanOrEqual(DEFAULT_REPLICATOR_OPTIONS.giveUpMs);
    expect(resends).toBeGreaterThan(3);
    expect(resends).toBeLessThan(30);
    expect(a.counters.get('gave-up')).toBeGreaterThan(0);
  });
});

describe('Replicator.acked: what sequence leases wait for', () => {
  const units = (): number[] => [5];
  it('a version counts as acknowledged once every peer acked it (or left), and at once with no peers', () => {
    const r = new Replicator(1, units, () => []);
    r.membersChanged(0, [1, 2, 3], [2, 3], []);
    const v = r.publish(0, APP, 5, 'sa', Uint8Array.of(1));
    expect(r.acked(APP, 5, 'sa')).toBe(0);
    const sync = r.flush(0).find((o) => o.kind === 'sync');
    if (sync?.kind !== 'sync') throw new Error('no sync');
    r.onAck(2, sync.syncSeq);
    expect(r.acked(APP, 5, 'sa')).toBe(0);
    r.onAck(3, sync.syncSeq);
    expect(r.acked(APP, 5, 'sa')).toBe(v);

    const v2 = r.publish(1, APP, 5, 'sa', Uint8Array.of(2));
    const sync2 = r.flush(1).find((o) => o.kind === 'sync');
    if (sync2?.kind !== 'sync') throw new Error('no sync');
    r.onAck(2, sync2.syncSeq);
    r.membersChanged(2, [1, 2], [], [3]); // 3 was removed: no longer waited for
    expect(r.acked(APP, 5, 'sa')).toBe(v2);

    const alone = new Replicator(1, units, () => []);
    const v3 = alone.publish(0, APP, 5, 'sa', Uint8Array.of(3));
    expect(alone.acked(APP, 5, 'sa')).toBe(0);
    alone.flush(0);
    expect(alone.acked(APP, 5, 'sa')).toBe(v3);
  });

  it('a joiner is waited for too (its bulk sync acknowledges nothing); a given-up message never counts', () => {
    const r = new Replicator(1, units, () => [{ app: APP, key: 'sa', body: Uint8Array.of(1) }], { ...DEFAULT_REPLICATOR_OPTIONS, giveUpMs: 100 });
    r.membersChanged(0, [1, 2], [2], []);
    const syncs = (outs: ReplicatorOutput[]): number[] => outs.flatMap((o) => (o.kind === 'sync' ? [o.syncSeq] : []));
    r.publish(0, APP, 5, 'sa', Uint8Array.of(1));
    for (const seq of syncs(r.flush(0))) r.onAck(2, seq);
    const bulk = syncs(r.membersChanged(1, [1, 2, 4], [4], []));
    const v2 = r.publish(2, APP, 5, 'sa', Uint8Array.of(2));
    const sent = syncs(r.flush(2));
    for (const seq of sent) r.onAck(2, seq);
    for (const seq of bulk) r.onAck(4, seq);
    expect(r.acked(APP, 5, 'sa')).toBe(v2 - 1);
    for (const seq of sent) r.onAck(4, seq);
    expect(r.acked(APP, 5, 'sa')).toBe(v2);
    r.publish(3, APP, 5, 'sa', Uint8Array.of(3));
    r.flush(3);
    r.tick(500);
    expect(r.acked(APP, 5, 'sa')).toBe(v2);
  });
});
