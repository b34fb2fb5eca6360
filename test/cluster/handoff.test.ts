/**
 * Hand-over markers and the release grace, one role at a time: the member
 * that gives a unit up (serves on for the grace, then acks with its marker,
 * re-acks a resend with the same one, stops at once when fenced), and the
 * master's UnitAssigner (carries the marker to the new owner, keeps the grace
 * for its own units, passes the marker on when the move's target left).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { newClusterKey } from '../../src/cluster/auth/cluster-key.js';
import type { Action } from '../../src/cluster/membership/actions.js';
import { ControlChannel } from '../../src/cluster/membership/channel.js';
import { DEFAULT_TIMING } from '../../src/cluster/membership/config.js';
import { MembershipContext } from '../../src/cluster/membership/context.js';
import { UnitAssigner } from '../../src/cluster/membership/master-units.js';
import { MemberRole } from '../../src/cluster/membership/member.js';
import type { RoleSwitch } from '../../src/cluster/membership/role.js';
import { AckKind, MessageType, UnitState, type ControlMessage, type Header, type WorkAck, type WorkAssign } from '../../src/cluster/messages.js';
import { UNIT_COUNT, type MemberId, type UnitEpoch, type UnitId } from '../../src/cluster/types.js';
import { SeededRandom } from '../../src/lib/random.js';
import { fixtureMemberConfig, standardFixtures, type StandardFixtures } from '../support/pki.js';

const GRACE = DEFAULT_TIMING.releaseGraceMs;
const SELF: MemberId = 0xc6120001;
const MASTER: MemberId = 0xc6120002;
const OTHER: MemberId = 0xc6120003;
const MASTER_INCARNATION = 77;

const marker = (unit: UnitId): number => unit * 7 + 1;

let fx: StandardFixtures;
beforeAll(async () => {
  fx = await standardFixtures();
});

/** A context for SELF holding a cluster key, whose data plane answers `handoffMarker` and counts the questions. */
function context(handoffMarker: (unit: UnitId) => number = marker): { ctx: MembershipContext; asked: UnitId[] } {
  const asked: UnitId[] = [];
  const cfg = fixtureMemberConfig(fx, SELF, {
    handoffMarker: (unit) => {
      asked.push(unit);
      return handoffMarker(unit);
    },
  });
  const rng = new SeededRandom(1);
  const ctx = new MembershipContext(cfg, new ControlChannel(cfg), rng, 0);
  ctx.channel.keys.set(newClusterKey(rng, 1));
  return { ctx, asked };
}

function drain(ctx: MembershipContext): Action[] {
  return ctx.outbox.splice(0);
}

function sent(actions: readonly Action[]): ControlMessage[] {
  return actions.flatMap((a) => (a.kind === 'send' ? [a.message] : []));
}

function workAcks(actions: readonly Action[], kind: AckKind): WorkAck[] {
  return sent(actions).flatMap((m) => (m.type === MessageType.WorkAck && m.kind === kind ? [m] : []));
}

function workAssigns(actions: readonly Action[]): WorkAssign[] {
  return sent(actions).flatMap((m) => (m.type === MessageType.WorkAssign ? [m] : []));
}

function lostUnits(actions: readonly Action[]): UnitId[] {
  return actions.flatMap((a) => (a.kind === 'units-lost' ? a.units : []));
}

function gained(actions: readonly Action[]): Extract<Action, { kind: 'units-gained' }>[] {
  return actions.flatMap((a) => (a.kind === 'units-gained' ? [a] : []));
}

/** Markers of a message, by unit. */
function markersOf(m: { entries: UnitEpoch[]; markers: number[] }): Map<UnitId, number> {
  return new Map(m.entries.map((e, i) => [e.unit, m.markers[i] ?? -1]));
}

describe('the member giving a unit up', () => {
  const noSwitch: RoleSwitch = {
    toJoining: () => {
      throw new Error('unexpected toJoining');
    },
    toMember: () => undefined,
    toMaster: () => undefined,
    toRefused: () => undefined,
    toExcluded: () => undefined,
  };

  function fromMaster(message: ControlMessage) {
    const header: Header = { type: message.type, clusterId: 1, sender: MASTER, incarnation: MASTER_INCARNATION, seq: 1, epoch: 1 };
    return { header, message, peer: null, chain: null, currentKey: true };
  }

  function serving(units: readonly UnitEpoch[]) {
    const { ctx, asked } = context();
    const role = new MemberRole(ctx, noSwitch);
    // Entered shortly before, so its next keepalive falls after the grace and nextWakeAt shows the release.
    role.enter(90, MASTER, MASTER_INCARNATION, null);
    role.tick(90);
    ctx.gain(units);
    for (const u of units) ctx.view.set(u.unit, SELF, u.epoch, UnitState.Owned);
    drain(ctx);
    return { ctx, role, asked };
  }

  const deassign = (entries: UnitEpoch[]): ControlMessage => ({ type: MessageType.WorkDeassign, owner: SELF, entries });

  it('serves on through the grace, then stops and acks with the marker asked at that moment', () => {
    const { ctx, role, asked } = serving([
      { unit: 5, epoch: 3 },
      { unit: 9, epoch: 3 },
    ]);
    role.onMessage(100, fromMaster(deassign([{ unit: 5, epoch: 3 }])));
    let out = drain(ctx);
    expect(lostUnits(out)).toEqual([]);
    expect(workAcks(out, AckKind.Deassign)).toEqual([]);
    expect(ctx.served.has(5)).toBe(true);
    expect(ctx.view.get(5).state).toBe(UnitState.Deassigning);
    expect(role.nextWakeAt()).toBe(100 + GRACE);

    role.tick(100 + GRACE - 0.001);
    out = drain(ctx);
    expect(lostUnits(out)).toEqual([]);
    expect(asked).toEqual([]);

    role.tick(100 + GRACE);
    out = drain(ctx);
    expect(lostUnits(out)).toEqual([5]);
    expect(asked).toEqual([5]);
    expect(workAcks(out, AckKind.Deassign)).toEqual([
      { type: MessageType.WorkAck, kind: AckKind.Deassign, entries: [{ unit: 5, epoch: 3 }], markers: [marker(5)] },
    ]);
    expect([...ctx.served.keys()]).toEqual([9]);
  });

  it('re-acks a resent de-assign with the marker it released the unit with, without asking again', () => {
    let calls = 0;
    const { ctx, asked } = context((u) => marker(u) + 10_000 * calls++);
    const role = new MemberRole(ctx, noSwitch);
    role.enter(0, MASTER, MASTER_INCARNATION, null);
    ctx.gain([{ unit: 5, epoch: 3 }]);
    drain(ctx);
    role.onMessage(100, fromMaster(deassign([{ unit: 5, epoch: 3 }])));
    // A resend inside the grace: the release will answer it.
    role.onMessage(110, fromMaster(deassign([{ unit: 5, epoch: 3 }])));
    expect(workAcks(drain(ctx), AckKind.Deassign)).toEqual([]);
    role.tick(100 + GRACE);
    const first = workAcks(drain(ctx), AckKind.Deassign);
    expect(first.map((a) => a.markers)).toEqual([[marker(5)]]);

    role.onMessage(300, fromMaster(deassign([{ unit: 5, epoch: 3 }])));
    const again = workAcks(drain(ctx), AckKind.Deassign);
    expect(again).toEqual(first);
    expect(asked).toEqual([5]);
  });

  it('is fenced at once by a newer epoch elsewhere, even inside the grace, and acks nothing for it later', () => {
    const { ctx, role, asked } = serving([{ unit: 6, epoch: 3 }]);
    role.onMessage(100, fromMaster(deassign([{ unit: 6, epoch: 3 }])));
    drain(ctx);
    role.onMessage(105, fromMaster({ type: MessageType.WorkAssign, owner: OTHER, entries: [{ unit: 6, epoch: 4 }], markers: [0] }));
    expect(lostUnits(drain(ctx))).toEqual([6]);
    role.tick(100 + GRACE);
    const out = drain(ctx);
    expect(lostUnits(out)).toEqual([]);
    expect(workAcks(out, AckKind.Deassign)).toEqual([]);
    expect(asked).toEqual([]);
    expect(ctx.counters.get('member.fenced')).toBe(1);
  });

  it('acks at once, with marker 0, what it does not serve under that order', () => {
    const { ctx, role } = serving([{ unit: 7, epoch: 5 }]);
    role.onMessage(100, fromMaster(deassign([{ unit: 8, epoch: 2 }])));
    const out = drain(ctx);
    expect(workAcks(out, AckKind.Deassign)).toEqual([
      { type: MessageType.WorkAck, kind: AckKind.Deassign, entries: [{ unit: 8, epoch: 2 }], markers: [0] },
    ]);
    expect(ctx.served.has(7)).toBe(true);
  });

  it('starts a unit it is given with the marker the assignment carries, and acks it with marker 0', () => {
    const { ctx, role } = serving([]);
    const entries = [
      { unit: 2, epoch: 8 },
      { unit: 3, epoch: 8 },
    ];
    role.onMessage(100, fromMaster({ type: MessageType.WorkAssign, owner: SELF, entries, markers: [marker(2), 0] }));
    const out = drain(ctx);
    expect(gained(out)).toEqual([{ kind: 'units-gained', units: [2, 3], markers: new Map([[2, marker(2)]]) }]);
    expect(workAcks(out, AckKind.Assign).map((a) => a.markers)).toEqual([[0, 0]]);
  });

  it('counts a marker that is not a u32 as none', () => {
    const { ctx } = context(() => -1);
    expect(ctx.handoffMarker(1)).toBe(0);
    expect(ctx.counters.get('handoff.bad-marker')).toBe(1);
  });
});

describe("the master's unit assigner", () => {
  const everyUnit = (): UnitId[] => [...Array(UNIT_COUNT).keys()];

  function assigner(live: MemberId[]) {
    const { ctx, asked } = context();
    const units = new UnitAssigner(ctx, () => live);
    return { ctx, units, asked };
  }

  it('as the new owner: the markers from the old owner’s ack come with its units-gained', () => {
    const { ctx, units } = assigner([SELF, OTHER]);
    for (const u of everyUnit()) ctx.view.set(u, OTHER, 1, UnitState.Owned);
    expect(units.rebalance(0)).toBe(UNIT_COUNT / 2);
    const deassign = sent(drain(ctx)).find((m) => m.type === MessageType.WorkDeassign);
    if (deassign?.type !== MessageType.WorkDeassign) throw new Error('no WORK_DEASSIGN');
    expect(deassign.owner).toBe(OTHER);

    units.onAck(5, OTHER, AckKind.Deassign, deassign.entries, deassign.entries.map((e) => marker(e.unit)));
    const out = drain(ctx);
    const [gain] = gained(out);
    expect(gain?.units).toEqual(deassign.entries.map((e) => e.unit).sort((a, b) => a - b));
    expect(gain?.markers).toEqual(new Map(deassign.entries.map((e) => [e.unit, marker(e.unit)])));
    const [assign] = workAssigns(out);
    expect(assign?.owner).toBe(SELF);
    expect(markersOf(assign ?? { entries: [], markers: [] })).toEqual(new Map(deassign.entries.map((e) => [e.unit, marker(e.unit)])));
  });

  it('as the old owner: broadcasts the de-assign, serves on for the grace, then hands over with its own markers', () => {
    const { ctx, units, asked } = assigner([SELF, OTHER]);
    ctx.gain(everyUnit().map((unit) => ({ unit, epoch: 1 })));
    for (const u of everyUnit()) ctx.view.set(u, SELF, 1, UnitState.Owned);
    drain(ctx);

    units.rebalance(1000);
    let out = drain(ctx);
    const deassign = sent(out).find((m) => m.type === MessageType.WorkDeassign);
    if (deassign?.type !== MessageType.WorkDeassign) throw new Error('no WORK_DEASSIGN');
    expect(deassign.owner).toBe(SELF);
    expect(deassign.entries).toHaveLength(UNIT_COUNT / 2);
    expect(lostUnits(out)).toEqual([]);
    expect(workAssigns(out)).toEqual([]);
    expect(ctx.served.size).toBe(UNIT_COUNT);
    expect(units.nextReleaseAt()).toBe(1000 + GRACE);

    units.releaseOwn(1000 + GRACE - 0.001);
    expect(drain(ctx)).toEqual([]);

    units.releaseOwn(1000 + GRACE);
    out = drain(ctx);
    const moved = deassign.entries.map((e) => e.unit).sort((a, b) => a - b);
    expect(lostUnits(out)).toEqual(moved);
    expect([...asked].sort((a, b) => a - b)).toEqual(moved);
    const [assign] = workAssigns(out);
    if (!assign) throw new Error('no WORK_ASSIGN');
    expect(assign.owner).toBe(OTHER);
    const expected = new Map(moved.map((u) => [u, marker(u)]));
    expect(markersOf(assign)).toEqual(expected);
    expect(units.nextReleaseAt()).toBe(Infinity);

    // A resend keeps the markers; the ack completes the move.
    units.resend(1000 + GRACE + 200, 100);
    const [resent] = workAssigns(drain(ctx));
    expect(markersOf(resent ?? { entries: [], markers: [] })).toEqual(expected);
    units.onAck(1300, OTHER, AckKind.Assign, assign.entries, assign.entries.map(() => 0));
    expect(units.pendingCount).toBe(0);
    for (const u of moved) expect(ctx.view.get(u)).toMatchObject({ owner: OTHER, state: UnitState.Owned });
  });

  it('gives a unit whose new owner left mid-move to another member with the same marker', () => {
    const live = [SELF, OTHER];
    const { ctx, units } = assigner(live);
    ctx.gain(everyUnit().map((unit) => ({ unit, epoch: 1 })));
    for (const u of everyUnit()) ctx.view.set(u, SELF, 1, UnitState.Owned);
    units.rebalance(0);
    drain(ctx);
    const third: MemberId = 0xc6120004;
    live.splice(1, 1, third); // OTHER is gone, a new member came
    units.membersRemoved(1, [OTHER]);
    units.releaseOwn(GRACE);
    const [assign] = workAssigns(drain(ctx));
    if (!assign) throw new Error('no WORK_ASSIGN');
    expect(assign.owner).toBe(third);
    expect(assign.markers).toEqual(assign.entries.map((e) => marker(e.unit)));
  });

  it('sends marker 0 with fresh assignments', () => {
    const { ctx, units } = assigner([SELF, OTHER]);
    units.assignUnassigned(0);
    const out = drain(ctx);
    for (const a of workAssigns(out)) expect(a.markers).toEqual(a.entries.map(() => 0));
    expect(gained(out).map((g) => g.markers.size)).toEqual([0]);
  });
});
