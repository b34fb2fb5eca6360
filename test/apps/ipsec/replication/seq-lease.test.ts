/**
 * Sequence leases (seq-lease.ts): the owner of a CHILD SA sends only up to a
 * mark every other member has acknowledged, so a takeover starts above
 * everything the old owner sent — an SA idle for minutes that then bursts
 * included (the old rate-based jump guessed from a rate near zero).
 *
 *   owner ─ publish(record, version) ─► in transit ─ deliver() ─► taker's store, acked(version)
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { IpsecHandler, SEQUENCE_BATCH_MS } from '../../../../src/apps/ipsec/ipsec-handler.js';
import { decodeSaSnapshot } from '../../../../src/apps/ipsec/replication/sa-record.js';
import { LEASE_FLOOR, SequenceLease } from '../../../../src/apps/ipsec/replication/seq-lease.js';
import type { UnitId } from '../../../../src/cluster/types.js';
import { parseIpv4 } from '../../../../src/lib/ipv4.js';
import { SeededRandom } from '../../../../src/lib/random.js';
import { readU32 } from '../../../../src/wire/esp.js';
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

interface Rec {
  unit: UnitId;
  body: Uint8Array | null;
  receivedAt: number;
  version: number;
}

/** One owner's replication as its peers see it: records in transit until delivered, then held and acknowledged. */
class Peers {
  readonly held = new Map<string, Rec>();
  private readonly transit: { key: string; rec: Rec }[] = [];
  private readonly versions = new Map<string, number>();
  private readonly ackedVersions = new Map<string, number>();
  published = 0;

  attach(h: IpsecHandler, clock: Clock): void {
    h.replicate = (_now, unit, key, body) => {
      const version = Math.max(this.versions.get(key) ?? 0, this.held.get(key)?.version ?? 0) + 1;
      this.versions.set(key, version);
      this.transit.push({ key, rec: { unit, body, receivedAt: clock.now, version } });
      this.published++;
      return version;
    };
    h.replicationAcked = (_unit, key) => this.ackedVersions.get(key) ?? 0;
  }

  /** Everything in transit reaches every peer, and their acknowledgements come back. */
  deliver(): void {
    for (const { key, rec } of this.transit.splice(0)) {
      if ((this.held.get(key)?.version ?? 0) < rec.version) this.held.set(key, rec);
      this.ackedVersions.set(key, Math.max(this.ackedVersions.get(key) ?? 0, rec.version));
    }
  }
}

class ClusterWire extends Wire {
  constructor(
    public owner: IpsecHandler,
    clock: Clock,
    client: { ip: number; port: number },
  ) {
    super(clock, client, SERVER_IP);
  }
  protected deliver(unit: UnitId, port: number, message: Uint8Array): Uint8Array[] {
    const payload = port === IKE_PORT ? message : encodeNonEsp(message);
    return this.owner
      .udp(this.clock.now, unit, this.from(port), port, payload)
      .flatMap((o) => (o.kind !== 'udp' ? [] : o.localPort === IKE_PORT ? [o.payload] : o.payload.subarray(0, 4).every((b) => b === 0) ? [o.payload.subarray(4)] : []));
  }
}

function setup() {
  const clock: Clock = { now: 10_000 };
  const peers = new Peers();
  const a = new IpsecHandler(responderDeps(pki, { seed: 1 }));
  const b = new IpsecHandler(responderDeps(pki, { seed: 2 }));
  peers.attach(a, clock);
  const wire = new ClusterWire(a, clock, { ip: parseIpv4('203.0.113.77'), port: 500 });
  const ini = new IkeInitiator(clientOptions(new SeededRandom(5), { cert: pki.clientEc, id: CLIENT_EC_ID }), wire);
  expect(ini.connect().child).not.toBeNull();
  peers.deliver();
  return { clock, peers, a, b, wire, ini };
}

/** The inside's packet to the client through `owner`: the ESP sequence number sent, or null when refused. */
function down(s: ReturnType<typeof setup>, owner: IpsecHandler): number | null {
  const vip = s.ini.virtualAddress!;
  const sa = [...owner.responder.state.sas.values()][0]!;
  const out = owner.toClient(s.clock.now, sa.unit, vip, innerPacket(INSIDE_HOST, vip, 'x'));
  const o = out?.[0];
  if (!o || o.kind === 'inner') return null;
  return readU32(o.payload, 4);
}

function takeOver(s: ReturnType<typeof setup>): number {
  const unit = [...s.a.responder.state.sas.values()][0]!.unit;
  // the old owner is gone (no final record): the taker has what was delivered
  s.peers.attach(s.b, s.clock);
  return s.b.adopt(s.clock.now, [...s.peers.held.values()].filter((r) => r.unit === unit));
}

describe('sequence leases on the owner', () => {
  it('an idle SA that bursts sends nothing beyond the acknowledged mark; the taker starts above all it sent', () => {
    const s = setup();
    let maxSent = 0;
    for (let i = 0; i < 10; i++) maxSent = Math.max(maxSent, down(s, s.a) ?? 0);
    // idle for a minute: the measured rate falls to 0
    for (let t = 0; t < 120; t++) {
      s.clock.now += SEQUENCE_BATCH_MS;
      s.a.tick(s.clock.now);
      s.peers.deliver();
    }
    // a burst in one turn, faster than any acknowledgement: the extension stays in transit
    let refused = 0;
    for (let i = 0; i < 3 * LEASE_FLOOR; i++) {
      const seq = down(s, s.a);
      if (seq === null) refused++;
      else maxSent = Math.max(maxSent, seq);
    }
    expect(refused).toBeGreaterThan(0);
    expect(s.a.allCounters().get('esp.out-failed.lease')).toBe(refused);
    const heldMark = decodeSaSnapshot([...s.peers.held.values()][0]!.body!);
    expect(heldMark.ok && maxSent <= heldMark.value.children[0]!.outSequence).toBe(true);

    s.clock.now += 300;
    expect(takeOver(s)).toBe(1);
    s.wire.owner = s.b;
    expect(down(s, s.b)).toBeNull(); // the taker's own lease is not acknowledged yet
    s.peers.deliver();
    const first = down(s, s.b);
    expect(first).not.toBeNull();
    expect(first!).toBeGreaterThan(maxSent);
  });

  it('a steady stream extends ahead of need and is never refused; about one lease record per second', () => {
    const s = setup();
    const rate = 20_000; // packets per second, acknowledged within 1 ms
    const seconds = 4;
    const before = s.peers.published;
    let last = 0;
    let gaps = 0;
    for (let ms = 0; ms < seconds * 1000; ms++) {
      for (let i = 0; i < rate / 1000; i++) {
        const seq = down(s, s.a);
        if (seq !== last + 1) gaps++;
        last = seq ?? last;
      }
      s.clock.now += 1;
      if (ms % SEQUENCE_BATCH_MS === 0) s.a.tick(s.clock.now);
      s.peers.deliver();
    }
    expect(gaps).toBe(0);
    expect(s.a.allCounters().get('esp.out-failed.lease') ?? 0).toBe(0);
    // the inbound batch publishes nothing here (no inbound traffic): these are the leases
    const perSecond = (s.peers.published - before) / seconds;
    expect(perSecond).toBeLessThanOrEqual(2);
    console.log(`[seq-lease] ${rate} pkt/s for ${seconds} s: ${perSecond.toFixed(2)} lease records/s, none refused`);
  });
});

describe('SequenceLease', () => {
  it('whatever the schedule of sends, publishes and acknowledgements, nothing is sent above an acknowledged mark', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('send' as const), n: fc.integer({ min: 1, max: 5000 }) }),
      fc.record({ kind: fc.constant('publish' as const) }),
      fc.record({ kind: fc.constant('ack' as const) }),
      fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 1, max: 3000 }) }),
    );
    fc.assert(
      fc.property(fc.boolean(), fc.integer({ min: 0, max: 1e6 }), fc.array(op, { maxLength: 60 }), fc.integer({ min: 0, max: 100_000 }), (fresh, start, ops, rate) => {
        const lease = new SequenceLease(start, 0xffffffff, fresh);
        let last = start;
        let now = 0;
        let version = 0;
        let ackedMark = lease.granted; // the highest mark in a version every peer acknowledged
        const published: { version: number; mark: number }[] = [{ version: 0, mark: lease.mark }];
        let beyond = 0;
        for (const o of ops) {
          if (o.kind === 'send') {
            for (let i = 0; i < o.n; i++) {
              if (lease.wantsExtension(now, last)) lease.extend(now, last, rate);
              if (last >= lease.granted) break;
              last++;
              if (last > ackedMark) beyond++;
            }
          } else if (o.kind === 'publish') {
            version++;
            lease.published(version);
            published.push({ version, mark: lease.mark });
          } else if (o.kind === 'ack') {
            lease.acknowledged(version);
            ackedMark = Math.max(...published.filter((p) => p.version <= version).map((p) => p.mark));
          } else now += o.ms;
        }
        expect(beyond).toBe(0);
      }),
      { numRuns: 200 },
    );
  });
});
