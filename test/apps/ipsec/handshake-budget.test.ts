import { describe, expect, it } from 'vitest';
import { HANDSHAKE_QUEUE_BYTES, HANDSHAKE_QUEUE_MAX, HandshakeBudget, isHandshake } from '../../../src/apps/ipsec/handshake-budget.js';

const from = { ip: 0xc6120009, port: 500 };
const msg = (n: number, fill = 0): Uint8Array => new Uint8Array(n).fill(fill);

describe('HandshakeBudget', () => {
  it('allows perTurn handshakes per value of now, then refuses until the next turn', () => {
    const b = new HandshakeBudget(2);
    expect([b.spend(1), b.spend(1), b.spend(1)]).toEqual([true, true, false]);
    expect(b.spend(2)).toBe(true);
  });

  it('hands deferred handshakes back oldest first, within the turn budget, and copies them', () => {
    const b = new HandshakeBudget(2);
    const buf = msg(40, 1);
    for (let i = 0; i < 5; i++) expect(b.defer({ unit: i, from, localPort: 500, message: buf })).toBe(true);
    buf.fill(9);
    expect(b.nextWakeAt()).toBe(-1);
    const turn1 = [b.next(10), b.next(10), b.next(10)];
    expect(turn1.map((h) => h?.unit)).toEqual([0, 1, undefined]);
    expect(turn1[0]!.message[0]).toBe(1);
    expect(b.nextWakeAt()).toBe(10);
    expect([b.next(11)?.unit, b.next(11)?.unit, b.next(12)?.unit, b.next(12)]).toEqual([2, 3, 4, undefined]);
    expect(b.size).toBe(0);
    expect(b.nextWakeAt()).toBe(Infinity);
  });

  it('is bounded in count and in bytes, and frees both as handshakes leave', () => {
    const byCount = new HandshakeBudget(Infinity);
    for (let i = 0; i < HANDSHAKE_QUEUE_MAX; i++) expect(byCount.defer({ unit: 0, from, localPort: 500, message: msg(28) })).toBe(true);
    expect(byCount.defer({ unit: 0, from, localPort: 500, message: msg(28) })).toBe(false);
    expect(byCount.next(1)).toBeDefined();
    expect(byCount.defer({ unit: 0, from, localPort: 500, message: msg(28) })).toBe(true);

    const big = 60_000;
    const byBytes = new HandshakeBudget(Infinity);
    const fits = Math.floor(HANDSHAKE_QUEUE_BYTES / big);
    for (let i = 0; i < fits; i++) expect(byBytes.defer({ unit: 0, from, localPort: 4500, message: msg(big) })).toBe(true);
    expect(byBytes.defer({ unit: 0, from, localPort: 4500, message: msg(big) })).toBe(false);
    expect(byBytes.next(1)).toBeDefined();
    expect(byBytes.defer({ unit: 0, from, localPort: 4500, message: msg(big) })).toBe(true);
  });

  it('keeps FIFO order across the head compaction of a long burst', () => {
    const b = new HandshakeBudget(Infinity);
    for (let i = 0; i < 1000; i++) b.defer({ unit: i, from, localPort: 500, message: msg(28) });
    const seen: number[] = [];
    for (let h = b.next(1); h !== undefined; h = b.next(1)) {
      seen.push(h.unit);
      if (h.unit % 7 === 0 && h.unit < 500) b.defer({ unit: 1000 + h.unit, from, localPort: 500, message: msg(28) });
    }
    const expected = [...Array(1000).keys(), ...[...Array(500).keys()].filter((u) => u % 7 === 0).map((u) => 1000 + u)];
    expect(seen).toEqual(expected);
  });
});

describe('isHandshake', () => {
  it('is IKE_SA_INIT (zero responder SPI) or IKE_AUTH, and nothing shorter than a header', () => {
    const init = msg(28);
    init[0] = 1;
    expect(isHandshake(init)).toBe(true);
    const auth = msg(28);
    auth[8] = 1;
    auth[18] = 35;
    expect(isHandshake(auth)).toBe(true);
    const informational = msg(28);
    informational[8] = 1;
    informational[18] = 37;
    expect(isHandshake(informational)).toBe(false);
    expect(isHandshake(msg(27))).toBe(false);
  });
});
