import { describe, expect, it } from 'vitest';
import { MemoryHub } from '../../src/ports/control-transport-memory.js';
import { controlTransportContract } from './control-transport-contract.js';

controlTransportContract('in-memory hub', async () => {
  const hub = new MemoryHub();
  const members = [hub.attach(0xc6120311), hub.attach(0xc6120312), hub.attach(0xc6120313)] as const;
  return { members: [...members], close: async () => Promise.all(members.map((m) => m.close())).then(() => undefined) };
});

describe('in-memory hub: a handler that throws', () => {
  it('is counted (handler-threw) like the UDP transport, and later datagrams arrive', async () => {
    const hub = new MemoryHub();
    const [a, b] = [hub.attach(1), hub.attach(2)];
    const got: number[] = [];
    b.onDatagram(() => {
      throw new RangeError('decoder: offset 9 outside 8 bytes');
    });
    a.send(Uint8Array.of(1), 2);
    await new Promise((r) => setImmediate(r));
    b.onDatagram((bytes) => got.push(bytes[0] ?? -1));
    a.send(Uint8Array.of(2), 2);
    await new Promise((r) => setImmediate(r));
    expect(got).toEqual([2]);
    expect(b.errors.get('handler-threw')).toBe(1);
  });
});
