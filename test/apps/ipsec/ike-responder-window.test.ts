/**
 * The responder's message-ID window (RFC 7296 §2.1–2.3: one request at a
 * time, the last answer cached) and IKE fragmentation (RFC 7383).
 *
 *   request id = last answered → the cached answer, byte for byte
 *   request id = next          → processed
 *   anything else              → dropped, counted
 *   SKF fragments in  → reassembled;  big answer out → SKF fragments ≤ fragmentSize
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { IkeResponder } from '../../../src/apps/ipsec/ike/responder.js';
import { IpsecHandler } from '../../../src/apps/ipsec/ipsec-handler.js';
import { parseIpv4 } from '../../../src/lib/ipv4.js';
import { SeededRandom } from '../../../src/lib/random.js';
import { EXCHANGE, PAYLOAD } from '../../../src/wire/ike/constants.js';
import { decodeIkeMessage } from '../../../src/wire/ike/message.js';
import {
  CLIENT_EC_ID,
  CLIENT_RSA_ID,
  HandlerWire,
  IKE_PORT,
  IkeInitiator,
  ResponderWire,
  SERVER_IP,
  clientOptions,
  ikeSuite,
  makeTestPki,
  responderDeps,
  type Clock,
  type TestPki,
} from '../../support/ike-initiator.js';

let pki: TestPki;
beforeAll(async () => {
  pki = await makeTestPki();
});

const CLIENT = { ip: parseIpv4('203.0.113.5'), port: 500 };
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function firstPayloadType(datagram: Uint8Array): number {
  return datagram[16]!;
}

describe('message-ID window', () => {
  it('a retransmitted IKE_SA_INIT gets the byte-identical answer and no second SA', () => {
    const clock: Clock = { now: 0 };
    const responder = new IkeResponder(responderDeps(pki));
    const wire = new ResponderWire(responder, clock, CLIENT, SERVER_IP);
    const ini = new IkeInitiator(clientOptions(new SeededRandom(1), { psk: true }), wire);
    const request = ini.saInitRequest();
    const first = wire.exchange([request], IKE_PORT);
    clock.now += 500;
    const again = wire.exchange([request], IKE_PORT);
    expect(again.map(hex)).toEqual(first.map(hex));
    expect(responder.state.sas.size).toBe(1);
    expect(responder.counters.get('ike.sa-init.retransmission')).toBe(1);
    // A changed request with the same SPIi from the same place is not taken for a retransmission.
    const changed = request.slice();
    changed[changed.length - 1] = changed[changed.length - 1]! ^ 1;
    expect(wire.exchange([changed], IKE_PORT)).toEqual([]);
    expect(responder.counters.get('ike.drop.sa-init-changed')).toBe(1);
    expect(ini.onSaInitResponse(first[0]).kind).toBe('ok');
    expect(ini.auth().kind).toBe('ok');
  });

  // RFC 7296 §2.1: an IKE_SA_INIT retransmitted after IKE_AUTH arrived is ignored (it once made a
  // stray half-open SA that counted against the cookie threshold).
  it('a late IKE_SA_INIT retransmission after IKE_AUTH is ignored (RFC 7296 §2.1)', () => {
    const clock: Clock = { now: 0 };
    const responder = new IkeResponder(responderDeps(pki));
    const wire = new ResponderWire(responder, clock, CLIENT, SERVER_IP);
    const ini = new IkeInitiator(clientOptions(new SeededRandom(11), { psk: true }), wire);
    ini.connect();
    clock.now += 2_000;
    const late = wire.exchange([ini.initRequest], IKE_PORT);
    expect({ answers: late.length, sas: responder.state.sas.size, halfOpen: responder.halfOpen() }).toEqual({ answers: 0, sas: 1, halfOpen: 0 });
  });

  it('retransmitted IKE_AUTH and INFORMATIONAL requests get the cached answers', () => {
    const clock: Clock = { now: 0 };
    const responder = new IkeResponder(responderDeps(pki));
    const wire = new ResponderWire(responder, clock, CLIENT, SERVER_IP);
    const ini = new IkeInitiator(clientOptions(new SeededRandom(2), { psk: true }), wire);
    expect(ini.saInit().kind).toBe('ok');
    const authRequest = ini.sealRequest(EXCHANGE.IKE_AUTH, ini.authPayloads(0x1234_5678));
    const authAnswer = wire.exchange(authRequest, IKE_PORT);
    const vipsInUse = [...responder.state.sas.values()].map((s) => s.virtualAddress);
    expect(wire.exchange(authRequest, IKE_PORT).map(hex)).toEqual(authAnswer.map(hex));
    // No second child, no second address.
    const sa = [...responder.state.sas.values()][0]!;
    expect(sa.children).toHaveLength(1);
    expect([...responder.state.sas.values()].map((s) => s.virtualAddress)).toEqual(vipsInUse);

    const info = ini.sealRequest(EXCHANGE.INFORMATIONAL, []);
    const infoAnswer = wire.exchange(info, IKE_PORT);
    expect(infoAnswer).toHaveLength(1);
    expect(wire.exchange(info, IKE_PORT).map(hex)).toEqual(infoAnswer.map(hex));
    expect(responder.counters.get('ike.retransmission')).toBe(2);
    expect(responder.counters.get('ike.informational.liveness')).toBe(1);
    // The IKE_AUTH request is now outside the window: dropped.
    expect(wire.exchange(authRequest, IKE_PORT)).toEqual([]);
    expect(responder.counters.get('ike.drop.message-id-outside-window')).toBe(1);
  });

  it('requests ahead of the window are dropped and counted; the window still works after', () => {
    const clock: Clock = { now: 0 };
    const responder = new IkeResponder(responderDeps(pki));
    const wire = new ResponderWire(responder, clock, CLIENT, SERVER_IP);
    const ini = new IkeInitiator(clientOptions(new SeededRandom(3), { psk: true }), wire);
    ini.connect();
    const next = ini.ike.nextMessageId;
    for (const id of [next + 1, next + 5, 0xffffffff]) {
      expect(wire.exchange(ini.sealRequest(EXCHANGE.INFORMATIONAL, [], ini.ike, id), IKE_PORT)).toEqual([]);
    }
    expect(responder.counters.get('ike.drop.message-id-outside-window')).toBe(3);
    expect(ini.informational()).toEqual([]);
    expect(ini.ike.nextMessageId).toBe(next + 1);
  });

  it('a request with a bad ICV at the next ID is dropped and does not move the window', () => {
    const clock: Clock = { now: 0 };
    const responder = new IkeResponder(responderDeps(pki));
    const wire = new ResponderWire(responder, clock, CLIENT, SERVER_IP);
    const ini = new IkeInitiator(clientOptions(new SeededRandom(4), { psk: true }), wire);
    ini.connect();
    const id = ini.ike.nextMessageId;
    const [bad] = ini.sealRequest(EXCHANGE.INFORMATIONAL, [], ini.ike, id);
    bad![bad!.length - 3] = bad![bad!.length - 3]! ^ 0x40;
    expect(wire.exchange([bad!], IKE_PORT)).toEqual([]);
    expect(responder.counters.get('ike.drop.bad-icv')).toBe(1);
    ini.ike.nextMessageId = id; // the same ID again, this time intact
    expect(ini.informational()).toEqual([]);
  });
});

describe('IKE fragmentation (RFC 7383)', () => {
  it('a fragmented IKE_AUTH request is reassembled', () => {
    const clock: Clock = { now: 0 };
    const handler = new IpsecHandler(responderDeps(pki));
    const wire = new HandlerWire(handler, clock, CLIENT, SERVER_IP);
    const ini = new IkeInitiator(clientOptions(new SeededRandom(5), { cert: pki.clientRsa, id: CLIENT_RSA_ID }, { requestFragmentSize: 300 }), wire);
    ini.connect();
    const authDatagrams = wire.sent.filter((d) => decodeIkeMessage(d.message).ok && d.message[18] === EXCHANGE.IKE_AUTH);
    expect(authDatagrams.length).toBeGreaterThan(5);
    for (const d of authDatagrams) {
      expect(d.message.length).toBeLessThanOrEqual(300);
      expect(firstPayloadType(d.message)).toBe(PAYLOAD.SKF);
    }
    expect([...handler.responder.state.sas.values()][0]!.state).toBe('established');
  });

  it('fragments arriving out of order are reassembled', () => {
    const clock: Clock = { now: 0 };
    const handler = new IpsecHandler(responderDeps(pki));
    const wire = new HandlerWire(handler, clock, CLIENT, SERVER_IP);
    const ini = new IkeInitiator(clientOptions(new SeededRandom(6), { cert: pki.clientEc, id: CLIENT_EC_ID }, { requestFragmentSize: 200 }), wire);
    expect(ini.saInit().kind).toBe('ok');
    const spi = 0x0abc_d000;
    const fragments = ini.sealRequest(EXCHANGE.IKE_AUTH, ini.authPayloads(spi));
    expect(fragments.length).toBeGreaterThan(2);
    const shuffled = [fragments.at(-1)!, ...fragments.slice(1, -1).reverse(), fragments[0]!];
    const answer = ini.openResponse(wire.exchange(shuffled, IKE_PORT));
    expect(answer).not.toBeNull();
    expect(ini.onAuthResponse(answer!, spi).kind).toBe('ok');
  });

  it('a large answer (RSA chain) is fragmented to fragmentSize and the initiator reassembles it', () => {
    const clock: Clock = { now: 0 };
    const handler = new IpsecHandler(responderDeps(pki, { server: 'rsa', config: { fragmentSize: 576 } }));
    const wire = new HandlerWire(handler, clock, CLIENT, SERVER_IP);
    const ini = new IkeInitiator(clientOptions(new SeededRandom(7), { cert: pki.clientRsa, id: CLIENT_RSA_ID }, { ikeSuites: [ikeSuite('aes256-sha256-modp2048')] }), wire);
    const r = ini.connect();
    expect(r.child).not.toBeNull();
    const answers = wire.received.filter((d) => d.message[18] === EXCHANGE.IKE_AUTH);
    expect(answers.length).toBeGreaterThan(3);
    for (const a of answers) {
      expect(a.message.length).toBeLessThanOrEqual(576 - 28);
      expect(firstPayloadType(a.message)).toBe(PAYLOAD.SKF);
    }
    expect(ini.responderCerts).toHaveLength(2);
    expect(handler.allCounters().get('ike.fragmented-answers')).toBe(1);
  });

  it('without IKEV2_FRAGMENTATION_SUPPORTED the large answer goes whole', () => {
    const clock: Clock = { now: 0 };
    const handler = new IpsecHandler(responderDeps(pki, { server: 'rsa', config: { fragmentSize: 576 } }));
    const wire = new HandlerWire(handler, clock, CLIENT, SERVER_IP);
    const ini = new IkeInitiator(clientOptions(new SeededRandom(8), { cert: pki.clientRsa, id: CLIENT_RSA_ID }, { fragmentation: false }), wire);
    ini.connect();
    const answers = wire.received.filter((d) => d.message[18] === EXCHANGE.IKE_AUTH);
    expect(answers).toHaveLength(1);
    expect(answers[0]!.message.length).toBeGreaterThan(576);
  });

  it('on 4500 the fragments leave room for the non-ESP marker', () => {
    const clock: Clock = { now: 0 };
    const handler = new IpsecHandler(responderDeps(pki, { server: 'rsa', config: { fragmentSize: 576 } }));
    const wire = new HandlerWire(handler, clock, CLIENT, SERVER_IP);
    const ini = new IkeInitiator(clientOptions(new SeededRandom(9), { cert: pki.clientRsa, id: CLIENT_RSA_ID }, { forceNatT: true }), wire);
    ini.connect();
    const answers = wire.received.filter((d) => d.port === 4500 && d.message[18] === EXCHANGE.IKE_AUTH);
    expect(answers.length).toBeGreaterThan(3);
    for (const a of answers) expect(a.message.length + 4 + 28).toBeLessThanOrEqual(576);
  });

  // RFC 7383 §2.6.1: only fragment 1 of a retransmitted fragmented request triggers the cached answer.
  it('a retransmitted fragmented request is answered once, on fragment 1 only (RFC 7383 §2.6.1)', () => {
    const clock: Clock = { now: 0 };
    const responder = new IkeResponder(responderDeps(pki));
    const wire = new ResponderWire(responder, clock, CLIENT, SERVER_IP);
    const ini = new IkeInitiator(clientOptions(new SeededRandom(10), { cert: pki.clientEc, id: CLIENT_EC_ID }, { requestFragmentSize: 250 }), wire);
    expect(ini.saInit().kind).toBe('ok');
    const fragments = ini.sealRequest(EXCHANGE.IKE_AUTH, ini.authPayloads(0x0bad_f000));
    expect(fragments.length).toBeGreaterThan(2);
    const answer = wire.exchange(fragments, IKE_PORT);
    expect(answer).toHaveLength(1);
    expect(wire.exchange(fragments, IKE_PORT)).toHaveLength(1);
  });
});
