/**
 * The compliance suite every ControlTransport passes (STYLE.md §8): the
 * in-memory hub and UDP multicast between namespaces run the same tests, so
 * the double cannot drift from the real thing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MemberId } from '../../src/cluster/types.js';
import type { ControlTransport } from '../../src/ports/control-transport.js';

export interface TransportTrio {
  members: [ControlTransport, ControlTransport, ControlTransport];
  close(): Promise<void>;
}

interface Received {
  at: MemberId;
  from: MemberId;
  bytes: Uint8Array;
}

export function controlTransportContract(name: string, make: () => Promise<TransportTrio>): void {
  describe(`ControlTransport contract: ${name}`, () => {
    let trio: TransportTrio;
    const inbox: Received[] = [];

    beforeAll(async () => {
      trio = await make();
      for (const t of trio.members) t.onDatagram((bytes, from) => inbox.push({ at: t.self, from, bytes }));
    });
    afterAll(async () => trio.close());

    async function settle(count: number): Promise<Received[]> {
      const t0 = Date.now();
      while (inbox.length < count && Date.now() - t0 < 2000) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, 50)); // and nothing more arrives
      return inbox.splice(0);
    }

    it('a datagram to all reaches every other member once, intact, and not the sender', async () => {
      const [a, b, c] = trio.members;
      const payload = Uint8Array.from({ length: 300 }, (_, i) => (i * 7) & 0xff);
      a.send(payload, 'all');
      const got = await settle(2);
      expect(got.map((r) => r.at).sort()).toEqual([b.self, c.self].sort());
      for (const r of got) {
        expect(r.from).toBe(a.self);
        expect([...r.bytes]).toEqual([...payload]);
      }
    });

    it('a datagram to one member reaches only that member', async () => {
      const [a, b] = trio.members;
      b.send(Uint8Array.of(1, 2, 3), a.self);
      const got = await settle(1);
      expect(got).toHaveLength(1);
      expect(got[0]?.at).toBe(a.self);
      expect(got[0]?.from).toBe(b.self);
    });

    it('keeps datagrams apart: a burst of 50 arrives as 50 datagrams', async () => {
      const [, , c] = trio.members;
      for (let i = 0; i < 50; i++) c.send(Uint8Array.of(i, i, i), 'all');
      const got = await settle(100);
      expect(got).toHaveLength(100);
      for (const r of got) expect(r.bytes).toHaveLength(3);
    });
  });
}
