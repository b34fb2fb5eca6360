/**
 * Regression (issue 11): nothing bounded the half-open IKE SAs (in all and
 * per source address), the IKE fragments held per SA (RFC 7383 §5), or the
 * virtual addresses one identity may hold. Each cap is tested at the cap and
 * one past it, through the in-process initiator: past it comes the RFC 7296
 * refusal (TEMPORARY_FAILURE in IKE_SA_INIT, INTERNAL_ADDRESS_FAILURE for an
 * address, the SA dropped for too many fragment bytes) and a counter.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { IPSEC_DEFAULTS, type IpsecLimits } from '../../../src/apps/ipsec/config.js';
import { FragmentCollector, MAX_FRAGMENT_BYTES, MAX_FRAGMENTS } from '../../../src/apps/ipsec/ike/protect.js';
import { IpsecHandler } from '../../../src/apps/ipsec/ipsec-handler.js';
import { parseIpv4 } from '../../../src/lib/ipv4.js';
import { SeededRandom } from '../../../src/lib/random.js';
import { EXCHANGE } from '../../../src/wire/ike/constants.js';
import { NOTIFY } from '../../../src/wire/ike/notify.js';
import type { IkePayload } from '../../../src/wire/ike/payload.js';
import {
  CLIENT_EC_ID,
  HandlerWire,
  IkeInitiator,
  SERVER_IP,
  clientOptions,
  makeTestPki,
  responderDeps,
  type Clock,
  type InitiatorOptions,
  type TestPki,
} from '../../support/ike-initiator.js';

let pki: TestPki;
beforeAll(async () => {
  pki = await makeTestPki();
});

/** One responder; clients made on demand from any address and port. */
function responder(limits: Partial<IpsecLimits>, cookieThreshold = 1000) {
  const clock: Clock = { now: 1_000 };
  const handler = new IpsecHandler(responderDeps(pki, { config: { cookieThreshold, limits } }));
  let seed = 1;
  const client = (ip: string, port: number, who: Parameters<typeof clientOptions>[1] = { psk: true }, more: Partial<InitiatorOptions> = {}): IkeInitiator =>
    new IkeInitiator(clientOptions(new SeededRandom(seed++), who, more), new HandlerWire(handler, clock, { ip: parseIpv4(ip), port }, SERVER_IP));
  return { clock, handler, client, counter: (name: string) => handler.allCounters().get(name) ?? 0 };
}

describe('half-open IKE SAs', () => {
  it('in all: at the cap every IKE_SA_INIT is answered, one past it gets TEMPORARY_FAILURE; a completed one frees a place', () => {
    const r = responder({ halfOpen: 3 });
    const first = r.client('192.0.2.1', 500);
    for (const [i, ini] of [first, r.client('192.0.2.2', 500), r.client('192.0.2.3', 500)].entries()) expect(ini.saInit().kind, `client ${i}`).toBe('ok');
    expect(r.handler.responder.halfOpen()).toBe(3);
    const late = r.client('192.0.2.4', 500);
    expect(late.saInit()).toEqual({ kind: 'error', notify: NOTIFY.TEMPORARY_FAILURE });
    expect(r.handler.responder.halfOpen()).toBe(3);
    expect(r.counter('ike.sa-init.half-open-limit')).toBe(1);
    // IKE_AUTH ends one half-open SA: the next IKE_SA_INIT gets in.
    expect(first.auth().kind).toBe('ok');
    expect(r.handler.responder.halfOpen()).toBe(2);
    expect(r.client('192.0.2.4', 501).saInit().kind).toBe('ok');
  });

  it('per source address: at the cap from one address, one past it refused; other addresses unaffected; a timeout frees it', () => {
    const r = responder({ halfOpenPerSource: 2 });
    expect(r.client('198.51.100.7', 1000).saInit().kind).toBe('ok');
    expect(r.client('198.51.100.7', 1001).saInit().kind).toBe('ok');
    expect(r.client('198.51.100.7', 1002).saInit()).toEqual({ kind: 'error', notify: NOTIFY.TEMPORARY_FAILURE });
    expect(r.counter('ike.sa-init.half-open-per-source-limit')).toBe(1);
    expect(r.client('198.51.100.8', 1000).saInit().kind).toBe('ok');
    expect(r.handler.responder.halfOpenFrom(parseIpv4('198.51.100.7'))).toBe(2);
    r.clock.now += IPSEC_DEFAULTS.halfOpenTimeoutMs + 2_000;
    r.handler.tick(r.clock.now);
    expect(r.handler.responder.halfOpen()).toBe(0);
    expect(r.handler.responder.halfOpenFrom(parseIpv4('198.51.100.7'))).toBe(0);
    expect(r.client('198.51.100.7', 1003).saInit().kind).toBe('ok');
  });

  it('past the cookie threshold only a cookie-proven source reaches the caps', () => {
    const r = responder({ halfOpen: 2 }, 1);
    expect(r.client('192.0.2.10', 500).saInit().kind).toBe('ok');
    const second = r.client('192.0.2.11', 500);
    expect(second.saInit().kind).toBe('ok'); // with the cookie echoed
    const third = r.client('192.0.2.12', 500);
    expect(third.saInit()).toEqual({ kind: 'error', notify: NOTIFY.TEMPORARY_FAILURE });
    expect(r.counter('ike.sa-init.cookie-ok')).toBe(2);
  });
});

describe('IKE fragments held per SA (RFC 7383 §5)', () => {
  const vendor = (n: number): IkePayload => ({ kind: 'vendor', vendorId: new Uint8Array(n).fill(0x42) });

  /** IKE_AUTH with `extra` bytes of Vendor IDs, sent in SKF fragments of `fragment` bytes. */
  function fragmentedAuth(extra: number[], fragment: number) {
    const r = responder({});
    const ini = r.client('203.0.113.60', 500, { psk: true }, { requestFragmentSize: fragment });
    expect(ini.saInit().kind).toBe('ok');
    const spi = 0x1234;
    const datagrams = ini.sealRequest(EXCHANGE.IKE_AUTH, [...ini.authPayloads(spi), ...extra.map(vendor)]);
    const answers = ini.wire.exchange(datagrams, ini.port);
    return { r, ini, datagrams, answers, spi };
  }

  it('a request just under MAX_FRAGMENT_BYTES is reassembled and answered', () => {
    const { r, ini, datagrams, answers, spi } = fragmentedAuth([MAX_FRAGMENT_BYTES - 2_000], 4_000);
    expect(datagrams.length).toBeLessThanOrEqual(MAX_FRAGMENTS);
    const payloads = ini.openResponse(answers);
    expect(payloads).not.toBeNull();
    expect(ini.onAuthResponse(payloads!, spi).kind).toBe('ok');
    expect(r.counter('ike.auth.ok')).toBe(1);
  });

  it('one whose fragments pass MAX_FRAGMENT_BYTES drops them and the SA, counted', () => {
    const { r, datagrams, answers } = fragmentedAuth([40_000, 40_000], 4_000);
    expect(datagrams.length).toBeLessThanOrEqual(MAX_FRAGMENTS);
    expect(answers).toEqual([]);
    expect(r.counter('ike.drop.fragments-over-limit')).toBe(1);
    expect(r.counter('ike.removed.fragments-over-limit')).toBe(1);
    expect(r.handler.responder.state.sas.size).toBe(0);
  });

  it('the collector holds MAX_FRAGMENTS pieces, refuses a message of one more, and counts bytes, not pieces', () => {
    const c = new FragmentCollector();
    const piece = new Uint8Array(10);
    for (let i = 1; i < MAX_FRAGMENTS; i++) expect(c.add(0, 1, i, MAX_FRAGMENTS, 0, piece)).toBeNull();
    expect(c.add(0, 1, MAX_FRAGMENTS, MAX_FRAGMENTS, 0, piece)).toMatchObject({ plain: new Uint8Array(10 * MAX_FRAGMENTS) });
    expect(c.add(0, 2, 1, MAX_FRAGMENTS + 1, 0, piece)).toBe('over-limit');
    expect(c.held).toBe(0);
    expect(c.add(0, 3, 1, 2, 0, new Uint8Array(MAX_FRAGMENT_BYTES))).toBeNull();
    expect(c.add(0, 3, 1, 2, 0, new Uint8Array(MAX_FRAGMENT_BYTES))).toBeNull(); // a resent piece replaces, not adds
    expect(c.add(0, 3, 2, 2, 0, new Uint8Array(1))).toBe('over-limit');
    expect(c.held).toBe(0);
  });
});

describe('virtual addresses per identity', () => {
  it('at the cap an identity still gets an address; one past it INTERNAL_ADDRESS_FAILURE (the IKE SA stands); others unaffected', () => {
    const r = responder({ virtualAddressesPerIdentity: 2 });
    const a = r.client('203.0.113.1', 500);
    expect(a.connect().virtualAddress).not.toBeNull();
    expect(r.client('203.0.113.2', 500).connect().virtualAddress).not.toBeNull();
    const third = r.client('203.0.113.3', 500);
    expect(third.saInit().kind).toBe('ok');
    const refused = third.auth();
    expect(refused).toMatchObject({ kind: 'ok', child: null, virtualAddress: null, childError: NOTIFY.INTERNAL_ADDRESS_FAILURE });
    expect(r.counter('ike.auth.child-failed.vip-per-identity-limit')).toBe(1);
    // Another identity is not held back by this one.
    const other = r.client('203.0.113.4', 500, { cert: pki.clientEc, id: CLIENT_EC_ID });
    expect(other.connect().virtualAddress).not.toBeNull();
    // The first tunnel ends: its address is free for the identity again.
    a.deleteIke();
    expect(r.client('203.0.113.5', 500).connect().virtualAddress).not.toBeNull();
  });
});
