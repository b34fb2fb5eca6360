/** The daemon configuration's "outer" and "inner" sections: checks that span both sides, each a one-line error. */
import { describe, expect, it } from 'vitest';
import { parseDaemonConfig } from '../../src/daemon/config.js';

const BASE = {
  cluster: { name: 'lab' },
  member: { address: '198.18.3.11', certificate: 'm1.pem', key: 'm1.key' },
  trust: { ca: ['ca.pem'] },
  outer: { tap: 'tapo', address: '198.18.1.10', subnet: '198.18.1.0/24', gateway: '198.18.1.1' },
  inner: { tap: 'tapi', address: '198.18.2.1', subnet: '198.18.2.0/24' },
};

const parse = (over: Record<string, unknown>) => parseDaemonConfig({ ...BASE, ...over }, (p) => p);

describe('config outer and inner', () => {
  it('takes a TAP for each side', () => {
    const c = parse({});
    expect([c.outer?.tap, c.inner?.tap]).toEqual(['tapo', 'tapi']);
  });

  it('refuses one TAP named for both sides, in one line naming the field', () => {
    expect(() => parse({ inner: { ...BASE.inner, tap: 'tapo' } })).toThrow(
      expect.objectContaining({ code: 'BAD_CONFIG', message: "config: inner.tap: 'tapo' is also outer.tap: the outer and inner sides need a TAP each" }),
    );
  });
});
