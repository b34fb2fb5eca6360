/**
 * What the responder refuses, and that a refusal leaves nothing behind:
 * INVALID_KE_PAYLOAD (then success), NO_PROPOSAL_CHOSEN, AUTHENTICATION_FAILED
 * (wrong PSK, untrusted / expired certificate, certificate not matching IDi),
 * and the COOKIE defence (§2.6) including a flood from spoofed sources while
 * an established SA keeps its ESP flowing.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { IpsecHandler } from '../../../src/apps/ipsec/ipsec-handler.js';
import { unitOfAddressPort } from '../../../src/cluster/unit-hash.js';
import { parseIpv4 } from '../../../src/lib/ipv4.js';
import { SeededRandom } from '../../../src/lib/random.js';
import { NOTIFY } from '../../../src/wire/ike/notify.js';
import { identityPayload } from '../../../src/apps/ipsec/ike/peer-auth/identity.js';
import { IP_PROTOCOL } from '../../../src/wire/ipv4.js';
import {
  CLIENT_EC_ID,
  HandlerWire,
  IKE_PORT,
  IkeInitiator,
  INSIDE_HOST,
  SERVER_IP,
  clientOptions,
  espProtection,
  ikeSuite,
  innerPacket,
  makeTestPki,
  responderDeps,
  type Clock,
  type InitiatorOptions,
  type ResponderSetup,
  type TestPki,
  handlerSession,
} from '../../support/ike-initiator.js';

let pki: TestPki;
beforeAll(async () => {
  pki = await makeTestPki();
});

const CLIENT = parseIpv4('203.0.113.77');

function session(setup: ResponderSetup, who: Parameters<typeof clientOptions>[1], more: Partial<InitiatorOptions> = {}, seed = 3) {
  const s = handlerSession(pki, { client: { ip: CLIENT, port: 500 }, setup, who, more, seed });
  return { ...s, counters: () => s.handler.allCounters() };
}

describe('IKE_SA_INIT refusals', () => {
  it('INVALID_KE_PAYLOAD names the group to use; the retry succeeds', () => {
    // Offers the ecp256 suite but sends an x25519 KE.
    const s = session({}, { psk: true }, { keGroup: 31 });
    expect(s.ini.onSaInitResponse(s.wire.exchange([s.ini.saInitRequest()], IKE_PORT)[0])).toEqual({ kind: 'invalid-ke', group: 19 });
    expect(s.handler.responder.state.sas.size).toBe(0);
    expect(s.counters().get('ike.sa-init.invalid-ke')).toBe(1);
    expect(s.ini.group).toBe(19);
    s.ini.connect();
    expect(s.handler.responder.state.sas.size).toBe(1);
  });

  it('NO_PROPOSAL_CHOSEN for a suite we do not allow, and no SA', () => {
    const s = session({ config: { ikeProposals: [ikeSuite('aes256gcm16-prfsha256-ecp256')] } }, { psk: true }, { ikeSuites: [ikeSuite('aes128-sha256-modp2048')] });
    expect(s.ini.saInit()).toEqual({ kind: 'error', notify: NOTIFY.NO_PROPOSAL_CHOSEN });
    expect(s.handler.responder.state.sas.size).toBe(0);
    expect(s.handler.responder.halfOpen()).toBe(0);
    expect(s.counters().get('ike.sa-init.no-proposal-chosen')).toBe(1);
  });

  it('an ESP suite we do not allow costs only the CHILD SA (NO_PROPOSAL_CHOSEN in IKE_AUTH)', () => {
    const s = session({ config: { espProposals: [] } }, { psk: true });
    expect(s.ini.saInit().kind).toBe('ok');
    const auth = s.ini.auth();
    expect(auth).toMatchObject({ kind: 'ok', child: null, childError: NOTIFY.NO_PROPOSAL_CHOSEN });
    expect([...s.handler.responder.state.sas.values()][0]!.state).toBe('established');
  });
});

describe('address pool', () => {
  it("a unit whose share of the pool is used up: INTERNAL_ADDRESS_FAILURE, the IKE SA stands without a child", () => {
    // A /24 leaves most of the 1024 units without any address at all.
    const clock: Clock = { now: 1 };
    // 40 clients share the PSK identity: lift its address cap so only the pool can refuse.
    const limits = { virtualAddressesPerIdentity: 1000 };
    const handler = new IpsecHandler(responderDeps(pki, { config: { pool: { address: parseIpv4('10.100.0.0'), prefixLength: 24 }, limits } }));
    let refused = 0;
    let served = 0;
    for (let port = 1000; port < 1040; port++) {
      const wire = new HandlerWire(handler, clock, { ip: CLIENT, port }, SERVER_IP);
      const ini = new IkeInitiator(clientOptions(new SeededRandom(port), { psk: true }), wire);
      expect(ini.saInit().kind).toBe('ok');
      const auth = ini.auth();
      if (auth.kind !== 'ok') throw new Error('IKE_AUTH failed');
      if (auth.childError === NOTIFY.INTERNAL_ADDRESS_FAILURE) {
        refused++;
        expect(auth.child).toBeNull();
        expect(auth.virtualAddress).toBeNull();
      } else {
        served++;
        expect(auth.virtualAddress).not.toBeNull();
      }
    }
    expect(refused).toBeGreaterThan(0);
    expect(served + refused).toBe(40);
    expect(handler.allCounters().get('ike.auth.child-failed.pool-exhausted')).toBe(refused);
    expect([...handler.responder.state.sas.values()].every((sa) => sa.state === 'established')).toBe(true);
  });
});

describe('AUTHENTICATION_FAILED removes the SA', () => {
  function expectAuthFailed(s: ReturnType<typeof session>, reason: string, overrides: Parameters<IkeInitiator['auth']>[0] = {}): void {
    expect(s.ini.saInit().kind).toBe('ok');
    const pool = s.handler.responder.deps.pool;
    const unit = unitOfAddressPort(CLIENT, 500);
    const free = pool.freeCount(unit);
    expect(s.ini.auth(overrides)).toEqual({ kind: 'error', notify: NOTIFY.AUTHENTICATION_FAILED });
    expect(s.handler.responder.state.sas.size).toBe(0);
    expect(s.handler.responder.halfOpen()).toBe(0);
    expect(s.counters().get(`ike.auth.failed.${reason}`)).toBe(1);
    expect(s.counters().get('ike.removed.authentication-failed')).toBe(1);
    expect(pool.freeCount(unit)).toBe(free);
    // A later message on the gone SA is dropped as unknown.
    const again = s.wire.exchange(s.ini.sealRequest(37, []), IKE_PORT);
    expect(again).toEqual([]);
    expect(s.counters().get('ike.drop.unknown-spi')).toBe(1);
  }

  it('wrong PSK', () => {
    expectAuthFailed(session({}, { psk: true }), 'bad-signature', { psk: new TextEncoder().encode('wrong') });
  });

  it('PSK for an identity without a key', () => {
    expectAuthFailed(session({}, { psk: true }), 'no-psk', { identity: identityPayload('fqdn:mallory.shoal.test') });
  });

  it('certificate from an untrusted CA', () => {
    expectAuthFailed(session({}, { cert: pki.clientForeign, id: CLIENT_EC_ID }), 'untrusted');
  });

  it('expired certificate', () => {
    expectAuthFailed(session({}, { cert: pki.clientExpired, id: CLIENT_EC_ID }), 'expired');
  });

  it('certificate that does not carry IDi', () => {
    expectAuthFailed(session({}, { cert: pki.clientEc, id: 'fqdn:bob.shoal.test' }), 'identity');
  });

  it('no certificate at all', () => {
    expectAuthFailed(session({}, { cert: pki.clientEc, id: CLIENT_EC_ID }, { auth: { kind: 'cert', chain: pki.clientEc.chain, key: pki.clientEc.privateKey, sendCerts: false } }), 'no-certificate');
  });

  it('a signature by another key than the certificate', () => {
    expectAuthFailed(session({}, { cert: pki.clientEc, id: CLIENT_EC_ID }, { auth: { kind: 'cert', chain: pki.clientEc.chain, key: pki.clientExpired.privateKey } }), 'bad-signature');
  });

  it('identity not in allowedIdentities', () => {
    expectAuthFailed(session({ config: { allowedIdentities: ['fqdn:someone.else'] } }, { cert: pki.clientEc, id: CLIENT_EC_ID }), 'identity-not-allowed');
  });
});

describe('COOKIE (RFC 7296 §2.6)', () => {
  const THRESHOLD = 4;

  function halfOpenFrom(handler: IpsecHandler, clock: Clock, i: number): IkeInitiator {
    const wire = new HandlerWire(handler, clock, { ip: parseIpv4(`192.0.2.${i + 1}`), port: 500 }, SERVER_IP);
    return new IkeInitiator(clientOptions(new SeededRandom(1000 + i), { psk: true }), wire);
  }

  it('the (N+1)th half-open SA gets N(COOKIE); the retry with it succeeds; a wrong cookie gets a fresh one', () => {
    const clock: Clock = { now: 10 };
    const handler = new IpsecHandler(responderDeps(pki, { config: { cookieThreshold: THRESHOLD } }));
    for (let i = 0; i < THRESHOLD; i++) {
      const ini = halfOpenFrom(handler, clock, i);
      expect(ini.onSaInitResponse(ini.wire.exchange([ini.saInitRequest()], IKE_PORT)[0]).kind).toBe('ok');
    }
    expect(handler.responder.halfOpen()).toBe(THRESHOLD);
    const late = halfOpenFrom(handler, clock, 50);
    const first = late.onSaInitResponse(late.wire.exchange([late.saInitRequest()], IKE_PORT)[0]);
    expect(first.kind).toBe('cookie');
    expect(handler.responder.halfOpen()).toBe(THRESHOLD);

    // A wrong cookie: refused with a new cookie, still no state.
    const cookie = first.kind === 'cookie' ? first.cookie : new Uint8Array(0);
    const forged = cookie.slice();
    forged[5] = forged[5]! ^ 0xff;
    const wrong = halfOpenFrom(handler, clock, 51);
    wrong.onSaInitResponse(wrong.wire.exchange([wrong.saInitRequest()], IKE_PORT)[0]);
    (wrong as unknown as { cookie: Uint8Array }).cookie = forged;
    const refused = wrong.onSaInitResponse(wrong.wire.exchange([wrong.saInitRequest()], IKE_PORT)[0]);
    expect(refused.kind).toBe('cookie');
    expect(refused.kind === 'cookie' && Buffer.from(refused.cookie).equals(Buffer.from(forged))).toBe(false);
    expect(handler.allCounters().get('ike.sa-init.cookie-sent')).toBe(3);

    // The real cookie gets in, past the threshold, and the SA completes.
    expect(late.onSaInitResponse(late.wire.exchange([late.saInitRequest()], IKE_PORT)[0]).kind).toBe('ok');
    expect(handler.allCounters().get('ike.sa-init.cookie-ok')).toBe(1);
    expect(late.auth().kind).toBe('ok');
  });

  it('a cookie survives one secret rotation', () => {
    const clock: Clock = { now: 1 };
    const handler = new IpsecHandler(responderDeps(pki, { config: { cookieThreshold: 0 } }));
    const ini = halfOpenFrom(handler, clock, 2);
    expect(ini.onSaInitResponse(ini.wire.exchange([ini.saInitRequest()], IKE_PORT)[0]).kind).toBe('cookie');
    clock.now += 61_000; // one rotation: the previous secret still counts
    expect(ini.onSaInitResponse(ini.wire.exchange([ini.saInitRequest()], IKE_PORT)[0]).kind).toBe('ok');
  });

  // A quiet responder still rotates by elapsed time: no cookie outlives two ROTATE_MS periods.
  it('a cookie does not survive two rotation periods', () => {
    const clock: Clock = { now: 1 };
    const handler = new IpsecHandler(responderDeps(pki, { config: { cookieThreshold: 0 } }));
    const other = halfOpenFrom(handler, clock, 3);
    expect(other.onSaInitResponse(other.wire.exchange([other.saInitRequest()], IKE_PORT)[0]).kind).toBe('cookie');
    const stale = (other as unknown as { cookie: Uint8Array }).cookie;
    clock.now += 61_000;
    clock.now += 61_000; // two rotations
    (other as unknown as { cookie: Uint8Array }).cookie = stale;
    expect(other.onSaInitResponse(other.wire.exchange([other.saInitRequest()], IKE_PORT)[0]).kind).toBe('cookie');
  });

  it('a cookie is bound to the source address', () => {
    const clock: Clock = { now: 10 };
    const handler = new IpsecHandler(responderDeps(pki, { config: { cookieThreshold: 0 } }));
    const ini = halfOpenFrom(handler, clock, 1);
    expect(ini.onSaInitResponse(ini.wire.exchange([ini.saInitRequest()], IKE_PORT)[0]).kind).toBe('cookie');
    ini.wire.client = { ip: parseIpv4('192.0.2.200'), port: 500 };
    expect(ini.onSaInitResponse(ini.wire.exchange([ini.saInitRequest()], IKE_PORT)[0]).kind).toBe('cookie');
    expect(ini.onSaInitResponse(ini.wire.exchange([ini.saInitRequest()], IKE_PORT)[0]).kind).toBe('ok');
  });

  it('a flood of 1000 IKE_SA_INIT from spoofed sources leaves at most the threshold half-open; ESP keeps flowing', () => {
    const clock: Clock = { now: 10 };
    const handler = new IpsecHandler(responderDeps(pki, { config: { cookieThreshold: 16 } }));
    // An established client first.
    const good = new IkeInitiator(clientOptions(new SeededRandom(5), { psk: true }), new HandlerWire(handler, clock, { ip: CLIENT, port: 500 }, SERVER_IP));
    const { child, virtualAddress } = good.connect();
    const sa = [...handler.responder.state.sas.values()][0]!;
    // The flood: one fixed request replayed from 1000 spoofed addresses, each with a fresh SPIi.
    const template = halfOpenFrom(handler, clock, 0).saInitRequest();
    const rng = new SeededRandom(77);
    let cookies = 0;
    for (let i = 0; i < 1000; i++) {
      const msg = template.slice();
      msg.set(rng.bytes(8), 0);
      const from = { ip: (0xc6120000 | i) >>> 0, port: 1024 + i };
      const out = handler.udp(clock.now, unitOfAddressPort(from.ip, from.port), from, 500, msg);
      if (out.length === 1 && out[0]!.kind === 'udp' && out[0]!.payload.length < 100) cookies++;
      if (i % 100 === 0) {
        const up = innerPacket(virtualAddress!, INSIDE_HOST, `ping ${i}`);
        expect(handler.ip(clock.now, sa.unit, CLIENT, IP_PROTOCOL.ESP, child!.encrypt(clock.now, up))).toEqual([{ kind: 'inner', packet: up }]);
      }
      clock.now += 1;
    }
    expect(handler.responder.halfOpen()).toBeLessThanOrEqual(16);
    expect(handler.responder.state.sas.size).toBeLessThanOrEqual(17);
    expect(cookies).toBe(1000 - 16);
    expect(handler.allCounters().get('esp.in')).toBe(10);
    // Half-open SAs time out; the established one stays.
    handler.tick(clock.now + 31_000);
    expect(handler.responder.halfOpen()).toBe(0);
    expect([...handler.responder.state.sas.values()]).toEqual([sa]);
    void espProtection;
  });
});
