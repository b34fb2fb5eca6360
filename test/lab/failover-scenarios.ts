/**
 * The issue's integration tests b–f for one delivery mode, with traffic
 * running: one lab of three member daemons, an echo stream of 200 flows
 * (20 client addresses × 10 ports, one datagram every 20 ms each) from the
 * client namespace to the cluster address, and in turn:
 *
 *   f  a capture on the router's outer leg: no duplicate echo, none from a member not owning the flow's unit
 *   b  SIGKILL of a member: its flows served again within 1 s; no other flow misses an echo
 *   c  SIGKILL of the master: a new master; the survivors' flows miss nothing; all served again within 1 s
 *   d  a fourth member joins: rebalancing moves units to it without a lost echo
 *   e  the interconnect cut and healed: one master; no flow answered twice after convergence
 *
 * After the lab starts and after each restart, the stream first runs a while
 * unmeasured (a fresh daemon's packet path is not yet optimised and falls
 * behind at this rate; the warm-up lines print what that costs).
 *
 * Instants (the SIGKILL, the join, convergence) are wall-clock ms, the clock
 * the stream records its sends and echoes in. Flows are attributed to members
 * by their unit (the filter on the datagram) and the members' own unit lists.
 * Each test measures, prints its figures (console.log, for the issue's
 * closing note), puts the cluster back as the next test expects it, and only
 * then asserts, so one failure does not cascade into the next test.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countFlows, streamEnd, summarizeOutages, toSeries } from '../../src/lab/echo-stream-analysis.js';
import { wallNow, type EchoStreamResult } from '../../src/lab/echo-stream.js';
import type { LabMode } from '../../src/lab/members.js';
import { CLUSTER, memberAddress } from '../../src/lab/plan.js';
import { attribute, dataPlaneDrops, missedWhen, movedUnits, ms, restorationLine, unitOf } from '../support/failover-findings.js';
import { ECHO_PORT, LabCluster, dropsGrown, memberNumber, type ClusterView } from '../support/lab-cluster.js';
import { captureFindings } from '../support/capture-findings.js';

const MEMBERS = 3;
const STREAM = { addresses: 20, portsPerAddress: 10, intervalMs: 20 } as const;
const FLOWS = STREAM.addresses * STREAM.portsPerAddress;
/** Traffic before the event, so every flow is known to be answered before it. */
const LEAD_IN_MS = 1500;
/** How long the cluster must stay unchanged before an after-event window closes. */
const STABLE_MS = 3000;
/**
 * Traffic after a daemon (re)starts, before anything is measured: a fresh
 * daemon runs its packet path unoptimised for its first second or so, and at
 * this rate the kernel's TAP queue overflows meanwhile (see the warm-up lines).
 */
const WARM_UP_STREAM_MS = 2500;
/** The issue's bound on restoration after a SIGKILL. */
const RESTORE_WITHIN_MS = 1000;

const sleep = (t: number): Promise<void> => new Promise((r) => setTimeout(r, t));

export function failoverScenarios(mode: LabMode): void {
  /**
   * In forwarding mode the router sends every frame for the cluster address
   * to the master's MAC and the master hands the other members theirs, so a
   * dead master interrupts every flow until the new master announces itself
   * (gratuitous ARP). There c asserts that every flow is served again within
   * 1 s, rather than that the survivors' flows miss nothing.
   */
  const masterCarriesAll = mode === 'forwarding';

  describe(`failover with traffic running, ${mode} mode (real namespaces, as root)`, () => {
    const c = new LabCluster('fo', mode);
    let members = MEMBERS;

    /** Run the stream for WARM_UP_STREAM_MS without asserting anything; print what it saw. */
    async function warmUp(why: string): Promise<void> {
      const before = await c.observe();
      const kernel = await c.kernelDrops();
      const stream = await c.stream(STREAM);
      try {
        await sleep(WARM_UP_STREAM_MS);
        const result = await stream.stop();
        const flows = toSeries(result);
        const start = result.epoch + result.startedAt;
        const n = countFlows(flows, start, streamEnd(result));
        console.log(
          `[${mode}] warm-up after ${why}: ${n.requests} requests, ${n.missed} missed (sent at ${missedWhen(flows, start, streamEnd(result), start)} after its start); ` +
            `data-plane drops: ${dataPlaneDrops(before, await c.observe(), masterCarriesAll)}; kernel drops: ${dropsGrown(kernel, await c.kernelDrops())}`,
        );
      } finally {
        stream.kill();
      }
    }

    /** Start member i again, wait until the loads are even and settled, and warm its packet path up. */
    async function restart(i: number): Promise<ClusterView> {
      const v = await c.restart(i, members);
      await warmUp(`m${i} restarted`);
      return v;
    }

    beforeAll(async () => {
      const t0 = performance.now();
      const v = await c.up(MEMBERS, STREAM.addresses);
      console.log(`[${mode}] lab ${c.name}: ${MEMBERS} members settled in ${((performance.now() - t0) / 1000).toFixed(1)} s; master ${v.masters[0]}`);
      await warmUp('the lab started');
    });

    afterAll(async () => {
      await c.down();
    });

    interface Around<T> {
      result: EchoStreamResult;
      before: ClusterView;
      /** The first converged view after the event, and the view once it had stayed unchanged for STABLE_MS. */
      converged: ClusterView;
      after: ClusterView & { since: number };
      at: number;
      value: T;
      /** Interfaces whose kernel drop counters grew during the stream. */
      kernelDrops: string;
    }

    /** Stream through `event`, then until the cluster of `expected` has converged and stayed unchanged for STABLE_MS. */
    async function streamAround<T>(expected: number, event: () => Promise<T>): Promise<Around<T>> {
      const before = await c.settled(members, 1000);
      const kernel = await c.kernelDrops();
      const stream = await c.stream(STREAM);
      try {
        await sleep(LEAD_IN_MS);
        const at = wallNow();
        const value = await event();
        const converged = await c.converged(expected, 20_000);
        const after = await c.settled(expected, STABLE_MS);
        const result = await stream.stop();
        return { result, before, converged, after, at, value, kernelDrops: dropsGrown(kernel, await c.kernelDrops()) };
      } finally {
        stream.kill();
      }
    }

    it('f: a capture on the client side shows no duplicate echo and none from a member not owning the flow', async () => {
      const before = await c.settled(members, 2000);
      const kernel = await c.kernelDrops();
      const capture = await c.capture(`udp and host ${CLUSTER.outsideAddress} and port ${ECHO_PORT}`);
      const running = await c.stream(STREAM);
      await sleep(3000);
      const result = await running.stop(); // after its drain time: the last echoes are in the capture too
      const captured = await capture.stop();
      const after = await c.observe();
      const kernelDrops = dropsGrown(kernel, await c.kernelDrops());
      const found = captureFindings(captured.pcap, before);
      const flows = toSeries(result);
      const start = result.epoch + result.startedAt;
      const stream = countFlows(flows, start, streamEnd(result));
      console.log(
        `[${mode}] f: captured ${found.requests} requests (to ${found.requestMacs.join(' ')}) and ${found.replies} echoes on rt/o0 ` +
          `(kernel dropped ${captured.droppedByKernel ?? '?'}); echoes per member ${[...found.perMember].map(([m, n]) => `${m}=${n}`).join(' ')}; ` +
          `${found.duplicates.length} duplicated, ${found.wrongOwner.length} from a non-owner, ${found.badChecksum} with a bad checksum; ` +
          `stream: ${stream.requests} sent, ${stream.missed} missed (sent at ${missedWhen(flows, start, streamEnd(result), start)} after its start), ` +
          `${stream.duplicated} duplicated; data-plane drops: ${dataPlaneDrops(before, after, masterCarriesAll)}; kernel drops: ${kernelDrops}`,
      );
      expect(after.signature, 'the unit table changed during the capture').toBe(before.signature);
      expect({ linkType: found.linkType, undecodable: found.undecodable, malformed: found.malformed, badChecksum: found.badChecksum }).toEqual({
        linkType: 1,
        undecodable: 0,
        malformed: 0,
        badChecksum: 0,
      });
      expect(found.requests).toBeGreaterThan(FLOWS * 50);
      expect(found.replies).toBeGreaterThan(FLOWS * 50);
      expect(found.duplicates.slice(0, 10)).toEqual([]);
      expect(found.wrongOwner.slice(0, 10)).toEqual([]);
      expect(found.perMember.size).toBe(members);
      expect({ missed: stream.missed, duplicated: stream.duplicated }).toEqual({ missed: 0, duplicated: 0 });
      if (captured.droppedByKernel === 0) expect(found.replies).toBe(found.requests);
    });

    /** SIGKILL the member `pick` names while the stream runs, restart it afterwards, and attribute the stream's flows to owners. */
    async function killDuringStream(pick: (view: ClusterView) => number) {
      let victim = 0;
      const r = await streamAround(members - 1, async () => {
        victim = pick(await c.observe());
        if (victim === 0) throw new Error('no member to kill');
        const k = wallNow();
        await c.members.kill(c.name, victim, 'SIGKILL');
        return k;
      });
      const back = await restart(victim);
      const a = attribute(r.result, r.before);
      const victimFlows = a.byOwner.get(memberAddress(victim)) ?? [];
      const others = a.flows.filter((f) => !victimFlows.includes(f));
      return {
        victim,
        r,
        back,
        k: r.value,
        a,
        victimFlows,
        others,
        survivors: countFlows(others, a.start, a.end),
        all: countFlows(a.flows, a.start, a.end),
        moved: movedUnits(r.before, r.after, memberAddress(victim)),
      };
    }

    it('b: SIGKILL of a member — its flows are served again within 1 s, no other flow misses an echo', async () => {
      const { victim, r, back, k, a, victimFlows, others, survivors, all, moved } = await killDuringStream(
        (v) => v.observations.find((o) => o.status?.role === 'member')?.member ?? 0,
      );
      const restored = summarizeOutages(victimFlows, k, a.end, k - a.start);
      console.log(
        `[${mode}] b: SIGKILL m${victim}, ${victimFlows.length} of ${a.flows.length} flows on it: ${restorationLine(restored)}; ` +
          `every unit served again (tables) ${ms(r.converged.at - k)} after the kill; other flows: ${survivors.requests} requests, ${survivors.missed} missed ` +
          `(${moved.size} units moved between survivors; sent at ${missedWhen(others, a.start, a.end, k)} after the kill); duplicated ${all.duplicated}; ` +
          `data-plane drops: ${dataPlaneDrops(r.before, r.after, masterCarriesAll)}; kernel drops: ${r.kernelDrops}`,
      );
      expect(victimFlows.length).toBeGreaterThan(0);
      expect(restored.affected).toBeGreaterThan(0);
      expect(restored.notRestored).toBe(0);
      expect(restored.maxMs ?? Infinity).toBeLessThan(RESTORE_WITHIN_MS);
      expect({ survivorsMissed: survivors.missed, duplicated: all.duplicated }).toEqual({ survivorsMissed: 0, duplicated: 0 });
      expect(back.masters).toHaveLength(1);
    });

    it(`c: SIGKILL of the master — a new master, ${masterCarriesAll ? 'every flow' : 'the survivors miss nothing, all flows'} served again within 1 s`, async () => {
      const { victim, r, back, k, a, victimFlows, others, survivors, all, moved } = await killDuringStream((v) => memberNumber(v.masters[0] ?? ''));
      const restored = summarizeOutages(masterCarriesAll ? a.flows : victimFlows, k, a.end, k - a.start);
      const onMoved = countFlows(
        others.filter((f) => moved.has(unitOf(f))),
        a.start,
        a.end,
      );
      const newMaster = r.converged.masters[0];
      console.log(
        `[${mode}] c: SIGKILL master m${victim}, ${victimFlows.length} of ${a.flows.length} flows on it: new master ${newMaster}, every unit served again (tables) ` +
          `${ms(r.converged.at - k)} after the kill; ${masterCarriesAll ? 'all' : 'its'} flows ${restorationLine(restored)}; survivors' flows: ${survivors.requests} requests, ${survivors.missed} missed ` +
          `(${onMoved.missed} of them on the ${moved.size} units the new master then moved between survivors; sent at ${missedWhen(others, a.start, a.end, k)} after the kill); ` +
          `duplicated ${all.duplicated}; data-plane drops: ${dataPlaneDrops(r.before, r.after, masterCarriesAll)}; kernel drops: ${r.kernelDrops}`,
      );
      expect(r.converged.masters).toHaveLength(1);
      expect(newMaster).not.toBe(memberAddress(victim));
      expect(victimFlows.length).toBeGreaterThan(0);
      expect(restored.notRestored).toBe(0);
      expect(restored.maxMs ?? Infinity).toBeLessThan(RESTORE_WITHIN_MS);
      expect({ survivorsMissed: masterCarriesAll ? 0 : survivors.missed, duplicated: all.duplicated }).toEqual({ survivorsMissed: 0, duplicated: 0 });
      expect(back.masters).toHaveLength(1);
    });

    it('d: a fourth member joins — rebalancing moves units to it without a lost echo', async () => {
      let added = 0;
      const r = await streamAround(members + 1, async () => {
        added = await c.add();
      });
      members++;
      const a = attribute(r.result, r.after);
      const j = r.at;
      const beforeJoin = countFlows(a.flows, a.start, j);
      const afterJoin = countFlows(a.flows, j, a.end);
      const moved = movedUnits(r.before, r.after);
      const toNew = r.after.table.owners.filter((o) => o === memberAddress(added)).length;
      const interrupted = summarizeOutages(a.flows, j, a.end);
      console.log(
        `[${mode}] d: m${added} joined: ${toNew} units moved to it (${moved.size} moved in all); the cluster settled ${ms(r.after.since - j)} after the join; ` +
          `from the join: ${afterJoin.requests} requests, ${afterJoin.missed} missed, ${afterJoin.duplicated} duplicated ` +
          `(${interrupted.affected} flows interrupted, longest silence ${ms(interrupted.maxSilentMs)}; missed sent at ${missedWhen(a.flows, j, a.end, j)} after the join); ` +
          `data-plane drops: ${dataPlaneDrops(r.before, r.after, masterCarriesAll)}; kernel drops: ${r.kernelDrops}`,
      );
      expect(toNew).toBeGreaterThan(0);
      expect({ missed: beforeJoin.missed, duplicated: beforeJoin.duplicated }).toEqual({ missed: 0, duplicated: 0 });
      expect({ missed: afterJoin.missed, duplicated: afterJoin.duplicated }).toEqual({ missed: 0, duplicated: 0 });
    });

    it('e: the interconnect cut and healed — one master afterwards, no flow answered twice after convergence', async () => {
      const all = Array.from({ length: members }, (_, k) => k + 1);
      const before = await c.settled(members, 1000);
      const kernel = await c.kernelDrops();
      const stream = await c.stream(STREAM);
      let result: EchoStreamResult;
      let split: ClusterView;
      let converged: ClusterView;
      let cut = 0;
      let healed = 0;
      let router = '';
      try {
        await sleep(LEAD_IN_MS);
        cut = wallNow();
        await c.members.partition(c.name, all);
        for (split = await c.observe(); split.masters.length < members; split = await c.observe()) {
          if (wallNow() - cut > 10_000) throw new Error(`after the cut, ${split.masters.length} masters of ${members} members`);
          await sleep(50);
        }
        await sleep(1000);
        healed = wallNow();
        await c.members.heal(c.name, all);
        converged = await c.converged(members, 20_000);
        await sleep(1500);
        router = await c.routerNeighbour();
        await sleep(2500);
        result = await stream.stop();
      } finally {
        stream.kill();
        await c.members.heal(c.name, all);
      }
      const after = await c.settled(members, 1000);
      const kernelDrops = dropsGrown(kernel, await c.kernelDrops());
      const a = attribute(result, converged);
      const steady = countFlows(a.flows, a.start, cut);
      const duringSplit = countFlows(a.flows, cut, converged.at);
      const afterwards = countFlows(a.flows, converged.at, a.end);
      // Every flow answered again once the healed cluster has had a moment (rejoined members, the master's gratuitous ARP;
      // units a rejoining member gave up are assigned afresh, and what was held for them is dropped rather than risk a second answer).
      const settledAfterwards = countFlows(a.flows, converged.at + 2 * RESTORE_WITHIN_MS, a.end);
      console.log(
        `[${mode}] e: cut → ${members} masters after ${ms(split.at - cut)}; healed → converged (one master ${converged.masters[0]}, every unit served once) ` +
          `${ms(converged.at - healed)} after the heal; while split: ${duringSplit.duplicated} of ${duringSplit.requests} requests answered more than once, ` +
          `${duringSplit.missed} missed; after convergence: ${afterwards.requests} requests, ${afterwards.duplicated} duplicated, ${afterwards.missed} missed; ` +
          `(sent at ${missedWhen(a.flows, converged.at, a.end, converged.at)} after convergence); table changed after convergence: ${after.signature !== converged.signature}; ` +
          `data-plane drops: ${dataPlaneDrops(before, after, masterCarriesAll)}; kernel drops: ${kernelDrops}; router 1.5 s after convergence: ${router}`,
      );
      expect(before.masters).toHaveLength(1);
      expect(converged.masters).toHaveLength(1);
      expect(after.masters).toHaveLength(1);
      expect({ missed: steady.missed, duplicated: steady.duplicated }).toEqual({ missed: 0, duplicated: 0 });
      expect(afterwards.requests).toBeGreaterThan(FLOWS * 100);
      expect(afterwards.duplicated).toBe(0);
      expect({ missedFrom2sAfterConvergence: settledAfterwards.missed }).toEqual({ missedFrom2sAfterConvergence: 0 });
    });
  });
}
