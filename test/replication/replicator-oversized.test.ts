/**
 * Regression (issue 11): a record larger than one StateSync message used to
 * go out alone in an oversized payload, and the StateSync encoder threw in
 * the daemon's flush (setImmediate), ending the owner. Now the replicator
 * refuses it (counted, reported, sent as a tombstone) and everything else of
 * the flush is still replicated; the driver's entry points never let an
 * exception out.
 */
import { describe, expect, it } from 'vitest';
import { writeBody } from '../../src/cluster/control-codec/bodies.js';
import { MessageType } from '../../src/cluster/messages.js';
import type { Action } from '../../src/cluster/membership/actions.js';
import type { MemberCore } from '../../src/cluster/membership/core.js';
import { sealState } from '../../src/cluster/membership/state-crypto.js';
import { ReplicationDriver } from '../../src/daemon/replication-driver.js';
import type { MemberRunner } from '../../src/daemon/member-runner.js';
import { SeededRandom } from '../../src/lib/random.js';
import { ByteWriter } from '../../src/wire/byte-writer.js';
import { DEFAULT_REPLICATOR_OPTIONS, Replicator, type ReplicatorOutput } from '../../src/replication/replicator.js';

const APP = 1;
const KEY = new Uint8Array(32).fill(7);

/** What the core does with a sync: seal it and write the StateSync body (the encoder that threw). */
function encodeAsStateSync(o: Extract<ReplicatorOutput, { kind: 'sync' }>): Uint8Array {
  const payload = sealState(KEY, new SeededRandom(1), o.app, o.unit, o.syncSeq, o.payload);
  const w = new ByteWriter();
  writeBody(w, { type: MessageType.StateSync, app: o.app, unit: o.unit, syncSeq: o.syncSeq, payload });
  return w.finish();
}

function pair(): { a: Replicator; b: Replicator } {
  const a = new Replicator(1, () => [], () => []);
  const b = new Replicator(2, () => [], () => []);
  a.membersChanged(0, [1, 2], [], []);
  b.membersChanged(0, [1, 2], [], []);
  return { a, b };
}

describe('a record too large for one StateSync message', () => {
  it('is refused with a counter and a tombstone; the flush never throws and the rest is replicated', () => {
    const { a, b } = pair();
    const big = new Uint8Array(60_000).fill(1);
    // An older version reached the peer first: it must not be served as current afterwards.
    a.publish(1, APP, 5, 'big', Uint8Array.of(1));
    for (const o of a.flush(1)) if (o.kind === 'sync') b.onSync(1, 1, o.app, o.unit, o.syncSeq, o.payload);
    expect(b.records(APP, 5).map((r) => r.key)).toEqual(['big']);

    a.publish(2, APP, 5, 'small-1', Uint8Array.of(1, 2, 3));
    a.publish(2, APP, 5, 'big', big);
    a.publish(2, APP, 5, 'small-2', new Uint8Array(30_000).fill(2));
    a.publish(2, APP, 6, 'other-unit', Uint8Array.of(4));
    let outs: ReplicatorOutput[] = [];
    expect(() => (outs = a.flush(2))).not.toThrow();

    const syncs = outs.filter((o): o is Extract<ReplicatorOutput, { kind: 'sync' }> => o.kind === 'sync');
    for (const o of syncs) {
      expect(o.payload.length).toBeLessThanOrEqual(DEFAULT_REPLICATOR_OPTIONS.maxPayload);
      expect(() => encodeAsStateSync(o)).not.toThrow();
    }
    expect(outs.filter((o) => o.kind === 'refused')).toEqual([{ kind: 'refused', app: APP, unit: 5, key: 'big', bytes: 60_000 + 2 + 3 + 4 + 1 + 4 }]);
    expect(a.counters.get('refused.too-large')).toBe(1);

    for (const o of syncs) b.onSync(3, 1, o.app, o.unit, o.syncSeq, o.payload);
    expect(b.records(APP, 5).map((r) => r.key).sort()).toEqual(['small-1', 'small-2']);
    expect(b.records(APP, 6).map((r) => r.key)).toEqual(['other-unit']);
  });

  it('a record exactly at the limit still goes out whole', () => {
    const { a, b } = pair();
    const overhead = 2 + 2 + 'k'.length + 4 + 1 + 4;
    a.publish(1, APP, 9, 'k', new Uint8Array(DEFAULT_REPLICATOR_OPTIONS.maxPayload - overhead));
    const outs = a.flush(1);
    expect(outs.filter((o) => o.kind === 'refused')).toEqual([]);
    for (const o of outs) if (o.kind === 'sync') b.onSync(1, 1, o.app, o.unit, o.syncSeq, o.payload);
    expect(b.records(APP, 9)[0]?.body?.length).toBe(DEFAULT_REPLICATOR_OPTIONS.maxPayload - overhead);
  });
});

describe('ReplicationDriver', () => {
  it('a core that throws on one message costs that message only: nothing escapes the flush, the rest is sent', async () => {
    const sent: number[] = [];
    const core = {
      self: 1,
      servedUnits: () => [],
      stateSync(_now: number, _to: unknown, _app: number, unit: number): Action[] {
        if (unit === 5) throw new RangeError('payload: 70000 bytes exceeds 60000');
        sent.push(unit);
        return [];
      },
      stateAck: (): Action[] => [],
    } as unknown as MemberCore;
    const runner = { applyActions: (): void => undefined } as unknown as MemberRunner;
    const lines: { level: string; event: string }[] = [];
    const log = { log: (level: string, event: string) => void lines.push({ level, event }) };
    const driver = new ReplicationDriver(core, runner, { now: () => 0, wallNow: () => 0 }, { after: () => () => undefined }, log, () => []);
    driver.onAction({ kind: 'members-changed', members: [1, 2], added: [2], removed: [] } as Action);
    driver.publish(0, APP, 5, 'a', Uint8Array.of(1));
    driver.publish(0, APP, 6, 'b', Uint8Array.of(2));
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(sent).toContain(6);
    expect(driver.counters().failed).toBe(1);
    expect(lines).toContainEqual({ level: 'error', event: 'replication.send-failed' });
    driver.stop();
  });
});
