/**
 * Bad input never throws and is always counted: random bytes and mutated
 * real messages (bit flips, truncation, extension of recorded IKE_SA_INIT
 * and IKE_AUTH requests) into IkeResponder.input and IpsecHandler.udp/ip.
 *
 * The seed corpus is a recorded PSK conversation (fully deterministic:
 * seeded randomness on both sides), kept as hex under fixtures/ and
 * replayed. Regenerate with UPDATE_IKE_FIXTURES=1 after a deliberate change
 * in how the responder draws randomness or builds its answers.
 *
 *   fixtures/psk-*.hex ─► replay into a fresh responder ─► same answers, SA up
 *                     └─► mutate (fast-check) ─► input() ─► no throw, counters grow
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { IkeResponder } from '../../../src/apps/ipsec/ike/responder.js';
import { IpsecHandler } from '../../../src/apps/ipsec/ipsec-handler.js';
import { unitOfAddressPort } from '../../../src/cluster/unit-hash.js';
import { parseIpv4 } from '../../../src/lib/ipv4.js';
import { SeededRandom } from '../../../src/lib/random.js';
import { IP_PROTOCOL } from '../../../src/wire/ipv4.js';
import { encodeNonEsp } from '../../../src/wire/udp-encap.js';
import {
  ESP_SUITES,
  INSIDE_HOST,
  innerPacket,
  IKE_PORT,
  IkeInitiator,
  ResponderWire,
  SERVER_IP,
  clientOptions,
  espProtection,
  ikeSuite,
  makeTestPki,
  responderDeps,
  type Clock,
  type TestPki,
} from '../../support/ike-initiator.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
const CLIENT = { ip: parseIpv4('203.0.113.200'), port: 500 };
const UNIT = unitOfAddressPort(CLIENT.ip, CLIENT.port);
const RESPONDER_SEED = 42;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.trim(), 'hex'));

/** CERTREQ names the CA by its key hash; the CA is fresh per process, so recordings use a fixed value. */
const FIXED_CERTREQ = new Uint8Array(20).fill(0xca);

let pki: TestPki;

/** A PSK responder whose answers are the same in every process. */
function replayableResponder(): IkeResponder {
  return new IkeResponder({ ...responderDeps(pki, { seed: RESPONDER_SEED }), certReqAuthorities: FIXED_CERTREQ });
}
beforeAll(async () => {
  pki = await makeTestPki();
});

function total(counters: ReadonlyMap<string, number>): number {
  let n = 0;
  for (const v of counters.values()) n += v;
  return n;
}

// ------------------------------------------------------------------ the corpus

interface Recorded {
  name: string;
  port: number;
  request: Uint8Array;
  answers: Uint8Array[];
}

/**
 * Two PSK conversations (x25519/AES-GCM on 500; modp2048/AES-CBC on 4500 with
 * a fragmented IKE_AUTH), each message with the answers it got. Only PSK:
 * certificate keys are fresh per process and would not replay.
 */
function recordConversations(): Recorded[] {
  const out: Recorded[] = [];
  const conversations = [
    { tag: 'psk-gcm', more: { ikeSuites: [ikeSuite('aes128gcm16-prfsha256-x25519')] } },
    { tag: 'psk-cbc-frag', more: { ikeSuites: [ikeSuite('aes256-sha256-modp2048')], espSuites: [espProtection(ESP_SUITES[2])], forceNatT: true, requestFragmentSize: 200 } },
  ];
  for (const { tag, more } of conversations) {
    const clock: Clock = { now: 0 };
    const responder = replayableResponder();
    const wire = new ResponderWire(responder, clock, CLIENT, SERVER_IP);
    const ini = new IkeInitiator(clientOptions(new SeededRandom(4242), { psk: true }, more), wire);
    const mark = (): number => wire.sent.length;
    const collect = (what: string, from: number, answersFrom: number): void => {
      const sent = wire.sent.slice(from);
      sent.forEach((d, i) => {
        const last = i === sent.length - 1;
        out.push({ name: `${tag}-${what}${sent.length > 1 ? `-frag${i + 1}` : ''}`, port: d.port, request: d.message, answers: last ? wire.received.slice(answersFrom).map((r) => r.message) : [] });
      });
    };
    let s = mark();
    let a = wire.received.length;
    expect(ini.saInit().kind).toBe('ok');
    collect('01-ike-sa-init', s, a);
    [s, a] = [mark(), wire.received.length];
    expect(ini.auth().kind).toBe('ok');
    collect('02-ike-auth', s, a);
    // One ESP packet up (IP protocol 50), its answer the inner packet the handler must deliver.
    const inner = innerPacket(ini.virtualAddress!, INSIDE_HOST, `fixture ${tag}`);
    out.push({ name: `${tag}-02x-esp-in`, port: IP_PROTOCOL.ESP, request: ini.children[0]!.encrypt(clock.now, inner), answers: [inner] });
    [s, a] = [mark(), wire.received.length];
    expect(ini.createChild({ rekey: ini.children[0]!, pfsGroup: ini.ike.suite.dhGroup.group === 31 ? 31 : 14, ...(more.espSuites ? { espSuites: more.espSuites } : {}) }).kind).toBe('ok');
    collect('03-create-child-rekey', s, a);
    [s, a] = [mark(), wire.received.length];
    ini.deleteChild(ini.children[0]!);
    collect('04-informational-delete-child', s, a);
    [s, a] = [mark(), wire.received.length];
    ini.informational();
    collect('05-informational-liveness', s, a);
    [s, a] = [mark(), wire.received.length];
    ini.deleteIke();
    collect('06-informational-delete-ike', s, a);
  }
  return out;
}

function fixtureFile(r: Recorded): string {
  return join(FIXTURES, `${r.name}.hex`);
}

/** port, request hex, then one line per answer. */
function serialise(r: Recorded): string {
  return [`port ${r.port}`, `request ${hex(r.request)}`, ...r.answers.map((x) => `answer ${hex(x)}`)].join('\n') + '\n';
}

function parse(name: string, text: string): Recorded {
  const lines = text.trim().split('\n');
  const port = Number(lines[0]!.split(' ')[1]);
  const request = unhex(lines[1]!.split(' ')[1]!);
  const answers = lines.slice(2).map((l) => unhex(l.split(' ')[1]!));
  return { name, port, request, answers };
}

function loadFixtures(): Recorded[] {
  return readdirSync(FIXTURES)
    .filter((f) => f.endsWith('.hex'))
    .sort()
    .map((f) => parse(f.replace(/\.hex$/, ''), readFileSync(join(FIXTURES, f), 'utf8')));
}

describe('recorded corpus (fixtures/*.hex)', () => {
  it('the initiator records the same conversation every run (and writes it when asked)', () => {
    const recorded = recordConversations();
    expect(recorded.length).toBeGreaterThan(12);
    if (process.env['UPDATE_IKE_FIXTURES'] === '1' || !existsSync(join(FIXTURES, `${recorded[0]!.name}.hex`))) {
      mkdirSync(FIXTURES, { recursive: true });
      for (const r of recorded) writeFileSync(fixtureFile(r), serialise(r));
    }
    // Deterministic within a process and across processes (seeded randomness on both sides).
    expect(recordConversations().map(serialise)).toEqual(recorded.map(serialise));
    for (const r of recorded) {
      expect(readFileSync(fixtureFile(r), 'utf8'), `${r.name}: regenerate with UPDATE_IKE_FIXTURES=1 if the change is deliberate`).toBe(serialise(r));
    }
  });

  it('replayed into a fresh responder, each conversation gets the recorded answers', () => {
    const fixtures = loadFixtures();
    expect(fixtures.length).toBeGreaterThan(12);
    for (const tag of ['psk-gcm', 'psk-cbc-frag']) {
      const clock: Clock = { now: 0 };
      const responder = replayableResponder();
      for (const r of fixtures.filter((f) => f.name.startsWith(tag) && f.port !== IP_PROTOCOL.ESP)) {
        const answers = responder.input(clock.now, UNIT, r.port === IKE_PORT ? CLIENT : { ip: CLIENT.ip, port: 4500 }, r.port, r.request);
        const sent = answers.flatMap((o) => (o.kind === 'send' ? [hex(o.message)] : []));
        expect(sent, `${r.name} (regenerate with UPDATE_IKE_FIXTURES=1 if the responder changed on purpose)`).toEqual(r.answers.map(hex));
        if (r.name.includes('02-ike-auth') && r.answers.length > 0) expect([...responder.state.sas.values()][0]!.state).toBe('established');
      }
      expect(responder.state.sas.size).toBe(0);
      expect(responder.counters.get('ike.removed.deleted-by-peer')).toBe(1);
    }
  });
});

/** Replays one recorded conversation into an IpsecHandler, IKE by UDP and ESP by IP protocol 50. */
function replayIntoHandler(handler: IpsecHandler, conversation: readonly Recorded[]): { ok: number } {
  let ok = 0;
  for (const r of conversation) {
    if (r.port === IP_PROTOCOL.ESP) {
      const out = handler.ip(0, UNIT, CLIENT.ip, IP_PROTOCOL.ESP, r.request);
      expect(out.map((o) => (o.kind === 'inner' ? hex(o.packet) : o.kind))).toEqual(r.answers.map(hex));
      ok++;
      continue;
    }
    const from = r.port === IKE_PORT ? CLIENT : { ip: CLIENT.ip, port: 4500 };
    const out = handler.udp(0, UNIT, from, r.port, r.port === IKE_PORT ? r.request : encodeNonEsp(r.request));
    const answers = out.flatMap((o) => (o.kind === 'udp' ? [hex(r.port === IKE_PORT ? o.payload : o.payload.subarray(4))] : []));
    expect(answers, r.name).toEqual(r.answers.map(hex));
    ok++;
  }
  return { ok };
}

describe('recorded corpus through IpsecHandler', () => {
  it('both conversations replay, and the recorded ESP packet comes out as the recorded inner packet', () => {
    for (const tag of ['psk-gcm', 'psk-cbc-frag']) {
      const handler = new IpsecHandler({ ...responderDeps(pki, { seed: RESPONDER_SEED }), certReqAuthorities: FIXED_CERTREQ });
      const conversation = loadFixtures().filter((f) => f.name.startsWith(tag));
      expect(replayIntoHandler(handler, conversation).ok).toBe(conversation.length);
      expect(handler.allCounters().get('esp.in')).toBe(1);
      expect(handler.responder.state.sas.size).toBe(0);
    }
  });

  it('mutated copies of the recorded ESP packet into IpsecHandler.ip and .udp(4500) never throw and are counted', () => {
    const handler = new IpsecHandler({ ...responderDeps(pki, { seed: RESPONDER_SEED }), certReqAuthorities: FIXED_CERTREQ });
    const conversation = loadFixtures().filter((f) => f.name.startsWith('psk-gcm') && f.name < 'psk-gcm-03');
    const esp = conversation.find((r) => r.port === IP_PROTOCOL.ESP)!;
    replayIntoHandler(handler, conversation.filter((r) => r !== esp));
    fc.assert(
      fc.property(fc.array(arbMutation, { minLength: 1, maxLength: 3 }), fc.boolean(), (mutations, udp) => {
        const m = mutate(esp.request, mutations);
        if (Buffer.from(m).equals(Buffer.from(esp.request))) return;
        const before = total(handler.allCounters());
        const out = udp ? handler.udp(0, UNIT, { ip: CLIENT.ip, port: 4500 }, 4500, m) : handler.ip(0, UNIT, CLIENT.ip, IP_PROTOCOL.ESP, m);
        expect(out).toEqual([]);
        expect(total(handler.allCounters())).toBeGreaterThan(before);
      }),
      { seed: 14, numRuns: 500 },
    );
    // The genuine packet still gets through: the mutations did not move the replay window.
    expect(handler.ip(0, UNIT, CLIENT.ip, IP_PROTOCOL.ESP, esp.request).map((o) => (o.kind === 'inner' ? hex(o.packet) : o.kind))).toEqual(esp.answers.map(hex));
    const reasons = [...handler.allCounters().keys()].filter((k) => k.startsWith('esp.drop.'));
    expect(reasons).toEqual(expect.arrayContaining(['esp.drop.bad-icv', 'esp.drop.unknown-spi', 'esp.drop.truncated']));
  });
});

// ------------------------------------------------------------------ mutation

type Mutation = { kind: 'flip'; at: number; mask: number } | { kind: 'truncate'; to: number } | { kind: 'extend'; bytes: Uint8Array } | { kind: 'overwrite'; at: number; bytes: Uint8Array };

const arbMutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), to: fc.nat() }),
  fc.record({ kind: fc.constant('extend' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
  fc.record({ kind: fc.constant('overwrite' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
);

function mutate(message: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let m = message.slice();
  for (const x of mutations) {
    if (m.length === 0) break;
    if (x.kind === 'flip') m[x.at % m.length] = m[x.at % m.length]! ^ x.mask;
    else if (x.kind === 'truncate') m = m.slice(0, x.to % m.length);
    else if (x.kind === 'extend') m = new Uint8Array([...m, ...x.bytes]);
    else m.set(x.bytes.subarray(0, Math.max(0, m.length - (x.at % m.length))), x.at % m.length);
  }
  return m;
}

/** A responder holding a half-open SA for the recorded psk-gcm conversation (so IKE_AUTH mutations reach decryption). */
function halfOpen(): { responder: IkeResponder; corpus: Recorded[] } {
  const corpus = loadFixtures().filter((f) => f.name.startsWith('psk-gcm'));
  const responder = replayableResponder();
  responder.input(0, UNIT, CLIENT, IKE_PORT, corpus[0]!.request);
  expect(responder.halfOpen()).toBe(1);
  return { responder, corpus };
}

describe('mutated real messages', () => {
  it('mutated IKE_SA_INIT and IKE_AUTH requests never throw and are counted; the genuine IKE_AUTH still works after', () => {
    const { responder, corpus } = halfOpen();
    const [init, auth] = [corpus[0]!.request, corpus[1]!.request];
    fc.assert(
      fc.property(fc.boolean(), fc.array(arbMutation, { minLength: 1, maxLength: 4 }), (useAuth, mutations) => {
        const original = useAuth ? auth : init;
        const m = mutate(original, mutations);
        if (Buffer.from(m).equals(Buffer.from(original))) return;
        const before = total(responder.counters);
        const out = responder.input(1, UNIT, CLIENT, IKE_PORT, m);
        expect(total(responder.counters) > before || out.length > 0).toBe(true);
        // Nothing a mutation does may establish the SA.
        for (const sa of responder.state.sas.values()) expect(sa.state).toBe('half-open');
      }),
      { seed: 7, numRuns: 400 },
    );
    const drops = [...responder.counters].filter(([k]) => k.startsWith('ike.drop.'));
    expect(drops.length).toBeGreaterThan(3);
    // The genuine IKE_AUTH is still accepted: garbage did not disturb the half-open SA.
    // (Its answer differs from the recording: mutated IKE_SA_INITs drew from the responder's randomness.)
    const answers = responder.input(2, UNIT, CLIENT, IKE_PORT, auth);
    expect(answers.filter((o) => o.kind === 'send')).toHaveLength(1);
    expect(responder.counters.get('ike.auth.ok')).toBe(1);
  });

  it('mutations of every recorded message through IpsecHandler.udp (500 and 4500) never throw', () => {
    const corpus = loadFixtures();
    const handler = new IpsecHandler(responderDeps(pki, { seed: RESPONDER_SEED }));
    fc.assert(
      fc.property(fc.nat({ max: corpus.length - 1 }), fc.array(arbMutation, { minLength: 1, maxLength: 3 }), fc.boolean(), (i, mutations, natT) => {
        const m = mutate(corpus[i]!.request, mutations);
        const before = total(handler.allCounters());
        const out = natT ? handler.udp(3, UNIT, { ip: CLIENT.ip, port: 4500 }, 4500, encodeNonEsp(m)) : handler.udp(3, UNIT, CLIENT, IKE_PORT, m);
        expect(total(handler.allCounters()) > before || out.length > 0).toBe(true);
      }),
      { seed: 8, numRuns: 400 },
    );
  });
});

describe('random bytes', () => {
  it('IkeResponder.input never throws on random datagrams and counts each one', () => {
    const responder = new IkeResponder(responderDeps(pki, { seed: 5 }));
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.nat({ max: 1023 }), fc.constantFrom(500, 4500), (bytes, unit, port) => {
        const before = total(responder.counters);
        const out = responder.input(0, unit, CLIENT, port, bytes);
        expect(total(responder.counters) > before || out.length > 0).toBe(true);
      }),
      { seed: 9, numRuns: 500 },
    );
    expect(responder.counters.get('ike.drop.malformed.truncated')).toBeGreaterThan(0);
  });

  it('random IKE-shaped datagrams (valid header, random body) never throw', () => {
    const responder = new IkeResponder(responderDeps(pki, { seed: 6 }));
    const arb = fc.record({
      spiI: fc.uint8Array({ minLength: 8, maxLength: 8 }),
      zeroR: fc.boolean(),
      next: fc.integer({ min: 0, max: 255 }),
      exchange: fc.constantFrom(34, 35, 36, 37, 0, 255),
      flags: fc.constantFrom(0x08, 0x00, 0x20, 0x28, 0x18),
      id: fc.constantFrom(0, 1, 2, 0xffffffff),
      body: fc.uint8Array({ maxLength: 300 }),
    });
    fc.assert(
      fc.property(arb, (h) => {
        const m = new Uint8Array(28 + h.body.length);
        m.set(h.spiI, 0);
        if (!h.zeroR) m.set(h.spiI, 8);
        m[16] = h.next;
        m[17] = 0x20;
        m[18] = h.exchange;
        m[19] = h.flags;
        new DataView(m.buffer).setUint32(20, h.id >>> 0);
        new DataView(m.buffer).setUint32(24, m.length);
        m.set(h.body, 28);
        const before = total(responder.counters);
        const out = responder.input(0, 1, CLIENT, 500, m);
        expect(total(responder.counters) > before || out.length > 0).toBe(true);
      }),
      { seed: 10, numRuns: 500 },
    );
  });

  it('IpsecHandler.udp and .ip never throw on random payloads, with an established SA present', () => {
    const handler = new IpsecHandler(responderDeps(pki, { seed: 11 }));
    const clock: Clock = { now: 0 };
    // An SA whose SPIs random ESP may hit: established through the responder the handler owns.
    const wire = new ResponderWire(handler.responder, clock, CLIENT, SERVER_IP);
    new IkeInitiator(clientOptions(new SeededRandom(12), { psk: true }), wire).connect();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.constantFrom(500, 4500, 50), (bytes, where) => {
        const before = total(handler.allCounters());
        const out = where === 50 ? handler.ip(0, UNIT, CLIENT.ip, IP_PROTOCOL.ESP, bytes) : handler.udp(0, UNIT, { ip: CLIENT.ip, port: where }, where, bytes);
        expect(total(handler.allCounters()) > before || out.length > 0).toBe(true);
      }),
      { seed: 13, numRuns: 1000 },
    );
  });
});
