/**
 * Regression (issue 11): more than 255 CHILD SAs on one IKE SA wrapped the
 * record's one-byte child count (the record then decoded as garbage), and
 * 64 offered traffic selectors narrowed against several protected networks
 * made hundreds of selectors, past the TS payload's one-byte count: the
 * encoder threw inside IKE_AUTH. Now CHILD SAs stop at limits.childSas
 * (NO_ADDITIONAL_SAS), narrowing stops at MAX_NARROWED_SELECTORS
 * (TS_UNACCEPTABLE), and the record encoder refuses a count it cannot write.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { IPSEC_LIMITS, type Prefix4 } from '../../../src/apps/ipsec/config.js';
import { MAX_NARROWED_SELECTORS } from '../../../src/apps/ipsec/ike/negotiation/traffic-selectors.js';
import { decodeSaSnapshot, encodeSaSnapshot, MAX_RECORD_CHILDREN, SaRecordLimitError } from '../../../src/apps/ipsec/replication/sa-record.js';
import { snapshotOf } from '../../../src/apps/ipsec/replication/sa-snapshot.js';
import { parseIpv4 } from '../../../src/lib/ipv4.js';
import { NOTIFY } from '../../../src/wire/ike/notify.js';
import type { TrafficSelector } from '../../../src/wire/ike/ts.js';
import { ANY_SELECTOR, handlerSession, makeTestPki, type TestPki } from '../../support/ike-initiator.js';

let pki: TestPki;
beforeAll(async () => {
  pki = await makeTestPki();
});

const CLIENT = { ip: parseIpv4('203.0.113.90'), port: 500 };

function session(config: Parameters<typeof handlerSession>[1]['setup'] = {}, tsr?: TrafficSelector[]) {
  const s = handlerSession(pki, { client: CLIENT, setup: config, ...(tsr ? { more: { tsr } } : {}) });
  const counter = (name: string): number => s.handler.allCounters().get(name) ?? 0;
  return { ...s, counter, sa: () => [...s.handler.responder.state.sas.values()][0]! };
}

describe('CHILD SAs per IKE SA', () => {
  it('at the cap a new child is made; one past it NO_ADDITIONAL_SAS; a rekey at the cap still works, once', () => {
    const s = session({ config: { limits: { childSas: 3 } } });
    s.ini.connect();
    expect(s.ini.createChild().kind).toBe('ok');
    expect(s.ini.createChild().kind).toBe('ok');
    expect(s.sa().children).toHaveLength(3);
    expect(s.ini.createChild()).toEqual({ kind: 'error', notify: NOTIFY.NO_ADDITIONAL_SAS });
    expect(s.counter('ike.create-child.child-limit')).toBe(1);
    expect(s.sa().children).toHaveLength(3);
    // A rekey may hold one more until the old child's Delete; a second pending rekey may not.
    const [a, b] = s.ini.children;
    const rekeyed = s.ini.createChild({ rekey: a! });
    expect(rekeyed.kind).toBe('ok');
    expect(s.ini.createChild({ rekey: b! })).toEqual({ kind: 'error', notify: NOTIFY.NO_ADDITIONAL_SAS });
    s.ini.deleteChild(a!);
    expect(s.ini.rekeyChild(b!).spiIn).toBeGreaterThan(0);
    expect(s.sa().children).toHaveLength(3);
    expect(s.counter('ike.create-child.child-limit')).toBe(2);
  });

  it('the default cap (and its rekey) fits the record, which decodes with every child', () => {
    const s = session();
    s.ini.connect();
    while (s.sa().children.length < IPSEC_LIMITS.childSas) expect(s.ini.createChild().kind).toBe('ok');
    expect(s.ini.createChild()).toEqual({ kind: 'error', notify: NOTIFY.NO_ADDITIONAL_SAS });
    expect(s.ini.createChild({ rekey: s.ini.children[0]! }).kind).toBe('ok');
    const d = decodeSaSnapshot(encodeSaSnapshot(snapshotOf(s.sa(), s.clock.now)));
    expect(d.ok && d.value.children.length).toBe(IPSEC_LIMITS.childSas + 1);
  });

  it('the record encoder writes 255 children and refuses 256 with a typed error, never a wrapped count', () => {
    const s = session();
    s.ini.connect();
    const snap = snapshotOf(s.sa(), s.clock.now);
    const one = snap.children[0]!;
    const at = decodeSaSnapshot(encodeSaSnapshot({ ...snap, children: Array.from({ length: MAX_RECORD_CHILDREN }, () => one) }));
    expect(at.ok && at.value.children.length).toBe(MAX_RECORD_CHILDREN);
    expect(() => encodeSaSnapshot({ ...snap, children: Array.from({ length: MAX_RECORD_CHILDREN + 1 }, () => one) })).toThrow(SaRecordLimitError);
  });
});

describe('narrowed traffic selectors', () => {
  const networks = (n: number): Prefix4[] => Array.from({ length: n }, (_, j) => ({ address: parseIpv4(`10.${j + 1}.0.0`), prefixLength: 16 }));
  /** `n` offered TSr, one TCP port each: each narrows to one piece per protected network. */
  const ports = (n: number): TrafficSelector[] => Array.from({ length: n }, (_, i) => ({ ...ANY_SELECTOR, protocol: 6, startPort: 1000 + i, endPort: 1000 + i }));

  it('64 offered against 4 networks (256 pieces): TS_UNACCEPTABLE, no throw, the IKE SA stands', () => {
    const s = session({ config: { protectedNetworks: networks(4) } }, ports(64));
    let auth;
    expect(() => (auth = s.ini.connect())).not.toThrow();
    expect(auth).toMatchObject({ child: null });
    expect(s.counter('ike.auth.child-failed.ts-too-many')).toBe(1);
    expect(s.sa().state).toBe('established');
  });

  it(`exactly ${MAX_NARROWED_SELECTORS} narrowed selectors are granted; one more is TS_UNACCEPTABLE`, () => {
    const at = session({}, ports(MAX_NARROWED_SELECTORS));
    expect(at.ini.connect().child?.tsr).toHaveLength(MAX_NARROWED_SELECTORS);
    const d = decodeSaSnapshot(encodeSaSnapshot(snapshotOf(at.sa(), at.clock.now)));
    expect(d.ok && d.value.children[0]!.tsr.length).toBe(MAX_NARROWED_SELECTORS);

    const past = session({}, ports(MAX_NARROWED_SELECTORS + 1));
    expect(past.ini.saInit().kind).toBe('ok');
    expect(past.ini.auth()).toMatchObject({ kind: 'ok', child: null, childError: NOTIFY.TS_UNACCEPTABLE });
    expect(past.counter('ike.auth.child-failed.ts-too-many')).toBe(1);
  });

  it('CREATE_CHILD_SA past the cap: TS_UNACCEPTABLE, counted', () => {
    const s = session({}, ports(MAX_NARROWED_SELECTORS + 1));
    expect(s.ini.saInit().kind).toBe('ok');
    s.ini.opts.tsr = undefined;
    expect(s.ini.auth().kind).toBe('ok');
    s.ini.opts.tsr = ports(MAX_NARROWED_SELECTORS + 1);
    expect(s.ini.createChild()).toEqual({ kind: 'error', notify: NOTIFY.TS_UNACCEPTABLE });
    expect(s.counter('ike.create-child.ts-too-many')).toBe(1);
  });
});
