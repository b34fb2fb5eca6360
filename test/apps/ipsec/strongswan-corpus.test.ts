/**
 * A fuzz corpus seeded from real captures: strongSwan's own messages (and
 * Shoal's answers) recorded in the lab (fixtures-strongswan/README). The
 * codec must read every one of them as strongSwan meant it; the responder
 * must answer a real IKE_SA_INIT; and mutated copies of every message the
 * client sent — bit flips, truncations, extensions, spliced headers — fed to
 * a member's IPsec handler must never throw, only be answered or counted.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { IpsecHandler } from '../../../src/apps/ipsec/ipsec-handler.js';
import { parseIpv4 } from '../../../src/lib/ipv4.js';
import { decodeEspHeader } from '../../../src/wire/esp.js';
import { EXCHANGE, PAYLOAD, TRANSFORM_TYPE } from '../../../src/wire/ike/constants.js';
import { decodeIkeMessage, type DecodedIkeMessage } from '../../../src/wire/ike/message.js';
import { NOTIFY } from '../../../src/wire/ike/notify.js';
import { encodeNonEsp } from '../../../src/wire/udp-encap.js';
import { makeTestPki, responderDeps, type TestPki } from '../../support/ike-initiator.js';

const DIR = join(dirname(fileURLToPath(import.meta.url)), 'fixtures-strongswan');
const REDIRECT_SUPPORTED = 16406; // RFC 5685 §10

interface Captured {
  name: string;
  fromClient: boolean;
  port: number;
  kind: string;
  bytes: Uint8Array;
}

const corpus: Captured[] = readdirSync(DIR)
  .filter((f) => f.endsWith('.hex'))
  .sort()
  .map((f) => {
    const m = /^[a-z]+-[a-z]+-\d+-(c2s|s2c)-(\d+)-(.+)\.hex$/.exec(f);
    if (!m) throw new Error(`unexpected fixture name ${f}`);
    return { name: f, fromClient: m[1] === 'c2s', port: Number(m[2]), kind: m[3]!, bytes: new Uint8Array(Buffer.from(readFileSync(join(DIR, f), 'utf8').trim(), 'hex')) };
  });

function ike(c: Captured): DecodedIkeMessage {
  const d = decodeIkeMessage(c.bytes);
  if (!d.ok) throw new Error(`${c.name}: ${d.error.message}`);
  return d.value;
}

let pki: TestPki;
beforeAll(async () => {
  pki = await makeTestPki();
});

describe('real strongSwan captures', () => {
  it('the corpus holds both conversations, every exchange and ESP both ways', () => {
    const kinds = new Set(corpus.map((c) => c.kind));
    for (const k of ['ike-sa-init-request', 'ike-sa-init-response', 'ike-auth-request', 'ike-auth-response', 'create-child-sa-request', 'informational-request', 'esp']) expect(kinds).toContain(k);
    expect(corpus.length).toBeGreaterThan(40);
  });

  it('every IKE message decodes, and strongSwan IKE_SA_INIT reads as strongSwan sent it', () => {
    for (const c of corpus.filter((x) => x.kind !== 'esp' && x.kind !== 'keepalive')) ike(c);
    const init = ike(corpus.find((c) => c.name.startsWith('ecdsa-gcm') && c.kind === 'ike-sa-init-request')!);
    expect(init.header.exchangeType).toBe(EXCHANGE.IKE_SA_INIT);
    expect(init.header.initiator).toBe(true);
    expect(init.header.messageId).toBe(0);
    expect(init.payloads.map((p) => p.kind)).toEqual(['sa', 'ke', 'nonce', 'notify', 'notify', 'notify', 'notify', 'notify']);
    const sa = init.payloads[0];
    if (sa?.kind !== 'sa') throw new Error('no SA');
    const t = sa.proposals[0]!.transforms;
    expect(t.find((x) => x.type === TRANSFORM_TYPE.ENCR)).toMatchObject({ id: 20, attributes: [{ type: 14, value: 256 }] });
    expect(t.find((x) => x.type === TRANSFORM_TYPE.PRF)?.id).toBe(5);
    expect(t.find((x) => x.type === TRANSFORM_TYPE.DH)?.id).toBe(19);
    const notifies = init.payloads.flatMap((p) => (p.kind === 'notify' ? [p.notifyType] : []));
    expect(notifies).toEqual([NOTIFY.NAT_DETECTION_SOURCE_IP, NOTIFY.NAT_DETECTION_DESTINATION_IP, NOTIFY.IKEV2_FRAGMENTATION_SUPPORTED, NOTIFY.SIGNATURE_HASH_ALGORITHMS, REDIRECT_SUPPORTED]);
    const auth = ike(corpus.find((c) => c.kind === 'ike-auth-request')!);
    expect(auth.payloads.at(-1)?.kind).toBe('sk');
    expect(auth.encryptedAt).toBe(28 + 4);
    expect(auth.payloads[0]).toMatchObject({ kind: 'sk', innerFirst: PAYLOAD.IDI });
  });

  it('every ESP packet has a header and an SPI outside the reserved 0..255', () => {
    const esp = corpus.filter((c) => c.kind === 'esp');
    expect(esp.length).toBeGreaterThan(10);
    for (const c of esp) {
      const h = decodeEspHeader(c.bytes);
      expect(h.ok).toBe(true);
      if (h.ok) expect(h.value.spi >>> 8).not.toBe(0);
    }
  });

  it("a fresh responder answers strongSwan's real IKE_SA_INIT", () => {
    for (const init of corpus.filter((c) => c.kind === 'ike-sa-init-request')) {
      const handler = new IpsecHandler(responderDeps(pki));
      const out = handler.udp(0, 7, { ip: parseIpv4('198.18.16.2'), port: 500 }, 500, init.bytes);
      const answer = out.find((o) => o.kind === 'udp');
      if (answer?.kind !== 'udp') throw new Error(`${init.name}: no answer`);
      const d = decodeIkeMessage(answer.payload);
      expect(d.ok && d.value.payloads.map((p) => p.kind).slice(0, 3)).toEqual(['sa', 'ke', 'nonce']);
    }
  });

  it('mutated copies of every client message never throw out of the handler', () => {
    const sent = corpus.filter((c) => c.fromClient);
    const handler = new IpsecHandler(responderDeps(pki));
    const from = { ip: parseIpv4('198.18.16.2'), port: 4500 };
    const deliver = (c: Captured, bytes: Uint8Array): void => {
      if (c.port === 500) handler.udp(0, 7, { ...from, port: 500 }, 500, bytes);
      else if (c.kind === 'esp') {
        handler.udp(0, 7, from, 4500, bytes);
        handler.ip(0, 7, from.ip, 50, bytes);
      } else handler.udp(0, 7, from, 4500, encodeNonEsp(bytes));
    };
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: sent.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 6 }),
        fc.oneof(fc.constant('flip' as const), fc.constant('truncate' as const), fc.constant('extend' as const), fc.constant('splice' as const)),
        fc.nat(),
        (i, flips, how, n) => {
          const c = sent[i]!;
          let b = c.bytes.slice();
          for (const [at, x] of flips) if (b.length > 0) b[at % b.length]! ^= x;
          if (how === 'truncate') b = b.subarray(0, n % (b.length + 1));
          else if (how === 'extend') b = Uint8Array.from([...b, ...new Uint8Array(n % 64).fill(n & 0xff)]);
          else if (how === 'splice') {
            const other = sent[n % sent.length]!.bytes;
            b = Uint8Array.from([...b.subarray(0, Math.min(28, b.length)), ...other.subarray(Math.min(28, other.length))]);
          }
          expect(() => deliver(c, b)).not.toThrow();
        },
      ),
      { numRuns: 1500, seed: 4242 },
    );
    const counted = [...handler.allCounters().entries()].filter(([k]) => k.includes('drop')).reduce((n, [, v]) => n + v, 0);
    expect(counted).toBeGreaterThan(100);
  });
});
