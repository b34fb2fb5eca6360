/**
 * The echo stream's pure analysis: windows (missed, duplicated), outages
 * after an instant (restoration, silence), the unit of a flow, and flows
 * grouped by the member serving their unit.
 */
import { describe, expect, it } from 'vitest';
import { classifyInbound } from '../../src/cluster/filter.js';
import { UNIT_COUNT } from '../../src/cluster/types.js';
import {
  badFlows,
  countFlows,
  countWindow,
  flowUnit,
  groupByOwner,
  histogram,
  missedSendTimes,
  outageAfter,
  percentile,
  servedTable,
  streamEnd,
  summarizeOutages,
  toSeries,
  type FlowSeries,
} from '../../src/lab/echo-stream-analysis.js';
import { parseStreamPayload, streamPayload, type EchoStreamResult, type StreamFlowRecord } from '../../src/lab/echo-stream.js';
import { CLUSTER } from '../../src/lab/plan.js';
import { parseIpv4 } from '../../src/lib/ipv4.js';
import { IP_PROTOCOL, encodeIpv4 } from '../../src/wire/ipv4.js';
import { encodeUdp } from '../../src/wire/udp.js';

const EPOCH = 1_700_000_000_000;

/** A flow sending every 20 ms from t=0; `echo(seq)` gives the reply delays (ms) of each request. */
function flow(src: string, port: number, count: number, echo: (seq: number) => number[]): StreamFlowRecord {
  const sent = Array.from({ length: count }, (_, k) => k * 20);
  const replies: [number, number][] = [];
  sent.forEach((t, seq) => {
    for (const d of echo(seq)) replies.push([seq, t + d]);
  });
  replies.sort((a, b) => a[1] - b[1]);
  return { src, port, sent, replies };
}

function result(flows: StreamFlowRecord[]): EchoStreamResult {
  const last = Math.max(...flows.map((f) => f.sent.length)) - 1;
  return { target: CLUSTER.outsideAddress, port: 7, intervalMs: 20, epoch: EPOCH, startedAt: 0, stoppedAt: last * 20, flows, stray: 0, sendErrors: 0 };
}

describe('toSeries', () => {
  it('turns relative times into wall-clock ones and groups the echoes by sequence number', () => {
    const r = result([flow('198.18.16.10', 41000, 3, (s) => (s === 1 ? [] : s === 2 ? [1, 3] : [2]))]);
    const [f] = toSeries(r);
    expect(f?.sent).toEqual([EPOCH, EPOCH + 20, EPOCH + 40]);
    expect(f?.replies).toEqual([[EPOCH + 2], [], [EPOCH + 41, EPOCH + 43]]);
    expect(streamEnd(r)).toBe(EPOCH + 40);
  });

  it('keeps a failed send as not sent', () => {
    const r = result([{ src: '198.18.16.10', port: 41000, sent: [0, null, 40], replies: [[0, 1], [2, 41]] }]);
    const [f] = toSeries(r);
    expect(f?.sent).toEqual([EPOCH, null, EPOCH + 40]);
    expect(f && countWindow(f, EPOCH, EPOCH + 100)).toEqual({ requests: 2, answered: 2, missed: 0, duplicated: 0 });
  });
});

describe('countWindow', () => {
  // seq 0..49; 10..14 lost; 20 and 21 answered twice.
  const [f] = toSeries(result([flow('198.18.16.10', 41000, 50, (s) => (s >= 10 && s < 15 ? [] : s === 20 || s === 21 ? [1, 2] : [1]))])) as [FlowSeries];

  it('counts requests sent in the window, inclusive at both ends', () => {
    expect(countWindow(f, EPOCH, EPOCH + 49 * 20)).toEqual({ requests: 50, answered: 45, missed: 5, duplicated: 2 });
    expect(countWindow(f, EPOCH + 12 * 20, EPOCH + 20 * 20)).toEqual({ requests: 9, answered: 6, missed: 3, duplicated: 1 });
    expect(countWindow(f, EPOCH + 30 * 20, EPOCH + 40 * 20)).toEqual({ requests: 11, answered: 11, missed: 0, duplicated: 0 });
    expect(countWindow(f, EPOCH - 100, EPOCH - 1)).toEqual({ requests: 0, answered: 0, missed: 0, duplicated: 0 });
  });

  it('sums over flows and names the bad ones', () => {
    const g = toSeries(result([flow('198.18.16.11', 41001, 50, () => [1])]))[0] as FlowSeries;
    expect(countFlows([f, g], EPOCH, EPOCH + 1000)).toEqual({ requests: 100, answered: 95, missed: 5, duplicated: 2 });
    expect(badFlows([f, g], EPOCH, EPOCH + 1000)).toEqual({ missed: ['198.18.16.10:41000'], duplicated: ['198.18.16.10:41000'] });
    expect(badFlows([f, g], EPOCH + 600, EPOCH + 1000)).toEqual({ missed: [], duplicated: [] });
  });
});

describe('missedSendTimes and histogram', () => {
  it('lists when the unanswered requests were sent, and counts them per bucket after an origin', () => {
    const flows = toSeries(
      result([flow('198.18.16.10', 41000, 50, (s) => (s >= 10 && s < 15 ? [] : [1])), flow('198.18.16.11', 41000, 50, (s) => (s === 30 ? [] : [1]))]),
    );
    const times = missedSendTimes(flows, EPOCH, EPOCH + 1000);
    expect(times.map((t) => t - EPOCH)).toEqual([200, 220, 240, 260, 280, 600]);
    expect(missedSendTimes(flows, EPOCH + 250, EPOCH + 1000).map((t) => t - EPOCH)).toEqual([260, 280, 600]);
    expect(histogram(times, EPOCH + 250, 100)).toEqual('-100 ms: 3, +0 ms: 2, +300 ms: 1');
    expect(histogram([], EPOCH, 100)).toBe('');
  });
});

describe('outageAfter', () => {
  // Requests 25..49 (sent 500..980 ms) lost, echo after 2 ms otherwise; the instant is 505 ms.
  const [f] = toSeries(result([flow('198.18.16.10', 41000, 100, (s) => (s >= 25 && s < 50 ? [] : [2]))])) as [FlowSeries];

  it('restoration: the first echo of a request sent after the last missed one, from the instant', () => {
    const o = outageAfter(f, EPOCH + 505, EPOCH + 99 * 20, 20);
    expect(o.missed).toBe(25);
    expect(o.restoredAt).toBe(EPOCH + 1002);
    expect(o.restorationMs).toBe(497);
    // Silent from the echo of request 24 (482 ms) to 1002 ms.
    expect(o.silentMs).toBe(520);
  });

  it('without a lookback, a request in flight at the instant is not counted', () => {
    expect(outageAfter(f, EPOCH + 505, EPOCH + 99 * 20).missed).toBe(24);
  });

  it('an unaffected flow has restoration 0; one never served again has null', () => {
    const [ok, dead] = toSeries(result([flow('198.18.16.10', 41000, 100, () => [2]), flow('198.18.16.10', 41001, 100, (s) => (s >= 25 ? [] : [2]))]));
    expect(ok && outageAfter(ok, EPOCH + 505, EPOCH + 1980)).toEqual({ missed: 0, restoredAt: null, restorationMs: 0, silentMs: 0 });
    expect(dead && outageAfter(dead, EPOCH + 505, EPOCH + 1980)).toMatchObject({ missed: 74, restoredAt: null, restorationMs: null });
  });

  it('summarizes affected flows: median, 95th percentile, worst, never restored', () => {
    const flows = toSeries(
      result([
        flow('198.18.16.10', 41000, 100, () => [2]),
        flow('198.18.16.10', 41001, 100, (s) => (s >= 25 && s < 40 ? [] : [2])),
        flow('198.18.16.10', 41002, 100, (s) => (s >= 25 && s < 50 ? [] : [2])),
        flow('198.18.16.10', 41003, 100, (s) => (s >= 25 ? [] : [2])),
      ]),
    );
    const s = summarizeOutages(flows, EPOCH + 500, EPOCH + 1980);
    expect(s).toEqual({ flows: 4, affected: 3, notRestored: 1, missed: 15 + 25 + 75, medianMs: 302, p95Ms: 502, maxMs: 502, maxSilentMs: 520 });
  });
});

describe('percentile', () => {
  it('nearest rank', () => {
    expect(percentile([], 0.5)).toBeNull();
    expect(percentile([5], 0.95)).toBe(5);
    expect(percentile([4, 1, 3, 2], 0.5)).toBe(2);
    expect(percentile(Array.from({ length: 100 }, (_, k) => k + 1), 0.95)).toBe(95);
  });
});

describe('flowUnit', () => {
  it('is the filter run on the datagram the flow sends', () => {
    for (const [src, port] of [['198.18.16.10', 41000], ['198.18.16.29', 41009], ['198.18.16.2', 40000]] as const) {
      const s = parseIpv4(src);
      const d = parseIpv4(CLUSTER.outsideAddress);
      const udp = encodeUdp({ srcPort: port, dstPort: 7, payload: new TextEncoder().encode('anything at all') }, { src: s, dst: d });
      const packet = encodeIpv4({
        header: { dscp: 0, ecn: 0, id: 99, dontFragment: true, moreFragments: false, fragmentOffset: 0, ttl: 63, protocol: IP_PROTOCOL.UDP, src: s, dst: d, options: new Uint8Array(0) },
        payload: udp,
      });
      expect(flowUnit(src, port, CLUSTER.outsideAddress, 7)).toBe(classifyInbound(packet));
    }
  });

  it('spreads 200 stream flows over many units', () => {
    const units = new Set<number>();
    for (let a = 0; a < 20; a++) for (let p = 0; p < 10; p++) units.add(flowUnit(`198.18.16.${10 + a}`, 41000 + p, CLUSTER.outsideAddress, 7));
    expect([...units].every((u) => u >= 0 && u < UNIT_COUNT)).toBe(true);
    expect(units.size).toBeGreaterThan(150);
  });
});

describe('servedTable and groupByOwner', () => {
  it('finds the one server of each unit, and the units served by none or by several', () => {
    const all = Array.from({ length: UNIT_COUNT }, (_, u) => u);
    const t = servedTable([
      { self: 'a', served: all.filter((u) => u % 2 === 0 && u !== 4) },
      { self: 'b', served: all.filter((u) => u % 2 === 1 || u === 6) },
    ]);
    expect(t.owners[0]).toBe('a');
    expect(t.owners[1]).toBe('b');
    expect(t.owners[4]).toBeNull();
    expect(t.owners[6]).toBeNull();
    expect(t.unserved).toEqual([4]);
    expect(t.shared).toEqual([6]);
  });

  it('groups flows by the owner of their unit', () => {
    const flows = [
      { src: 'x', port: 1, unit: 0 },
      { src: 'y', port: 2, unit: 1 },
      { src: 'z', port: 3, unit: 0 },
      { src: 'w', port: 4, unit: 2 },
    ];
    const g = groupByOwner(flows, ['a', 'b', null], (f) => f.unit);
    expect(g.get('a')?.map((f) => f.src)).toEqual(['x', 'z']);
    expect(g.get('b')?.map((f) => f.src)).toEqual(['y']);
    expect(g.get(null)?.map((f) => f.src)).toEqual(['w']);
  });
});

describe('stream payloads', () => {
  it('name the flow and the sequence number, and nothing else parses', () => {
    expect(parseStreamPayload(streamPayload('198.18.16.10', 41003, 1234))).toEqual({ src: '198.18.16.10', port: 41003, seq: 1234 });
    expect(parseStreamPayload('198.18.16.10:41003')).toBeNull();
    expect(parseStreamPayload('hello')).toBeNull();
    expect(parseStreamPayload('198.18.16.10:41003:12:x')).toBeNull();
  });
});
