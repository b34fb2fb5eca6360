/** The log ring behind `shoal log`: bounded, newest last, filtered by level; the JSON logger feeds it what it writes. */
import { describe, expect, it } from 'vitest';
import { LogRing, jsonLogger } from '../../src/mgmt/log.js';

describe('LogRing', () => {
  it('keeps the newest lines, oldest dropped first, and returns the last n oldest first', () => {
    const ring = new LogRing(3);
    for (let i = 1; i <= 5; i++) ring.push('info', `l${i}`);
    expect(ring.last(10)).toEqual(['l3', 'l4', 'l5']);
    expect(ring.last(2)).toEqual(['l4', 'l5']);
  });

  it('filters by level: warn keeps warn and error', () => {
    const ring = new LogRing(10);
    ring.push('debug', 'd');
    ring.push('info', 'i');
    ring.push('warn', 'w');
    ring.push('error', 'e');
    ring.push('info', 'i2');
    expect(ring.last(10, 'warn')).toEqual(['w', 'e']);
    expect(ring.last(1, 'warn')).toEqual(['e']);
    expect(ring.last(10, 'debug')).toEqual(['d', 'i', 'w', 'e', 'i2']);
  });

  it('refuses a capacity below 1', () => {
    expect(() => new LogRing(0)).toThrow(RangeError);
  });
});

describe('jsonLogger', () => {
  it('writes JSON lines at or above its level, and the ring holds exactly those lines', () => {
    const written: string[] = [];
    const ring = new LogRing(10);
    const log = jsonLogger((l) => written.push(l), 'info', { self: '198.18.3.11' }, ring);
    log.log('debug', 'hidden');
    log.log('info', 'started', { port: 5400 });
    log.log('warn', 'late', { ms: 120 });
    expect(written).toHaveLength(2);
    expect(ring.last(10)).toEqual(written.map((l) => l.trimEnd()));
    const parsed = JSON.parse(written[1]!) as Record<string, unknown>;
    expect(parsed).toMatchObject({ level: 'warn', event: 'late', self: '198.18.3.11', ms: 120 });
    expect(ring.last(10, 'warn')).toEqual([written[1]!.trimEnd()]);
  });
});
