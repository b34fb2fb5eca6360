/**
 * An administrator's tunnel kill (IpsecHandler.kill): the client is sent an
 * INFORMATIONAL request with Delete(IKE) under the SA's keys, the SA and its
 * CHILD SAs are gone from every table here, and the replicated record
 * becomes a tombstone, as when a client deletes its SA.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { openMessage } from '../../../src/apps/ipsec/ike/protect.js';
import { sessionsView, tunnelsView } from '../../../src/mgmt/admin/ipsec-views.js';
import { EXCHANGE, PROTOCOL } from '../../../src/wire/ike/constants.js';
import { decodeIkeMessage } from '../../../src/wire/ike/message.js';
import { IP_PROTOCOL } from '../../../src/wire/ipv4.js';
import { parseIpv4 } from '../../../src/lib/ipv4.js';
import { INSIDE_HOST, innerPacket, makeTestPki, handlerSession, type TestPki } from '../../support/ike-initiator.js';

let pki: TestPki;
beforeAll(async () => {
  pki = await makeTestPki();
});

const CLIENT = parseIpv4('203.0.113.45');

function established() {
  const s = handlerSession(pki, { client: { ip: CLIENT, port: 500 }, setup: { seed: 21 }, seed: 29 });
  const replicated: { key: string; body: Uint8Array | null }[] = [];
  s.handler.replicate = (_now, _unit, key, body) => replicated.push({ key, body });
  const { child, virtualAddress } = s.ini.connect();
  const sa = [...s.handler.responder.state.sas.values()][0]!;
  return { ...s, replicated, sa, child: child!, vip: virtualAddress! };
}

describe('IpsecHandler.kill', () => {
  it('sends the client a Delete(IKE) it can open, forgets the SA and replicates its tombstone', () => {
    const s = established();
    const id = s.sa.spiKey;
    expect(tunnelsView(s.handler.responder.state.sas.values(), s.clock.now)).toMatchObject([{ id, state: 'established', children: 1, identity: expect.any(String) }]);
    expect(sessionsView(s.handler.responder.state.sas.values(), s.clock.now)).toHaveLength(1);
    s.replicated.length = 0;

    const out = s.handler.kill(s.clock.now, id);
    expect(out).not.toBeNull();
    const sent = out!.filter((o) => o.kind === 'udp');
    expect(sent).toHaveLength(1);
    const o = sent[0]!;
    if (o.kind !== 'udp') throw new Error('not udp');
    expect(o.to.ip).toBe(CLIENT);
    const message = o.localPort === 500 ? o.payload : o.payload.subarray(4); // 4500: after the non-ESP marker
    const d = decodeIkeMessage(message);
    if (!d.ok) throw new Error(d.error.message);
    expect(d.value.header).toMatchObject({ exchangeType: EXCHANGE.INFORMATIONAL, initiator: false, response: false });
    const opened = openMessage(s.ini.ike.protection, s.clock.now, message, d.value, s.ini.ike.fragments);
    expect(opened.kind).toBe('payloads');
    if (opened.kind !== 'payloads') return;
    expect(opened.payloads).toEqual([{ kind: 'delete', protocolId: PROTOCOL.IKE, spiSize: 0, spis: [] }]);

    expect(s.handler.responder.state.sas.size).toBe(0);
    expect(tunnelsView(s.handler.responder.state.sas.values(), s.clock.now)).toEqual([]);
    expect(s.replicated).toEqual([{ key: id, body: null }]);
    expect(s.handler.allCounters().get('ike.removed.killed')).toBe(1);
    // Its CHILD SA no longer carries anything either way.
    expect(s.handler.toClient(s.clock.now, s.sa.unit, s.vip, innerPacket(INSIDE_HOST, s.vip, 'after'))).toBeNull();
    s.handler.ip(s.clock.now, s.sa.unit, CLIENT, IP_PROTOCOL.ESP, s.child.encrypt(s.clock.now, innerPacket(s.vip, INSIDE_HOST, 'late')));
    expect(s.handler.allCounters().get('esp.drop.unknown-spi')).toBe(1);
  });

  it('an id that is not here gives null and changes nothing', () => {
    const s = established();
    expect(s.handler.kill(s.clock.now, '00000000000000ff')).toBeNull();
    expect(s.handler.responder.state.sas.size).toBe(1);
    const id = s.sa.spiKey;
    expect(s.handler.kill(s.clock.now, id)).not.toBeNull();
    expect(s.handler.kill(s.clock.now, id)).toBeNull();
  });
});
