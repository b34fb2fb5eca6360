import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UnitState, type TableEntry } from '../../src/cluster/messages.js';
import { UNIT_COUNT } from '../../src/cluster/types.js';
import { WorkTable, leastLoaded } from '../../src/cluster/work-table.js';
import { referenceLeastLoaded, referenceLoads } from '../support/reference-models.js';

const unit = fc.integer({ min: 0, max: UNIT_COUNT - 1 });
const owner = fc.integer({ min: 1, max: 0xffffffff });
const epoch = fc.integer({ min: 0, max: 0xffffffff });
const heldState = fc.constantFrom(UnitState.Assigning, UnitState.Owned, UnitState.Deassigning);
const anyState = fc.constantFrom(UnitState.Unassigned, UnitState.Assigning, UnitState.Owned, UnitState.Deassigning);

interface SetOp {
  unit: number;
  owner: number;
  epoch: number;
  state: UnitState;
}

/** Writes to a few owners and small epochs, so that units collide and owners repeat as in a real cluster. */
const setOp: fc.Arbitrary<SetOp> = fc.record({
  unit,
  owner: fc.oneof(fc.constantFrom(0x0a000001, 0x0a000002, 0x0a000003, 0x0a000004), owner),
  epoch: fc.oneof(fc.integer({ min: 0, max: 50 }), epoch),
  state: anyState,
});
const setOps = fc.array(setOp, { maxLength: 300 });

function tableAfter(ops: readonly SetOp[]): WorkTable {
  const t = new WorkTable();
  for (const o of ops) t.set(o.unit, o.owner, o.epoch, o.state);
  return t;
}

const hex = (d: Uint8Array): string => Buffer.from(d).toString('hex');
const EMPTY: TableEntry = { owner: 0, epoch: 0, state: UnitState.Unassigned };

describe('WorkTable entries', () => {
  it('starts with every unit unassigned at epoch 0', () => {
    const t = new WorkTable();
    expect(t.entries()).toEqual(Array.from({ length: UNIT_COUNT }, () => EMPTY));
    expect(t.unassigned()).toEqual(Array.from({ length: UNIT_COUNT }, (_, u) => u));
    expect(t.maxEpoch()).toBe(0);
    expect(hex(t.digest())).toBe(hex(new WorkTable().digest()));
  });

  it('returns what was set, through get and the single-field readers, and touches no other unit', () => {
    fc.assert(
      fc.property(unit, owner, epoch, heldState, (u, o, e, s) => {
        const t = new WorkTable();
        t.set(u, o, e, s);
        expect(t.get(u)).toEqual({ owner: o, epoch: e, state: s });
        expect([t.ownerOf(u), t.epochOf(u), t.stateOf(u)]).toEqual([o, e, s]);
        const others = t.entries().filter((_, v) => v !== u);
        expect(others.every((x) => x.owner === 0 && x.epoch === 0 && x.state === UnitState.Unassigned)).toBe(true);
      }),
      { seed: 1, numRuns: 500 },
    );
  });

  it('holds no owner for an unassigned unit, but keeps its epoch', () => {
    const t = new WorkTable();
    t.set(5, 0x0a000001, 9, UnitState.Unassigned);
    expect(t.get(5)).toEqual({ owner: 0, epoch: 9, state: UnitState.Unassigned });
  });

  it('clear() forgets the owner and keeps the epoch, so a later assignment must fence above it', () => {
    fc.assert(
      fc.property(unit, owner, epoch, heldState, (u, o, e, s) => {
        const t = new WorkTable();
        t.set(u, o, e, s);
        t.clear(u);
        expect(t.get(u)).toEqual({ owner: 0, epoch: e, state: UnitState.Unassigned });
        expect(t.unitsOf(o)).toEqual([]);
        expect(t.maxEpoch()).toBe(e);
      }),
      { seed: 2, numRuns: 300 },
    );
  });

  it.each([-1, UNIT_COUNT, 1.5, Number.NaN])('rejects unit %f with a RangeError and changes nothing', (bad) => {
    const t = new WorkTable();
    t.set(3, 0x0a000001, 4, UnitState.Owned);
    const before = { entries: t.entries(), digest: hex(t.digest()) };
    expect(() => t.set(bad, 0x0a000002, 7, UnitState.Owned)).toThrow(RangeError);
    expect(() => t.clear(bad)).toThrow(RangeError);
    expect({ entries: t.entries(), digest: hex(t.digest()) }).toEqual(before);
  });

  it('load() of a snapshot reproduces its entries and its digest, replacing what was there', () => {
    fc.assert(
      fc.property(setOps, setOps, (mine, masters) => {
        const master = tableAfter(masters);
        const member = tableAfter(mine);
        member.load(master.entries());
        expect(member.entries()).toEqual(master.entries());
        expect(hex(member.digest())).toBe(hex(master.digest()));
      }),
      { seed: 3, numRuns: 200 },
    );
  });

  it.each([0, UNIT_COUNT - 1, UNIT_COUNT + 1])('load() rejects a snapshot of %i entries', (n) => {
    const t = new WorkTable();
    expect(() => t.load(Array.from({ length: n }, () => EMPTY))).toThrow(RangeError);
  });

  it('entries() is a copy: editing it does not edit the table', () => {
    const t = new WorkTable();
    t.set(1, 0x0a000001, 1, UnitState.Owned);
    const e = t.entries();
    e[1] = EMPTY;
    expect(t.get(1)).toEqual({ owner: 0x0a000001, epoch: 1, state: UnitState.Owned });
  });
});

describe('WorkTable queries match a slow model over entries()', () => {
  it('unitsOf, unassigned and maxEpoch', () => {
    fc.assert(
      fc.property(setOps, owner, (ops, stranger) => {
        const t = tableAfter(ops);
        const entries = t.entries();
        const owners = new Set([...entries.map((e) => e.owner), stranger, 0]);
        for (const o of owners) {
          const expected = entries.flatMap((e, u) => (e.owner === o && e.state !== UnitState.Unassigned ? [u] : []));
          expect(t.unitsOf(o), `owner ${o}`).toEqual(expected);
        }
        expect(t.unassigned()).toEqual(entries.flatMap((e, u) => (e.state === UnitState.Unassigned ? [u] : [])));
        // Over what the table holds now (an overwritten epoch is gone), unassigned units included.
        const final = new Map(ops.map((o) => [o.unit, o.epoch]));
        expect(t.maxEpoch()).toBe(Math.max(0, ...final.values()));
      }),
      { seed: 4, numRuns: 200 },
    );
  });

  it('unassigned() stays right as a table fills up completely and empties again', () => {
    fc.assert(
      fc.property(
        fc.shuffledSubarray(
          Array.from({ length: UNIT_COUNT }, (_, u) => u),
          { minLength: UNIT_COUNT },
        ),
        fc.array(setOp, { maxLength: 50 }),
        (order, churn) => {
          const t = new WorkTable();
          const model = (): number[] => t.entries().flatMap((e, u) => (e.state === UnitState.Unassigned ? [u] : []));
          order.forEach((u, i) => {
            t.set(u, 0x0a000001 + (i % 3), 1, i % 2 ? UnitState.Owned : UnitState.Assigning);
            if (i % 97 === 0 || i >= UNIT_COUNT - 2) expect(t.unassigned()).toEqual(model());
          });
          expect(t.unassigned()).toEqual([]);
          for (const o of churn) {
            t.set(o.unit, o.owner, o.epoch, o.state);
            expect(t.unassigned()).toEqual(model());
          }
          for (const u of order) t.clear(u);
          expect(t.unassigned()).toHaveLength(UNIT_COUNT);
        },
      ),
      { seed: 16, numRuns: 30 },
    );
  });

  it('loads() counts assigning, owned and de-assigning units for the listed members only', () => {
    fc.assert(
      fc.property(setOps, fc.uniqueArray(fc.oneof(owner, fc.constantFrom(0x0a000001, 0x0a000003)), { maxLength: 6 }), (ops, members) => {
        const t = tableAfter(ops);
        expect(t.loads(members)).toEqual(referenceLoads(t.entries(), members));
        expect([...t.loads(members).keys()].sort()).toEqual([...members].sort());
      }),
      { seed: 5, numRuns: 300 },
    );
  });

  it('loads() example: each held state counts, unassigned and unlisted owners do not', () => {
    const [a, b, c] = [0x0a000001, 0x0a000002, 0x0a000003];
    const t = new WorkTable();
    t.set(0, a, 1, UnitState.Assigning);
    t.set(1, a, 1, UnitState.Owned);
    t.set(2, a, 1, UnitState.Deassigning);
    t.set(3, b, 1, UnitState.Owned);
    t.set(4, c, 1, UnitState.Owned);
    t.set(5, a, 1, UnitState.Unassigned);
    expect(t.loads([a, b, 0x0a000009])).toEqual(
      new Map([
        [a, 3],
        [b, 1],
        [0x0a000009, 0],
      ]),
    );
  });

  it('leastLoaded() picks the smallest load, the lower id on a tie, and null for nobody', () => {
    const loads = fc.uniqueArray(fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 4 })), {
      selector: ([m]) => m,
      maxLength: 12,
    });
    fc.assert(
      fc.property(loads, (pairs) => {
        const m = new Map(pairs);
        expect(leastLoaded(m)).toBe(referenceLeastLoaded(m));
      }),
      { seed: 6, numRuns: 2000 },
    );
    expect(leastLoaded(new Map())).toBeNull();
    expect(leastLoaded(new Map([[9, 0], [3, 0], [5, 0]]))).toBe(3);
    expect(leastLoaded(new Map([[3, 2], [9, 1]]))).toBe(9);
  });

  it('leastLoaded() over a table agrees with the model, whatever order the members are listed in', () => {
    fc.assert(
      fc.property(setOps, fc.uniqueArray(fc.constantFrom(0x0a000001, 0x0a000002, 0x0a000003, 0x0a000004, 7), { minLength: 1 }), (ops, members) => {
        const t = tableAfter(ops);
        const expected = referenceLeastLoaded(referenceLoads(t.entries(), members));
        expect(leastLoaded(t.loads(members))).toBe(expected);
        expect(leastLoaded(t.loads([...members].reverse()))).toBe(expected);
      }),
      { seed: 7, numRuns: 300 },
    );
  });
});

describe('WorkTable digest', () => {
  it('is 8 bytes and a fresh copy each time', () => {
    const t = new WorkTable();
    const d = t.digest();
    expect(d).toHaveLength(8);
    const copy = hex(d);
    d.fill(0xff);
    expect(hex(t.digest())).toBe(copy);
  });

  it('depends only on the final entries, not on the order or history of the writes', () => {
    fc.assert(
      fc.property(setOps, (ops) => {
        const incremental = tableAfter(ops);
        // Rebuild from the final state only: last write per unit, applied highest unit first.
        const final = new Map<number, SetOp>();
        for (const o of ops) final.set(o.unit, o);
        const direct = tableAfter([...final.values()].sort((a, b) => b.unit - a.unit));
        expect(direct.entries()).toEqual(incremental.entries());
        expect(hex(direct.digest())).toBe(hex(incremental.digest()));
      }),
      { seed: 8, numRuns: 500 },
    );
  });

  it('is the same for the same entries written in any order', () => {
    const entries = fc.uniqueArray(setOp, { selector: (o) => o.unit, maxLength: 200 });
    fc.assert(
      fc.property(entries.chain((es) => fc.tuple(fc.constant(es), fc.shuffledSubarray(es, { minLength: es.length }))), ([es, shuffled]) => {
        expect(hex(tableAfter(shuffled).digest())).toBe(hex(tableAfter(es).digest()));
      }),
      { seed: 9, numRuns: 300 },
    );
  });

  it('returns to its old value when a change is undone', () => {
    fc.assert(
      fc.property(setOps, setOp, (ops, change) => {
        const t = tableAfter(ops);
        const before = hex(t.digest());
        const old = t.get(change.unit);
        t.set(change.unit, change.owner, change.epoch, change.state);
        t.set(change.unit, old.owner, old.epoch, old.state);
        expect(hex(t.digest())).toBe(before);
      }),
      { seed: 10, numRuns: 500 },
    );
  });

  it('changes when the owner of any one unit changes', () => {
    fc.assert(
      fc.property(setOps, unit, owner, heldState, heldState, (ops, u, o, s1, s2) => {
        const t = tableAfter(ops);
        const cur = t.get(u);
        if (cur.state === UnitState.Unassigned) t.set(u, cur.owner || 1, cur.epoch, s1);
        const before = hex(t.digest());
        const newOwner = o === t.ownerOf(u) ? (o % 0xffffffff) + 1 : o;
        t.set(u, newOwner, t.epochOf(u), s2);
        expect(hex(t.digest())).not.toBe(before);
      }),
      { seed: 11, numRuns: 2000 },
    );
  });

  it('changes when the epoch of any one unit changes', () => {
    fc.assert(
      fc.property(setOps, unit, epoch, anyState, (ops, u, e, s) => {
        const t = tableAfter(ops);
        const before = hex(t.digest());
        const old = t.get(u);
        const newEpoch = e === old.epoch ? (e + 1) % 0x100000000 : e;
        // Keep the owner: a change to Unassigned would also drop it, so only do so if it is already 0.
        t.set(u, old.owner, newEpoch, old.owner === 0 ? s : s === UnitState.Unassigned ? UnitState.Owned : s);
        expect(hex(t.digest())).not.toBe(before);
      }),
      { seed: 12, numRuns: 2000 },
    );
  });

  it('changes for every single-unit reassignment over a large sample of a realistic table', () => {
    // 1024 units spread over 4 members at small epochs, then each unit moved, one at a time, to each other member
    // (with and without a new epoch): 1024 × 3 × 2 changes, every digest distinct from the base.
    const members = [0x0a000001, 0x0a000002, 0x0a000003, 0x0a000004];
    const t = new WorkTable();
    for (let u = 0; u < UNIT_COUNT; u++) t.set(u, members[u % 4] ?? 0, 1 + (u % 7), UnitState.Owned);
    const base = hex(t.digest());
    const seen = new Set<string>([base]);
    let changes = 0;
    for (let u = 0; u < UNIT_COUNT; u++) {
      const old = t.get(u);
      for (const m of members) {
        if (m === old.owner) continue;
        for (const e of [old.epoch, old.epoch + 1]) {
          t.set(u, m, e, UnitState.Owned);
          seen.add(hex(t.digest()));
          changes++;
        }
      }
      t.set(u, old.owner, old.epoch, old.state);
    }
    expect(hex(t.digest())).toBe(base);
    expect(seen.size).toBe(changes + 1);
  });

  it('changes when any two units move to a new epoch together (related unit/epoch pairs do not cancel)', () => {
    // A rebalance bumps the epochs of many units at once. Every pair among the first 128 units, with all units at
    // the same epoch (so that the (unit, epoch) inputs of the two entries are as alike as they get).
    for (const start of [0, 5]) {
      const t = new WorkTable();
      for (let u = 0; u < UNIT_COUNT; u++) t.set(u, 0x0a000001, start, UnitState.Owned);
      const base = hex(t.digest());
      const same: string[] = [];
      for (let u = 0; u < 128; u++) {
        for (let v = u + 1; v < 128; v++) {
          t.set(u, 0x0a000001, start + 1, UnitState.Owned);
          t.set(v, 0x0a000001, start + 1, UnitState.Owned);
          if (hex(t.digest()) === base) same.push(`${u}+${v}`);
          t.set(u, 0x0a000001, start, UnitState.Owned);
          t.set(v, 0x0a000001, start, UnitState.Owned);
        }
      }
      expect(same, `epoch ${start} → ${start + 1}`).toEqual([]);
    }
  });

  it('tells apart two units swapping owners', () => {
    fc.assert(
      fc.property(setOps, unit, unit, owner, owner, epoch, (ops, u, v, a, b, e) => {
        fc.pre(u !== v && a !== b);
        const t = tableAfter(ops);
        t.set(u, a, e, UnitState.Owned);
        t.set(v, b, e, UnitState.Owned);
        const before = hex(t.digest());
        t.set(u, b, e, UnitState.Owned);
        t.set(v, a, e, UnitState.Owned);
        expect(hex(t.digest())).not.toBe(before);
      }),
      { seed: 13, numRuns: 1000 },
    );
  });

  it('ignores a change of state alone (assigning / owned / de-assigning are the master’s bookkeeping)', () => {
    fc.assert(
      fc.property(setOps, unit, owner, epoch, heldState, heldState, (ops, u, o, e, s1, s2) => {
        const t = tableAfter(ops);
        t.set(u, o, e, s1);
        const before = hex(t.digest());
        t.set(u, o, e, s2);
        expect(t.stateOf(u)).toBe(s2);
        expect(hex(t.digest())).toBe(before);
      }),
      { seed: 14, numRuns: 500 },
    );
  });

  it('sees a unit becoming unassigned only through its owner going to 0', () => {
    fc.assert(
      fc.property(setOps, unit, owner, epoch, heldState, (ops, u, o, e, s) => {
        const t = tableAfter(ops);
        t.set(u, o, e, s);
        const held = hex(t.digest());
        t.set(u, 0, e, s); // owner 0, still "held"
        const ownerless = hex(t.digest());
        t.set(u, o, e, UnitState.Unassigned);
        expect(hex(t.digest())).toBe(ownerless);
        expect(hex(t.digest())).not.toBe(held);
      }),
      { seed: 15, numRuns: 500 },
    );
  });
});
