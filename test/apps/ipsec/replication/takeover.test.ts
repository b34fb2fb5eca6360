/**
 * A unit moves to another member (failure or rebalancing) and its IKE and
 * CHILD SAs continue there from their replicated records, in process: two
 * handlers share what each publishes (as every member's replicator would);
 * the client's packets follow the unit's owner.
 *
 *   client ─ wire ─► owner(unit) ─ publish ─► shared records ─ adopt ─► new owner
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { IpsecHandler, SEQUENCE_BATCH_MS } from '../../../../src/apps/ipsec/ipsec-handler.js';
import type { UnitId } from '../../../../src/cluster/types.js';
import { parseIpv4 } from '../../../../src/lib/ipv4.js';
import { SeededRandom } from '../../../../src/lib/random.js';
import { ESP_HEADER_LENGTH, readU32 } from '../../../../src/wire/esp.js';
import { encodeNonEsp } from '../../../../src/wire/udp-encap.js';
import {
  CLIENT_EC_ID,
  IKE_PORT,
  INSIDE_HOST,
  SERVER_IP,
  Wire,
  clientOptions,
  innerPacket,
  IkeInitiator,
  makeTestPki,
  responderDeps,
  type Clock,
  type TestPki,
} from '../../../support/ike-initiator.js';

let pki: TestPki;
beforeAll(async () => {
  pki = await makeTestPki();
});

interface Shared {
  records: Map<string, { unit: UnitId; body: Uint8Array | null; receivedAt: number }>;
}

/** Delivers to whichever handler owns the message's unit now. */
class ClusterWire extends Wire {
  owner: IpsecHandler;
  constructor(first: IpsecHandler, clock: Clock, client: { ip: number; port: number }) {
    super(clock, client, SERVER_IP);
    this.owner = first;
  }
  protected deliver(unit: UnitId, port: number, message: Uint8Array): Uint8Array[] {
    const payload = port === IKE_PORT ? message : encodeNonEsp(message);
    return this.owner
      .udp(this.clock.now, unit, this.from(port), port, payload)
      .flatMap((o) => (o.kind !== 'udp' ? [] : o.localPort === IKE_PORT ? [o.payload] : o.payload.subarray(0, 4).every((b) => b === 0) ? [o.payload.subarray(4)] : []));
  }
}

function member(shared: Shared, seed: number, clock: Clock): IpsecHandler {
  const h = new IpsecHandler(responderDeps(pki, { seed }));
  h.replicate = (_now, unit, key, body) => {
    shared.records.set(key, { unit, body, receivedAt: clock.now });
  };
  return h;
}

function move(unit: UnitId, from: IpsecHandler, to: IpsecHandler, shared: Shared, clock: Clock): number {
  from.release([unit]);
  return to.adopt(clock.now, [...shared.records.values()].filter((r) => r.unit === unit));
}

function setup() {
  const clock: Clock = { now: 10_000 };
  const shared: Shared = { records: new Map() };
  const a = member(shared, 1, clock);
  const b = member(shared, 2, clock);
  const wire = new ClusterWire(a, clock, { ip: parseIpv4('203.0.113.77'), port: 500 });
  const ini = new IkeInitiator(clientOptions(new SeededRandom(5), { cert: pki.clientEc, id: CLIENT_EC_ID }), wire);
  return { clock, shared, a, b, wire, ini };
}

/** ESP from the client through the current owner: the inner packet, or null when dropped. */
function up(s: ReturnType<typeof setup>, text: string): Uint8Array | null {
  const child = s.ini.children.at(-1)!;
  const vip = s.ini.virtualAddress!;
  const esp = child.encrypt(s.clock.now, innerPacket(vip, INSIDE_HOST, text));
  const viaUdp = s.ini.port !== IKE_PORT;
  const out = viaUdp
    ? s.wire.owner.udp(s.clock.now, s.wire.unitOf(4500, esp), s.wire.from(4500), 4500, esp)
    : s.wire.owner.ip(s.clock.now, [...s.wire.owner.responder.state.sas.values()][0]?.unit ?? 0, s.wire.client.ip, 50, esp);
  const inner = out.find((o) => o.kind === 'inner');
  return inner?.kind === 'inner' ? inner.packet : null;
}

/** The inside's packet to the VIP through the current owner, opened by the client: its ESP sequence number. */
function down(s: ReturnType<typeof setup>, text: string): number {
  const vip = s.ini.virtualAddress!;
  const sa = [...s.wire.owner.responder.state.sas.values()][0]!;
  const out = s.wire.owner.toClient(s.clock.now, sa.unit, vip, innerPacket(INSIDE_HOST, vip, text));
  const o = out?.[0];
  if (!o || o.kind === 'inner') throw new Error('no ESP towards the client');
  const opened = s.ini.children.at(-1)!.decrypt(s.clock.now, o.payload);
  if (!opened.ok) throw new Error(`client refused the ESP: ${opened.reason}`);
  expect(o.payload.length).toBeGreaterThan(ESP_HEADER_LENGTH);
  return readU32(o.payload, 4);
}

describe('takeover of a unit from replicated records', () => {
  it('an established tunnel continues on the new owner: ESP both ways, sequence numbers never reused, liveness, rekeys', () => {
    const s = setup();
    const { child } = s.ini.connect();
    expect(child).not.toBeNull();
    const sa = [...s.a.responder.state.sas.values()][0]!;
    expect(up(s, 'one')).not.toBeNull();
    let lastSeq = 0;
    for (let i = 0; i < 100; i++) lastSeq = down(s, `a${i}`);
    expect(lastSeq).toBe(100);
    // The counters reach the records with the next batch.
    s.clock.now += SEQUENCE_BATCH_MS;
    s.a.tick(s.clock.now);
    for (let i = 0; i < 20; i++) lastSeq = down(s, `late${i}`); // sent after the last batch: the lease covers them

    s.clock.now += 300; // the old owner fails; the new one takes over 300 ms later
    expect(move(sa.unit, s.a, s.b, s.shared, s.clock)).toBe(1);
    s.wire.owner = s.b;
    expect(s.a.responder.state.sas.size).toBe(0);

    expect(up(s, 'after takeover')).not.toBeNull();
    const first = down(s, 'from the new owner');
    expect(first).toBeGreaterThan(lastSeq);

    // Same IKE SA: a liveness check on the next message ID is answered.
    expect(s.ini.informational()).not.toBeNull();
    // Rekeys on the new owner.
    const rekeyed = s.ini.rekeyChild(s.ini.children.at(-1)!);
    expect(rekeyed).toBeDefined();
    expect(up(s, 'on the rekeyed child')).not.toBeNull();
    const ike = s.ini.rekeyIke();
    expect('next' in ike).toBe(true);
    expect(s.ini.informational()).not.toBeNull();
  });

  it('a retransmission of the last request before the takeover gets the same answer from the new owner', () => {
    const s = setup();
    s.ini.connect();
    const sa = [...s.a.responder.state.sas.values()][0]!;
    const request = s.ini.sealRequest(37, []);
    const answerA = s.wire.exchange(request, 4500);
    expect(answerA).toHaveLength(1);
    s.ini.ike.nextMessageId++;
    move(sa.unit, s.a, s.b, s.shared, s.clock);
    s.wire.owner = s.b;
    const answerB = s.wire.exchange(request, 4500);
    expect(Buffer.from(answerB[0]!).equals(Buffer.from(answerA[0]!))).toBe(true);
  });

  it('a half-open SA moves too: IKE_AUTH after the takeover completes on the new owner', () => {
    const s = setup();
    expect(s.ini.saInit().kind).toBe('ok');
    const half = [...s.a.responder.state.sas.values()][0]!;
    expect(half.state).toBe('half-open');
    move(half.unit, s.a, s.b, s.shared, s.clock);
    s.wire.owner = s.b;
    expect(s.ini.auth().kind).toBe('ok');
    expect([...s.b.responder.state.sas.values()][0]?.state).toBe('established');
    expect(up(s, 'through a tunnel made across a takeover')).not.toBeNull();
  });

  it('a rekeyed IKE SA is a tombstone: the new owner adopts only its successor', () => {
    const s = setup();
    s.ini.connect();
    const unit = [...s.a.responder.state.sas.values()][0]!.unit;
    s.ini.rekeyIke();
    move(unit, s.a, s.b, s.shared, s.clock);
    const adopted = [...s.b.responder.state.sas.values()];
    expect(adopted).toHaveLength(1);
    expect(adopted[0]!.state).toBe('established');
    expect(adopted[0]!.children).toHaveLength(1);
  });
});
