/**
 * Handshakes per event-loop turn: IKE_SA_INIT and IKE_AUTH cost public-key
 * operations, so the daemon's handler takes at most N per turn (one value of
 * `now`) and defers the rest to later turns, in order, bounded; ESP and
 * other IKE messages are never deferred.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { HANDSHAKE_QUEUE_BYTES, IpsecHandler } from '../../../src/apps/ipsec/ipsec-handler.js';
import { parseIpv4 } from '../../../src/lib/ipv4.js';
import { makeTestPki, responderDeps, type TestPki } from '../../support/ike-initiator.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

function saInitRequest(): Uint8Array {
  const text = readFileSync(join(FIXTURES, 'psk-cbc-frag-01-ike-sa-init.hex'), 'utf8');
  const hex = /^request ([0-9a-f]+)$/m.exec(text)?.[1];
  if (!hex) throw new Error('fixture without a request line');
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

let pki: TestPki;
beforeAll(async () => {
  pki = await makeTestPki();
});

describe('handshake budget per turn', () => {
  it('answers at most N handshakes per turn and the rest, in order, in later turns', () => {
    const handler = new IpsecHandler(responderDeps(pki), undefined, 2);
    const request = saInitRequest();
    const client = (k: number) => ({ ip: parseIpv4('203.0.113.1') + k, port: 500 });
    const answered = (outs: ReturnType<IpsecHandler['udp']>) => outs.filter((o) => o.kind === 'udp').map((o) => (o.kind === 'udp' ? o.to.ip : 0));
    const now = 1000;
    const first: number[] = [];
    for (let k = 0; k < 5; k++) first.push(...answered(handler.udp(now, 7, client(k), 500, request)));
    expect(first).toEqual([client(0).ip, client(1).ip]);
    expect(handler.counters.get('ike.handshake-deferred')).toBe(3);
    expect(handler.nextWakeAt()).toBeLessThanOrEqual(now);
    // The next turn takes the next two, in arrival order; the one after takes the last.
    expect(answered(handler.tick(now + 1))).toEqual([client(2).ip, client(3).ip]);
    expect(answered(handler.tick(now + 2))).toEqual([client(4).ip]);
    expect(handler.responder.state.sas.size).toBe(5);
    expect(handler.nextWakeAt()).toBeGreaterThan(now + 2);
  });

  it('the queue is bounded: beyond it handshakes are dropped and counted', () => {
    const handler = new IpsecHandler(responderDeps(pki), undefined, 0);
    const request = saInitRequest();
    for (let k = 0; k < 2100; k++) handler.udp(5, 1, { ip: parseIpv4('203.0.113.1') + k, port: 500 }, 500, request);
    expect(handler.counters.get('ike.handshake-deferred')).toBe(2048);
    expect(handler.counters.get('ike.drop.handshake-queue-full')).toBe(52);
  });

  it('the queue is bounded in bytes too: 60 kB datagrams fill it long before 2048 of them (issue 11)', () => {
    const handler = new IpsecHandler(responderDeps(pki), undefined, 0);
    const big = new Uint8Array(60_000);
    big.set(saInitRequest());
    const fit = Math.floor(HANDSHAKE_QUEUE_BYTES / big.length);
    for (let k = 0; k < fit + 10; k++) handler.udp(5, 1, { ip: parseIpv4('203.0.113.1') + k, port: 500 }, 500, big);
    expect(handler.counters.get('ike.handshake-deferred')).toBe(fit);
    expect(handler.counters.get('ike.drop.handshake-queue-full')).toBe(10);
  });

  it('unbounded by default (the sans-IO core), so tests and the simulator see no deferral', () => {
    const handler = new IpsecHandler(responderDeps(pki));
    const request = saInitRequest();
    for (let k = 0; k < 20; k++) handler.udp(5, 1, { ip: parseIpv4('203.0.113.1') + k, port: 500 }, 500, request);
    expect(handler.responder.state.sas.size).toBe(20);
    expect(handler.counters.get('ike.handshake-deferred')).toBeUndefined();
  });
});
