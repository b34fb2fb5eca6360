/**
 * The in-memory TAP interface: the shared contract, then what only the
 * double offers (several queues on one interface, bounded queues with drop
 * counters, an injectable scheduler).
 */
import { describe, expect, it } from 'vitest';
import { FrameBatch } from '../../src/ports/tap.js';
import { MemoryTapInterface } from '../../src/ports/tap-memory.js';
import { contractFrame, tapContract } from './tap-contract.js';

tapContract('in-memory interface', async (options) => {
  const iface = new MemoryTapInterface({ name: 'mem0' });
  const device = iface.open(options);
  return {
    device,
    send: (frames) => {
      for (const f of frames) iface.inject(f);
    },
    receive: async (count) => iface.take(count),
    setLinkUp: (up) => iface.setUp(up),
    close: () => device.close(),
  };
});

describe('MemoryTapInterface', () => {
  it('spreads flows over its queues and keeps each flow on one queue', () => {
    const iface = new MemoryTapInterface({ queueCapacity: 1000 });
    const queues = [iface.open(), iface.open()];
    for (let flow = 0; flow < 32; flow++) {
      for (let k = 0; k < 3; k++) {
        const f = contractFrame(64, k);
        f[11] = flow; // source MAC names the flow
        iface.inject(f);
      }
    }
    const batch = new FrameBatch(256);
    const perQueue = queues.map((q) => {
      q.readBatch(batch);
      return Array.from({ length: batch.count }, (_, i) => batch.frame(i)[11]!);
    });
    expect(perQueue[0]!.length + perQueue[1]!.length).toBe(96);
    expect(perQueue[0]!.length).toBeGreaterThan(0);
    expect(perQueue[1]!.length).toBeGreaterThan(0);
    const onBoth = perQueue[0]!.filter((flow) => perQueue[1]!.includes(flow));
    expect(onBoth).toEqual([]);
  });

  it('drops and counts when a queue is full, when no queue is attached, and when the outbox is full', () => {
    const iface = new MemoryTapInterface({ queueCapacity: 2, outboxCapacity: 1 });
    expect(iface.inject(contractFrame(64, 0))).toBe(false); // nobody attached
    const dev = iface.open();
    expect([1, 2, 3].map((i) => iface.inject(contractFrame(64, i)))).toEqual([true, true, false]);
    expect(iface.counters).toMatchObject({ queued: 2, injectDropped: 2 });
    expect(dev.write(contractFrame(64, 4))).toBe(true);
    expect(dev.write(contractFrame(64, 5))).toBe(true); // sent: the kernel side drops it, as a stack would
    expect(iface.counters.outboxDropped).toBe(1);
    expect(iface.take()).toEqual([contractFrame(64, 4)]);
  });

  it('delivers readiness through the injected scheduler only', () => {
    const tasks: (() => void)[] = [];
    const iface = new MemoryTapInterface({ schedule: (t) => tasks.push(t) });
    const dev = iface.open();
    let calls = 0;
    dev.onReadable(() => {
      calls++;
      dev.read();
    });
    iface.inject(contractFrame(64, 1));
    iface.inject(contractFrame(64, 2));
    expect(calls).toBe(0);
    expect(tasks).toHaveLength(1);
    tasks.shift()!();
    expect(calls).toBe(1);
    expect(tasks).toHaveLength(1); // a frame is still queued: called again
    tasks.shift()!();
    expect(calls).toBe(2);
    expect(tasks).toHaveLength(0);
  });

  it('copies frames at the boundary: later changes to the caller buffer do not leak', () => {
    const iface = new MemoryTapInterface();
    const dev = iface.open();
    const f = contractFrame(64, 1);
    iface.inject(f);
    f[20] = 0xff;
    expect(dev.read()).toEqual(contractFrame(64, 1));
  });
});
