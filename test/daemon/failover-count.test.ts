/**
 * The failover count: units gained without a hand-over marker that another
 * member owned before count; fresh assignments, rebalances (with a marker)
 * and units that were ours do not. Owners are judged as they were before
 * the batch of actions that gained the units.
 */
import { describe, expect, it } from 'vitest';
import type { Action } from '../../src/cluster/membership/actions.js';
import { FailoverCount } from '../../src/daemon/failover-count.js';

const SELF = 11;
const OTHER = 12;

/** A unit table the test changes, and a counter whose deferred refresh runs when the test says. */
function setup() {
  const owners = new Map<number, number>();
  const queued: (() => void)[] = [];
  const count = new FailoverCount(SELF, (u) => owners.get(u) ?? 0, (fn) => queued.push(fn));
  const endOfBatch = (): void => {
    for (const fn of queued.splice(0)) fn();
  };
  const gained = (units: number[], markers: [number, number][] = []): Action => ({ kind: 'units-gained', units, markers: new Map(markers) });
  return { owners, count, endOfBatch, gained };
}

describe('FailoverCount', () => {
  it('a fresh assignment (nobody owned the units) is no failover', () => {
    const s = setup();
    s.owners.set(1, SELF).set(2, SELF);
    s.count.onAction(s.gained([1, 2]));
    s.endOfBatch();
    expect(s.count.count).toBe(0);
  });

  it('units of a member that failed, gained without a marker, count once each', () => {
    const s = setup();
    for (const u of [5, 6, 7]) s.owners.set(u, OTHER);
    s.count.onAction({ kind: 'log', level: 'info', event: 'x', fields: {} });
    s.endOfBatch();
    // In one batch: the table moves the units to us, then the core reports them gained.
    for (const u of [5, 6, 7]) s.owners.set(u, SELF);
    s.count.onAction({ kind: 'members-changed', added: [], removed: [OTHER], members: [SELF] });
    s.count.onAction(s.gained([5, 6, 7]));
    s.endOfBatch();
    expect(s.count.count).toBe(3);
  });

  it('a unit that went unassigned in between still counts (the last owner is remembered)', () => {
    const s = setup();
    s.owners.set(9, OTHER);
    s.count.onAction({ kind: 'units-lost', units: [] });
    s.endOfBatch();
    s.owners.delete(9);
    s.count.onAction({ kind: 'units-lost', units: [] });
    s.endOfBatch();
    s.owners.set(9, SELF);
    s.count.onAction(s.gained([9]));
    expect(s.count.count).toBe(1);
  });

  it('a rebalance hands over with a marker: no failover', () => {
    const s = setup();
    s.owners.set(3, OTHER);
    s.count.onAction({ kind: 'units-lost', units: [] });
    s.endOfBatch();
    s.owners.set(3, SELF);
    s.count.onAction(s.gained([3], [[3, 0xdeadbeef]]));
    expect(s.count.count).toBe(0);
  });

  it('a unit that was ours (given back after a fence) is no failover', () => {
    const s = setup();
    s.owners.set(4, SELF);
    s.count.onAction({ kind: 'units-lost', units: [4] });
    s.endOfBatch();
    s.count.onAction(s.gained([4]));
    expect(s.count.count).toBe(0);
  });
});
