/**
 * Regression (issue 11, "every I/O and timer entry point catches, counts and
 * logs"): an exception from the core, an application hook or a listener used
 * to leave MemberRunner's datagram handler or its timer and end the process;
 * a tick that threw also left the timer unarmed, so the member would have
 * stopped its keepalives for good. Each entry point is driven here with a
 * throwing part injected, and the runner is shown to go on.
 */
import { describe, expect, it } from 'vitest';
import { AppHost } from '../../src/apps/app-host.js';
import type { ClusterApplication } from '../../src/apps/application.js';
import type { Action } from '../../src/cluster/membership/actions.js';
import type { MemberCore } from '../../src/cluster/membership/core.js';
import type { MemberId } from '../../src/cluster/types.js';
import { ManualClock } from '../../src/lib/clock.js';
import { MemberRunner } from '../../src/daemon/member-runner.js';
import type { ControlTransport } from '../../src/ports/control-transport.js';

const KEEPALIVE: Action = { kind: 'send', to: 'all', bytes: Uint8Array.of(0xaa) } as Action;

/** A core that answers each datagram and tick with one send, and throws where told. */
class ScriptedCore {
  self = 1;
  throwOnDatagram = (bytes: Uint8Array): boolean => bytes[0] === 0xff;
  throwOnTick = false;
  wakeAt = 100;
  ticks = 0;
  start(): Action[] {
    return [];
  }
  handleDatagram(_now: number, bytes: Uint8Array): Action[] {
    if (this.throwOnDatagram(bytes)) throw new RangeError('decoder: offset 9 outside 8 bytes');
    return [{ kind: 'send', to: 2, bytes: Uint8Array.of(bytes[0] ?? 0) } as Action];
  }
  tick(): Action[] {
    this.ticks++;
    if (this.throwOnTick) throw new TypeError('tick: cannot read properties of undefined');
    return [KEEPALIVE];
  }
  nextWakeAt(): number {
    return this.wakeAt;
  }
  approvalResult(): Action[] {
    throw new Error('approval: no such request');
  }
}

function rig(apps: ClusterApplication[] = []) {
  const core = new ScriptedCore();
  const clock = new ManualClock(0);
  const sent: { bytes: Uint8Array; to: MemberId | 'all' }[] = [];
  let handler: ((bytes: Uint8Array, from: MemberId) => void) | null = null;
  const transport: ControlTransport = {
    self: 1,
    errors: new Map(),
    send: (bytes, to) => void sent.push({ bytes, to }),
    onDatagram: (h) => void (handler = h),
    close: async () => undefined,
  };
  const armed: (() => void)[] = [];
  const timers = { after: (_ms: number, fn: () => void) => (armed.push(fn), () => undefined) };
  const lines: { level: string; event: string; fields: Record<string, unknown> | undefined }[] = [];
  const log = { log: (level: string, event: string, fields?: Record<string, unknown>) => void lines.push({ level, event, fields }) };
  const runner = new MemberRunner(core as unknown as MemberCore, { transport, clock, timers, apps: new AppHost(apps), log });
  runner.defer = (fn) => fn();
  runner.start();
  const datagram = (b: number): void => handler?.(Uint8Array.of(b), 2);
  /** Fire the newest armed timer (the runner re-arms when nextWakeAt changes). */
  const fire = (): void => {
    core.wakeAt += 100;
    armed.pop()?.();
  };
  return { core, clock, sent, runner, lines, armed, datagram, fire };
}

describe('MemberRunner entry points', () => {
  it('a datagram whose handling throws is counted and logged; the next one is handled', () => {
    const r = rig();
    expect(() => r.datagram(0xff)).not.toThrow();
    r.datagram(0x01);
    expect(r.sent.map((s) => s.bytes[0])).toEqual([0x01]);
    expect(r.runner.guard.counters()).toEqual({ 'exception.datagram': 1 });
    expect(r.lines).toEqual([expect.objectContaining({ level: 'error', event: 'runner.exception', fields: expect.objectContaining({ where: 'datagram', count: 1 }) })]);
  });

  it('a flood of throwing datagrams logs one line per second, and counts every one', () => {
    const r = rig();
    for (let i = 0; i < 1000; i++) r.datagram(0xff);
    r.clock.advanceTo(1000);
    r.datagram(0xff);
    expect(r.runner.guard.counts.get('datagram')).toBe(1001);
    expect(r.lines.filter((l) => l.event === 'runner.exception').map((l) => l.fields?.['unlogged'])).toEqual([0, 999]);
  });

  it('a tick that throws leaves the timer armed: the next tick sends the keepalives', () => {
    const r = rig();
    expect(r.armed).toHaveLength(1);
    r.core.throwOnTick = true;
    expect(() => r.fire()).not.toThrow();
    expect(r.armed).toHaveLength(1); // armed again although the tick threw
    r.core.throwOnTick = false;
    r.fire();
    expect(r.core.ticks).toBe(2);
    expect(r.sent).toEqual([{ bytes: KEEPALIVE.kind === 'send' ? KEEPALIVE.bytes : new Uint8Array(), to: 'all' }]);
    expect(r.runner.guard.counters()).toEqual({ 'exception.tick': 1 });
  });

  it('a listener or an application hook that throws costs that call: other listeners and later actions still run', () => {
    const hook: ClusterApplication = {
      name: 'throwing',
      approveJoin: () => ({ approve: true }),
      unitsGained: () => {
        throw new Error('application: unitsGained failed');
      },
      unitsLost: () => undefined,
      membersChanged: () => undefined,
    } as unknown as ClusterApplication;
    const r = rig([hook]);
    const heard: string[] = [];
    r.runner.onAction(() => {
      throw new Error('listener failed');
    });
    r.runner.onAction((a) => heard.push(a.kind));
    r.runner.applyActions([{ kind: 'units-gained', units: [1], markers: new Map() } as unknown as Action, KEEPALIVE]);
    expect(heard).toEqual(['units-gained', 'send']);
    expect(r.sent).toHaveLength(1);
    expect(r.runner.guard.counters()).toEqual({ 'exception.units-gained': 1, 'exception.listener.units-gained': 1, 'exception.listener.send': 1 });
  });

  it('a join verdict whose answer throws is counted, not thrown from the microtask', async () => {
    const r = rig([{ name: 'yes', approveJoin: () => ({ approve: true }) } as unknown as ClusterApplication]);
    r.runner.applyActions([{ kind: 'approve-join', requestId: 7, candidate: {} } as unknown as Action]);
    await Promise.resolve();
    expect(r.runner.guard.counters()).toEqual({ 'exception.approval': 1 });
  });
});
