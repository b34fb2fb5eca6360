/**
 * Forwarding mode, a 65,000-byte ping to the cluster address (issue 11): the
 * client sends it as 44 fragments, the master reassembles it to find its
 * unit and hands it to the owner over the interconnect. It used to overflow
 * the control frame, and the exception escaped the TAP callback: two such
 * pings stopped the master, then the next master. Now the master splits it
 * in two frames and the owner answers.
 *
 *   cl ── ping -s 65000 (from addresses whose unit a non-master serves) ──► rt ──► master ══ interconnect ══► owner ──► echo reply
 *
 * Asserted: every ping answered, the master split them (its counter), and no
 * membership change at all (same PIDs, roles, master, term, key epoch,
 * membership counters, no membership event in any log). Root; never skips.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyInbound } from '../../src/cluster/filter.js';
import { formatIpv4, parseIpv4 } from '../../src/lib/ipv4.js';
import { CLUSTER, LAB_ADDRESSES } from '../../src/lab/plan.js';
import { runIn } from '../support/ipsec-lab.js';
import { LabCluster } from '../support/lab-cluster.js';
import { icmpEcho, ipv4, PROTO } from '../support/packets.js';
import { SteadyMembership } from '../support/steady-membership.js';
import { tearDown } from '../support/teardown.js';

const MEMBERS = 3;
const CLIENT_ADDRESSES = 40;
const SOURCES = 3;
const PINGS_EACH = 2;
const SIZE = 65_000;

/** `ping -s 65000` from `source`: how many of `count` were answered. */
async function bigPing(source: string, count: number): Promise<string> {
  const r = await runIn(cluster.namespace('cl'), ['ping', '-n', '-s', String(SIZE), '-c', String(count), '-i', '0.3', '-W', '3', '-I', source, CLUSTER.outsideAddress]);
  const m = /(\d+) packets transmitted, (\d+) received/.exec(r.stdout);
  return m ? `${m[2]}/${m[1]}` : `no summary: ${(r.stdout + r.stderr).trim()}`;
}

const cluster = new LabCluster('lping', 'forwarding');

beforeAll(async () => {
  await cluster.up(MEMBERS, CLIENT_ADDRESSES);
}, 120_000);

afterAll(async () => {
  await tearDown(() => cluster.down());
}, 60_000);

describe('forwarding mode: ping -s 65000 to the cluster address', () => {
  it('is answered through the interconnect, and every member stays up with no membership change', async () => {
    const view = await cluster.settled(MEMBERS, 1000);
    const master = view.masters[0];
    const owners = view.observations.find((o) => o.status?.self === master)?.units?.owners ?? [];
    // Client addresses whose pings another member serves (ICMP goes by the address pair): the master must forward them.
    const first = parseIpv4(LAB_ADDRESSES.clientExtraFirst);
    const sources: string[] = [];
    for (let k = 0; k < CLIENT_ADDRESSES && sources.length < SOURCES; k++) {
      const unit = classifyInbound(ipv4({ src: first + k, dst: parseIpv4(CLUSTER.outsideAddress), protocol: PROTO.ICMP, payload: icmpEcho(1, 1) }));
      const owner = owners[unit];
      if (owner && owner !== master) sources.push(formatIpv4(first + k));
    }
    expect(sources.length).toBe(SOURCES);

    const steady = await SteadyMembership.begin(cluster, MEMBERS);
    const results: string[] = [];
    for (const source of sources) results.push(await bigPing(source, PINGS_EACH));
    const { problems } = await steady.end();

    expect(problems).toEqual([]);
    expect(results).toEqual(sources.map(() => `${PINGS_EACH}/${PINGS_EACH}`));
    const after = await cluster.observe();
    const m = after.observations.find((o) => o.status?.self === master);
    expect(m?.status?.dataPlane?.['forward-split'] ?? 0).toBeGreaterThanOrEqual(SOURCES * PINGS_EACH);
  });
});
