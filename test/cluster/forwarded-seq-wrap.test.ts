/**
 * Regression: forwarded packets' u32 sequence number wrapped after 2^32 of
 * them, and every receiver then dropped the master's forwarded packets as
 * replayed for the rest of its incarnation. The data space now starts a new
 * incarnation instead of wrapping.
 */
import { describe, expect, it } from 'vitest';
import { newClusterKey } from '../../src/cluster/auth/cluster-key.js';
import { ControlChannel } from '../../src/cluster/membership/channel.js';
import { ForwardSide, MessageType } from '../../src/cluster/messages.js';
import { SeededRandom } from '../../src/lib/random.js';
import { fixtureMemberConfig, standardFixtures, WALL_NOW } from '../support/pki.js';

describe('forwarded packet sequence numbers', () => {
  it('go on past 2^32 packets: the receiver takes every one, and still refuses a replay', async () => {
    const fx = await standardFixtures();
    const master = new ControlChannel(fixtureMemberConfig(fx, fx.members[0]?.memberId ?? 0, {}, 0));
    const member = new ControlChannel(fixtureMemberConfig(fx, fx.members[1]?.memberId ?? 0, {}, 1));
    const key = newClusterKey(new SeededRandom(3), 9);
    master.keys.set(key);
    member.keys.set(key);
    master.setDataSeqForTest(0xffff_fffd);
    const open = (bytes: Uint8Array): string => {
      const d = member.decode(bytes);
      if (!d.ok) return d.reason;
      const r = member.authenticate(d.frame, WALL_NOW);
      return r.ok ? `ok ${r.inbound.header.incarnation}/${r.inbound.header.seq}` : r.reason;
    };
    const sent = Array.from({ length: 4 }, () =>
      master.seal({ type: MessageType.ForwardedPacket, unit: 1, side: ForwardSide.Outer, packet: Uint8Array.of(0x45) }, WALL_NOW),
    );
    expect(sent.map(open)).toEqual(['ok 1/4294967294', 'ok 1/4294967295', 'ok 2/1', 'ok 2/2']);
    expect(open(sent[2] ?? new Uint8Array())).toBe('replayed');
  });
});
