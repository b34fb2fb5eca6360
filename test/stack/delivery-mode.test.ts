import { describe, expect, it } from 'vitest';
import { DELIVERY_MODES, acceptsFrame, arpAnswerMac, memberMac, sharedMulticastMac, sharedUnicastMac } from '../../src/stack/delivery-mode.js';

const CLUSTER = 0xc612010a; // 198.18.1.10
const OWN = memberMac(0xc612030b, 'outer');
const BROADCAST = new Uint8Array(6).fill(0xff);

describe('delivery modes', () => {
  it('answer ARP with the master’s MAC, the shared unicast MAC, or the multicast MAC', () => {
    expect(arpAnswerMac('forwarding', CLUSTER, OWN)).toEqual(OWN);
    expect(arpAnswerMac('unicast', CLUSTER, OWN)).toEqual(Uint8Array.of(0x02, 0x53, 0x48, 0x12, 0x01, 0x0a));
    const mc = arpAnswerMac('multicast', CLUSTER, OWN);
    expect((mc[0] ?? 0) & 1).toBe(1); // the group bit: switches flood it
    expect((sharedUnicastMac(CLUSTER)[0] ?? 0) & 1).toBe(0);
  });

  it('member source MACs differ per member and side and are never the cluster MAC', () => {
    const macs = [memberMac(1, 'outer'), memberMac(2, 'outer'), memberMac(1, 'inner')].map((m) => [...m].join());
    expect(new Set(macs).size).toBe(3);
    expect(macs).not.toContain([...sharedUnicastMac(1)].join());
  });

  it('each mode accepts the frames meant for it and no others', () => {
    for (const mode of DELIVERY_MODES) {
      expect(acceptsFrame(mode, OWN, OWN, CLUSTER)).toBe(true);
      expect(acceptsFrame(mode, BROADCAST, OWN, CLUSTER)).toBe(true);
      expect(acceptsFrame(mode, memberMac(9, 'outer'), OWN, CLUSTER)).toBe(false);
    }
    expect(acceptsFrame('unicast', sharedUnicastMac(CLUSTER), OWN, CLUSTER)).toBe(true);
    expect(acceptsFrame('multicast', sharedUnicastMac(CLUSTER), OWN, CLUSTER)).toBe(false);
    expect(acceptsFrame('multicast', sharedMulticastMac(CLUSTER), OWN, CLUSTER)).toBe(true);
    expect(acceptsFrame('forwarding', sharedUnicastMac(CLUSTER), OWN, CLUSTER)).toBe(false);
  });
});
