/**
 * Regression (issue 11): an IKE_SA_INIT with a ~60 kB Vendor ID (IP-fragmented,
 * so it arrives whole) made a half-open SA that kept the request for IKE_AUTH
 * and replicated it: a record larger than a StateSync message, an encoder
 * throw in the flush, the owner gone. The responder now refuses IKE_SA_INITs
 * over MAX_SA_INIT_REQUEST before any work (counted), and every record an
 * SA can make fits one message.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_SA_INIT_REQUEST } from '../../../src/apps/ipsec/ike/sa-init.js';
import { parseIpv4 } from '../../../src/lib/ipv4.js';
import { DEFAULT_REPLICATOR_OPTIONS, Replicator } from '../../../src/replication/replicator.js';
import { decodeSaSnapshot, encodeSaSnapshot } from '../../../src/apps/ipsec/replication/sa-record.js';
import { snapshotOf } from '../../../src/apps/ipsec/replication/sa-snapshot.js';
import { NOTIFY } from '../../../src/wire/ike/notify.js';
import type { IkePayload } from '../../../src/wire/ike/payload.js';
import { handlerSession, makeTestPki, type TestPki } from '../../support/ike-initiator.js';

let pki: TestPki;
beforeAll(async () => {
  pki = await makeTestPki();
});

const CLIENT = parseIpv4('203.0.113.40');
const vendor = (n: number): IkePayload => ({ kind: 'vendor', vendorId: new Uint8Array(n).fill(0x5a) });

/** A handler whose records go to a replicator with one peer, as on a member. */
function replicated(vendorBytes: number, port = 500) {
  const s = handlerSession(pki, { client: { ip: CLIENT, port }, more: vendorBytes > 0 ? { extraSaInitPayloads: [vendor(vendorBytes)] } : {} });
  const replicator = new Replicator(1, () => [], () => []);
  replicator.membersChanged(0, [1, 2], [], []);
  s.handler.replicate = (now, unit, key, body) => replicator.publish(now, 1, unit, key, body);
  return { ...s, replicator };
}

/** The Vendor ID length that makes the IKE_SA_INIT request exactly `total` bytes. */
function vendorFor(total: number): number {
  const probe = handlerSession(pki, { client: { ip: CLIENT, port: 500 }, more: { extraSaInitPayloads: [vendor(100)] } });
  return 100 + total - probe.ini.saInitRequest().length;
}

describe('oversized IKE_SA_INIT', () => {
  it('a 60 kB Vendor ID: no throw, no answer, no half-open SA, counted; the flush replicates nothing oversized', () => {
    const s = replicated(60_000);
    expect(s.ini.saInitRequest().length).toBeGreaterThan(60_000);
    let outcome;
    expect(() => (outcome = s.ini.saInit())).not.toThrow();
    expect(outcome).toEqual({ kind: 'no-answer' });
    expect(s.handler.responder.halfOpen()).toBe(0);
    expect(s.handler.allCounters().get('ike.sa-init.too-large')).toBeGreaterThanOrEqual(1);
    const outs = s.replicator.flush(s.clock.now);
    expect(outs.filter((o) => o.kind === 'refused')).toEqual([]);
    for (const o of outs) if (o.kind === 'sync') expect(o.payload.length).toBeLessThanOrEqual(DEFAULT_REPLICATOR_OPTIONS.maxPayload);
  });

  it(`exactly ${MAX_SA_INIT_REQUEST} bytes is taken (and its half-open record replicates whole); one byte more is refused`, () => {
    const at = replicated(vendorFor(MAX_SA_INIT_REQUEST));
    expect(at.ini.saInitRequest().length).toBe(MAX_SA_INIT_REQUEST);
    expect(at.ini.saInit().kind).toBe('ok');
    expect(at.handler.responder.halfOpen()).toBe(1);
    const outs = at.replicator.flush(at.clock.now);
    expect(outs.some((o) => o.kind === 'sync')).toBe(true);
    expect(outs.filter((o) => o.kind === 'refused')).toEqual([]);
    // and the SA it made completes IKE_AUTH (AUTH signs the whole request)
    const auth = at.ini.auth();
    expect(auth.kind === 'ok' && auth.responderAuth.ok).toBe(true);

    const past = replicated(vendorFor(MAX_SA_INIT_REQUEST + 1), 501);
    expect(past.ini.saInitRequest().length).toBe(MAX_SA_INIT_REQUEST + 1);
    expect(past.ini.saInit()).toEqual({ kind: 'no-answer' });
    expect(past.handler.responder.halfOpen()).toBe(0);
    expect(past.handler.allCounters().get('ike.sa-init.too-large')).toBeGreaterThanOrEqual(1);
  });

  it('300 hash algorithms in SIGNATURE_HASH_ALGORITHMS: the half-open record still decodes (it counts them in a byte)', () => {
    const data = new Uint8Array(600);
    for (let i = 0; i < 300; i++) data[2 * i + 1] = (i % 5) + 1;
    const notify: IkePayload = { kind: 'notify', protocolId: 0, notifyType: NOTIFY.SIGNATURE_HASH_ALGORITHMS, spi: new Uint8Array(0), data };
    const s = handlerSession(pki, { client: { ip: CLIENT, port: 502 }, more: { signatureHashes: false, extraSaInitPayloads: [notify] } });
    expect(s.ini.saInit().kind).toBe('ok');
    const sa = [...s.handler.responder.state.sas.values()][0]!;
    const decoded = decodeSaSnapshot(encodeSaSnapshot(snapshotOf(sa, s.clock.now)));
    expect(decoded.ok).toBe(true);
    if (decoded.ok) expect(decoded.value.peerSignatureHashes).toEqual([1, 2, 3, 4, 5]);
  });
});
