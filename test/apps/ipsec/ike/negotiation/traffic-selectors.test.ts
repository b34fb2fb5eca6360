import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatSelector,
  intersect,
  narrow,
  narrowForClient,
  selectorContains,
  selectorFromPrefix,
  selectorWithin,
  type Ipv4Selector,
} from '../../../../../src/apps/ipsec/ike/negotiation/traffic-selectors.js';
import { parseIpv4 } from '../../../../../src/lib/ipv4.js';
import type { TrafficSelector } from '../../../../../src/wire/ike/ts.js';

const ip = parseIpv4;
const TCP = 6;
const UDP = 17;

function range(start: string, end: string, protocol = 0, startPort = 0, endPort = 0xffff): Ipv4Selector {
  return { family: 'ipv4', protocol, startPort, endPort, start: ip(start), end: ip(end) };
}

const ANY4 = selectorFromPrefix(0, 0);
const ANY6: TrafficSelector = { family: 'ipv6', protocol: 0, startPort: 0, endPort: 0xffff, start: new Uint8Array(16), end: new Uint8Array(16).fill(0xff) };

describe('narrowForClient: strongSwan remote-access requests', () => {
  const policy = { virtualAddress: ip('10.8.0.5'), protectedNetworks: [{ address: ip('10.1.0.0'), prefixLength: 16 }, { address: ip('192.168.50.0'), prefixLength: 24 }] };

  it('narrows TSi 0.0.0.0/0 (+ ::/0) to the virtual address and TSr 0.0.0.0/0 to our networks', () => {
    const r = narrowForClient([ANY4, ANY6], [ANY4, ANY6], policy);
    expect(r).toEqual({ tsi: [selectorFromPrefix(ip('10.8.0.5'), 32)], tsr: [selectorFromPrefix(ip('10.1.0.0'), 16), selectorFromPrefix(ip('192.168.50.0'), 24)] });
    if (typeof r !== 'string') expect([...r.tsi, ...r.tsr].map(formatSelector)).toEqual(['10.8.0.5/32', '10.1.0.0/16', '192.168.50.0/24']);
  });

  it('keeps a narrower TSr and the protocol the client asked for', () => {
    const r = narrowForClient([range('0.0.0.0', '255.255.255.255', UDP)], [range('10.1.2.0', '10.1.2.255'), range('172.16.0.0', '172.16.255.255')], policy);
    expect(r).toEqual({ tsi: [{ ...selectorFromPrefix(ip('10.8.0.5'), 32), protocol: UDP }], tsr: [range('10.1.2.0', '10.1.2.255')] });
  });

  it('without a virtual address narrows TSi against anything', () => {
    const own = selectorFromPrefix(ip('198.51.100.7'), 32);
    expect(narrowForClient([own, ANY6], [ANY4], { ...policy, virtualAddress: null })).toMatchObject({ tsi: [own] });
  });

  it('answers TS_UNACCEPTABLE when nothing is left', () => {
    expect(narrowForClient([selectorFromPrefix(ip('198.51.100.7'), 32)], [ANY4], policy)).toBe('ts-unacceptable');
    expect(narrowForClient([ANY4], [selectorFromPrefix(ip('172.16.0.0'), 12)], policy)).toBe('ts-unacceptable');
    expect(narrowForClient([ANY6], [ANY4], policy)).toBe('ts-unacceptable');
    expect(narrowForClient([ANY4], [ANY4], { ...policy, protectedNetworks: [] })).toBe('ts-unacceptable');
  });
});

describe('narrow', () => {
  it('intersects protocols and port ranges', () => {
    expect(intersect(range('10.0.0.0', '10.0.0.255', TCP, 80, 90), ANY4)).toEqual(range('10.0.0.0', '10.0.0.255', TCP, 80, 90));
    expect(intersect(range('10.0.0.0', '10.0.0.255', TCP), range('10.0.0.0', '10.0.0.255', UDP))).toBeNull();
    expect(intersect(range('10.0.0.0', '10.0.0.255', TCP, 80, 90), range('10.0.0.128', '10.0.1.0', 0, 85, 100))).toEqual(range('10.0.0.128', '10.0.0.255', TCP, 85, 90));
    expect(intersect(range('10.0.0.0', '10.0.0.255', 0, 1, 10), range('10.0.0.0', '10.0.0.255', 0, 11, 20))).toBeNull();
  });

  it('treats OPAQUE ports (65535-0) as inside "any port" only', () => {
    const opaque = range('10.0.0.0', '10.0.0.255', UDP, 0xffff, 0);
    expect(intersect(opaque, ANY4)).toEqual(opaque);
    expect(intersect(opaque, range('0.0.0.0', '255.255.255.255', 0, 0, 1000))).toBeNull();
    expect(formatSelector(opaque)).toBe('10.0.0.0/24[udp/opaque]');
    expect(selectorContains(opaque, ip('10.0.0.1'), UDP)).toBe(true);
    expect(selectorContains(opaque, ip('10.0.0.1'), UDP, 53)).toBe(false);
  });

  it('drops IPv6, unknown types and malformed ranges', () => {
    const other: TrafficSelector = { family: 'other', tsType: 9, protocol: 0, data: new Uint8Array(4) };
    expect(narrow([ANY6, other, range('10.0.0.9', '10.0.0.1'), range('10.0.0.0', '10.0.0.9', 0, 9, 1)], [ANY4])).toEqual([]);
  });

  it('folds pieces inside another piece and leads with the first selector\'s narrowing (§2.9)', () => {
    const specific = range('10.1.2.3', '10.1.2.3', TCP, 443, 443);
    const other = range('192.168.0.0', '192.168.0.255');
    const wide = range('10.1.0.0', '10.1.255.255');
    expect(narrow([specific, other, wide], [selectorFromPrefix(ip('10.0.0.0'), 8), selectorFromPrefix(ip('192.168.0.0'), 16)])).toEqual([wide, other]);
    expect(narrow([specific, wide], [selectorFromPrefix(ip('10.1.2.0'), 24)])).toEqual([range('10.1.2.0', '10.1.2.255')]);
    expect(narrow([wide, wide], [ANY4])).toEqual([wide]);
    // the first selector is allowed whole by the second allowed range: the piece holding all of it leads
    const first = range('10.0.0.0', '10.0.0.255');
    const across = range('9.255.255.0', '10.0.1.255');
    const allowed = [range('9.0.0.0', '10.0.0.127'), range('10.0.0.0', '10.0.1.255')];
    expect(narrow([first, across], allowed)).toEqual([range('10.0.0.0', '10.0.1.255'), range('9.255.255.0', '10.0.0.127')]);
  });

  it('formats selectors', () => {
    expect(formatSelector(range('10.0.0.1', '10.0.0.9', TCP, 80, 90))).toBe('10.0.0.1..10.0.0.9[tcp/80-90]');
    expect(formatSelector(range('0.0.0.0', '255.255.255.255', 0, 53, 53))).toBe('0.0.0.0/0[any/53]');
    expect(formatSelector(range('10.0.0.0', '10.0.0.255', 50))).toBe('10.0.0.0/24[50]');
  });

  it('builds prefixes and tests membership', () => {
    expect(selectorFromPrefix(ip('10.1.2.3'), 16)).toEqual(range('10.1.0.0', '10.1.255.255'));
    expect(selectorFromPrefix(ip('255.255.255.255'), 0)).toEqual(ANY4);
    expect(selectorFromPrefix(ip('10.1.2.3'), 32, TCP)).toEqual(range('10.1.2.3', '10.1.2.3', TCP));
    expect(() => selectorFromPrefix(0, 33)).toThrow(RangeError);
    const web = range('10.0.0.0', '10.0.0.255', TCP, 80, 80);
    expect(selectorContains(web, ip('10.0.0.7'), TCP, 80)).toBe(true);
    expect(selectorContains(web, ip('10.0.0.7'), UDP, 80)).toBe(false);
    expect(selectorContains(web, ip("10.0.1.7"))).toBe(false);
    expect(selectorContains(ANY6, 0)).toBe(false);
  });
});

/** Small address/port domains so random selectors overlap often. */
const address = fc.integer({ min: 0, max: 40 }).map((n) => (0xc0a80000 + n) >>> 0);
const port = fc.integer({ min: 0, max: 12 });
const ipv4Selector: fc.Arbitrary<TrafficSelector> = fc
  .record({ a: address, b: address, protocol: fc.constantFrom(0, TCP, UDP), p: port, q: port, ports: fc.constantFrom('range', 'any', 'opaque') })
  .map(({ a, b, protocol, p, q, ports }) => ({
    family: 'ipv4',
    protocol,
    start: Math.min(a, b),
    end: Math.max(a, b),
    startPort: ports === 'any' ? 0 : ports === 'opaque' ? 0xffff : Math.min(p, q),
    endPort: ports === 'any' ? 0xffff : ports === 'opaque' ? 0 : Math.max(p, q),
  }));
const selector = fc.oneof({ weight: 8, arbitrary: ipv4Selector }, { weight: 1, arbitrary: fc.constant(ANY6) });
const selectors = fc.array(selector, { minLength: 0, maxLength: 6 });
const point = fc.record({ address, protocol: fc.constantFrom(TCP, UDP, 1), port: port });

describe('narrow: properties', () => {
  it('every result lies within an offered and an allowed selector', () => {
    fc.assert(
      fc.property(selectors, selectors, (offered, allowed) => {
        for (const r of narrow(offered, allowed)) {
          expect(offered.some((o) => selectorWithin(r, o))).toBe(true);
          expect(allowed.some((a) => selectorWithin(r, a))).toBe(true);
        }
      }),
    );
  });

  it('covers exactly the packets both sides cover (reference model: point membership)', () => {
    fc.assert(
      fc.property(selectors, selectors, fc.array(point, { maxLength: 20 }), (offered, allowed, points) => {
        const result = narrow(offered, allowed);
        for (const p of points) {
          const inBoth = offered.some((o) => selectorContains(o, p.address, p.protocol, p.port)) && allowed.some((a) => selectorContains(a, p.address, p.protocol, p.port));
          expect(result.some((r) => selectorContains(r, p.address, p.protocol, p.port))).toBe(inBoth);
        }
      }),
    );
  });

  it('is idempotent', () => {
    fc.assert(
      fc.property(selectors, selectors, (offered, allowed) => {
        const once = narrow(offered, allowed);
        expect(narrow(once, allowed)).toEqual(once);
      }),
    );
  });

  it('leaves nothing of disjoint address ranges', () => {
    fc.assert(
      fc.property(selectors, fc.integer({ min: 0, max: 100 }), (offered, n) => {
        const elsewhere = selectorFromPrefix((0x0a000000 + n * 256) >>> 0, 24);
        expect(narrow(offered, [elsewhere])).toEqual([]);
      }),
    );
  });

  it('keeps the initiator\'s first choice when the policy allows it', () => {
    fc.assert(
      fc.property(selectors, selectors, (offered, allowed) => {
        const first = offered[0];
        if (first === undefined || !allowed.some((a) => selectorWithin(first, a))) return;
        const head = narrow(offered, allowed)[0];
        expect(head !== undefined && selectorWithin(first, head)).toBe(true);
      }),
    );
  });
});
