/** The log ring behind `shoal log`: bounded, newest last, filtered by level; the JSON logger feeds it what it writes, every string escaped and cut. */
import { describe, expect, it } from 'vitest';
import { formatLogLine } from '../../src/mgmt/cli/commands/log.js';
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

describe('jsonLogger with strings from the network', () => {
  const lineOf = (fields: Record<string, unknown>, base: Record<string, unknown> = {}): string => {
    const written: string[] = [];
    jsonLogger((l) => written.push(l), 'info', base).log('warn', 'ike-auth-failed', fields);
    expect(written).toHaveLength(1);
    return written[0]!;
  };
  /** What `shoal log` shows an operator. */
  const shown = (line: string): string => formatLogLine(line.trimEnd());
  /** Whether a terminal would act on a character of `s` rather than show it. */
  const hasControl = (s: string): boolean => [...s].some((c) => (c.codePointAt(0) ?? 0) < 0x20 || /[\p{Cc}\p{Cf}]/u.test(c));

  it('escapes control characters, so an identity cannot clear the screen, fake a line or reverse the text', () => {
    const identity = 'fqdn:evil\u001b[2J\u001b]0;pwned\u0007\nlevel=error event=member-removed\u009b31m\u202egnp.exe';
    const line = lineOf({ identity, subject: 'CN=a\rb\u0000c' });
    expect(hasControl(line.trimEnd())).toBe(false);
    expect(hasControl(shown(line))).toBe(false);
    const parsed = JSON.parse(line) as Record<string, string>;
    expect(parsed['identity']).toBe('fqdn:evil\\x1b[2J\\x1b]0;pwned\\x07\\nlevel=error event=member-removed\\x9b31m\\u{202e}gnp.exe');
    expect(parsed['subject']).toBe('CN=a\\rb\\x00c');
    expect(shown(line).split('\n')).toHaveLength(1);
  });

  it('cuts a long string, says how much was cut, and bounds lists, nesting and bytes', () => {
    const vendor = 'V'.repeat(100_000);
    const line = lineOf({ vendor, ids: Array.from({ length: 1000 }, (_, i) => `id${i}`), deep: { a: { b: { c: { d: { e: 1 } } } } }, raw: new Uint8Array(1000) });
    expect(line.length).toBeLessThan(2_000);
    const parsed = JSON.parse(line) as { vendor: string; ids: string[]; deep: unknown; raw: string };
    expect(parsed.vendor).toBe(`${'V'.repeat(512)}…[+99488 chars]`);
    expect(parsed.ids).toHaveLength(65);
    expect(parsed.ids.at(-1)).toBe('…[+936 items]');
    expect(parsed.deep).toEqual({ a: { b: { c: { d: '[object]' } } } });
    expect(parsed.raw).toBe(`${'00'.repeat(64)}…[+936 bytes]`);
  });

  it('leaves ordinary text, numbers and readable Unicode as they are; a backslash is doubled so escapes are unambiguous', () => {
    const parsed = JSON.parse(lineOf({ id: 'email:zoë@example.com', n: 3, ok: true, path: 'C:\\x1b' }, { self: '198.18.3.11' })) as Record<string, unknown>;
    expect(parsed).toMatchObject({ id: 'email:zoë@example.com', n: 3, ok: true, path: 'C:\\\\x1b', self: '198.18.3.11' });
  });
});
