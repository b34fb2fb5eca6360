import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ESP_DROP_REASONS, InboundEspSa, OutboundEspSa, type EspDecapsulated, type EspDropReason } from '../../../../src/apps/ipsec/esp/sa.js';
import { SeededRandom } from '../../../../src/lib/random.js';
import { ESP_HEADER_LENGTH, writeEspHeader } from '../../../../src/wire/esp.js';
import { saPair, TRANSFORM_NAMES, transformSpec } from './support.js';

const arbInner = fc.uint8Array({ minLength: 0, maxLength: 1500 });
const arbTransform = fc.constantFrom(...TRANSFORM_NAMES);

function packetOf(r: Uint8Array | string): Uint8Array {
  if (typeof r === 'string') throw new Error(`encapsulate refused: ${r}`);
  return r;
}

function reasonOf(r: EspDecapsulated): EspDropReason | 'ok' {
  return r.ok ? 'ok' : r.reason;
}

describe('ESP SAs, tunnel mode (RFC 4303, 4106, 7634, 4868)', () => {
  for (const name of TRANSFORM_NAMES) {
    for (const esn of [false, true]) {
      it(`${name}${esn ? ' with ESN' : ''}: round-trips random inner packets in order`, () => {
        fc.assert(
          fc.property(fc.array(arbInner, { minLength: 1, maxLength: 8 }), fc.integer({ min: 0, max: 0x1_0000_0100 }), (inners, start) => {
            const last = esn ? start : start & 0x7fffffff;
            const { out, in: inbound } = saPair(name, { esn, lastSequence: last, replayState: { highest: last, bitmap: new Uint32Array(128).fill(~0) } });
            expect(out.transform.name).toBe(name);
            for (const [i, inner] of inners.entries()) {
              const esp = packetOf(out.encapsulate(0, inner));
              expect((esp[4]! << 24) | (esp[5]! << 16) | (esp[6]! << 8) | esp[7]!).toBe((last + i + 1) | 0);
              const t = out.transform;
              expect((esp.length - ESP_HEADER_LENGTH - t.ivLength - t.icvLength) % t.alignment).toBe(0);
              const r = inbound.decapsulate(0, esp);
              if (!r.ok) throw new Error(r.reason);
              expect(r.packet).toEqual(inner);
              expect([r.nextHeader, r.sequence]).toEqual([4, last + i + 1]);
            }
            expect([out.packets, out.bytes]).toEqual([inners.length, inners.reduce((n, p) => n + p.length, 0)]);
            expect([inbound.packets, inbound.bytes]).toEqual([out.packets, out.bytes]);
          }),
          { numRuns: 40 },
        );
      });
    }
  }

  it('decapsulates out of order within the window, refuses duplicates, and (without ESN) the too old', () => {
    fc.assert(
      fc.property(arbTransform, fc.boolean(), (name, esn) => {
        const { out, in: inbound } = saPair(name, { esn, replayWindow: 1024 });
        const sent = Array.from({ length: 1100 }, (_, i) => packetOf(out.encapsulate(0, Uint8Array.of(0x45, i & 0xff))));
        expect(reasonOf(inbound.decapsulate(0, sent[1099]!))).toBe('ok');
        expect(reasonOf(inbound.decapsulate(0, sent[500]!))).toBe('ok');
        expect(reasonOf(inbound.decapsulate(0, sent[500]!))).toBe('replayed');
        expect(reasonOf(inbound.decapsulate(0, sent[1099]!))).toBe('replayed');
        expect(reasonOf(inbound.decapsulate(0, sent[76]!))).toBe('ok'); // seq 77 = T - W + 1, the window's bottom
        // seq 76 is below the window: refused before the ICV, or (ESN) taken as 2^32 + 76 and failing it
        expect(reasonOf(inbound.decapsulate(0, sent[75]!))).toBe(esn ? 'bad-icv' : 'outside-window');
        expect(inbound.drops.replayed).toBe(2);
      }),
      { numRuns: 12 },
    );
  });

  it('crosses 2^32 with ESN and refuses to cycle without it', () => {
    for (const name of TRANSFORM_NAMES) {
      const near = 2 ** 32 - 3;
      const a = saPair(name, { esn: true, lastSequence: near, replayState: { highest: near, bitmap: new Uint32Array(128) } });
      for (let i = 1; i <= 6; i++) {
        const r = a.in.decapsulate(0, packetOf(a.out.encapsulate(0, Uint8Array.of(i))));
        expect(r.ok && r.sequence).toBe(near + i);
      }
      const b = saPair(name, { esn: false, lastSequence: 2 ** 32 - 2 });
      expect(typeof b.out.encapsulate(0, new Uint8Array(20))).not.toBe('string');
      expect(b.out.encapsulate(0, new Uint8Array(20))).toBe('sequence-exhausted');
      expect(b.out.packets).toBe(1);
    }
  });

  it('reports any bit flip as bad-icv (a flipped sequence number may be refused before the ICV)', () => {
    fc.assert(
      fc.property(arbTransform, fc.boolean(), arbInner, fc.nat(), (name, esn, inner, bit) => {
        const { out, in: inbound } = saPair(name, { esn });
        const esp = packetOf(out.encapsulate(0, inner));
        const at = Math.floor(bit / 8) % esp.length;
        const bad = esp.slice();
        bad[at] = bad[at]! ^ (1 << bit % 8);
        const r = reasonOf(inbound.decapsulate(0, bad));
        if (at >= 4 && at < 8) expect(['bad-icv', 'outside-window']).toContain(r);
        else expect(r).toBe('bad-icv');
        expect(reasonOf(inbound.decapsulate(0, esp))).toBe('ok'); // a forgery does not move the window
      }),
      { numRuns: 300 },
    );
  });

  it('gives a typed reason for every truncation and never throws on random bytes', () => {
    fc.assert(
      fc.property(arbTransform, fc.boolean(), fc.uint8Array({ maxLength: 200 }), (name, esn, inner) => {
        const { out, in: inbound } = saPair(name, { esn });
        const esp = packetOf(out.encapsulate(0, inner));
        for (let n = 0; n < esp.length; n++) expect(['truncated', 'bad-icv']).toContain(reasonOf(inbound.decapsulate(0, esp.subarray(0, n))));
        expect(inbound.drops.truncated + inbound.drops['bad-icv']).toBe(esp.length);
        expect(reasonOf(inbound.decapsulate(0, esp))).toBe('ok');
      }),
      { numRuns: 30 },
    );
    fc.assert(
      fc.property(arbTransform, fc.boolean(), fc.uint8Array({ maxLength: 120 }), (name, esn, bytes) => {
        expect(ESP_DROP_REASONS).toContain(reasonOf(saPair(name, { esn }).in.decapsulate(0, bytes)));
      }),
      { numRuns: 300 },
    );
  });

  it('refuses authentic packets whose padding is not 1, 2, 3, … as bad-padding', () => {
    fc.assert(
      fc.property(arbTransform, fc.boolean(), fc.uint8Array({ maxLength: 100 }), fc.nat(), (name, esn, inner, pick) => {
        const { out, in: inbound } = saPair(name, { esn });
        const t = out.transform;
        // a plaintext with one pad byte wrong (or a pad length past the start), sealed under the right key
        const plainLength = Math.ceil((inner.length + 2 + 1) / t.alignment) * t.alignment;
        const padLength = plainLength - inner.length - 2;
        const packet = new Uint8Array(ESP_HEADER_LENGTH + t.ivLength + plainLength + t.icvLength);
        const textAt = ESP_HEADER_LENGTH + t.ivLength;
        writeEspHeader(packet, 0, out.spi, 1);
        packet.set(inner, textAt);
        for (let i = 0; i < padLength; i++) packet[textAt + inner.length + i] = i + 1;
        if (pick % 2 === 0) packet[textAt + inner.length + (pick % padLength)]! ^= 0x80;
        packet[textAt + plainLength - 2] = pick % 2 === 0 ? padLength : plainLength - 1;
        packet[textAt + plainLength - 1] = 4;
        t.seal(packet, 0, 1, esn);
        expect(reasonOf(inbound.decapsulate(0, packet))).toBe('bad-padding');
        expect(inbound.packets).toBe(0);
        expect(inbound.drops['bad-padding']).toBe(1);
      }),
      { numRuns: 100 },
    );
  });

  it('goes soft then hard on bytes, packets and time, reporting each transition once', () => {
    const { out, in: inbound } = saPair('aes-128-gcm-16', { lifetime: { softBytes: 250, hardBytes: 400 }, now: 1000 });
    const inner = new Uint8Array(100);
    const states: (string | null)[] = [];
    for (let i = 0; i < 5; i++) {
      const r = out.encapsulate(1000, inner);
      if (typeof r !== 'string') inbound.decapsulate(1000, r);
      states.push(out.pollLifetime(1000));
    }
    expect(states).toEqual([null, null, 'soft-expired', 'hard-expired', null]);
    expect(out.encapsulate(1000, inner)).toBe('lifetime-expired');
    expect([out.packets, out.bytes]).toEqual([4, 400]);
    expect(inbound.lifetimeState(1000)).toBe('hard-expired');
    expect(inbound.decapsulate(1000, new Uint8Array(60))).toEqual({ ok: false, reason: 'lifetime-expired' });

    const p = saPair('chacha20-poly1305', { lifetime: { softPackets: 2, hardPackets: 3 } });
    expect([1, 2, 3].map(() => (p.out.encapsulate(0, inner), p.out.lifetimeState(0)))).toEqual(['live', 'soft-expired', 'hard-expired']);

    const t = saPair('aes-256-cbc/hmac-sha2-512-256', { lifetime: { softSeconds: 3600, hardSeconds: 3900 }, now: 5000 });
    expect(t.out.pollLifetime(5000 + 3_599_999)).toBeNull();
    expect(t.out.pollLifetime(5000 + 3_600_000)).toBe('soft-expired');
    expect(t.out.pollLifetime(5000 + 3_700_000)).toBeNull();
    const late = packetOf(t.out.encapsulate(5000 + 3_899_999, inner));
    expect(t.out.encapsulate(5000 + 3_900_000, inner)).toBe('lifetime-expired');
    expect(reasonOf(t.in.decapsulate(5000 + 3_899_999, late))).toBe('ok');
    expect(reasonOf(t.in.decapsulate(5000 + 3_900_000, late))).toBe('lifetime-expired');
    expect(t.in.pollLifetime(5000 + 3_900_000)).toBe('hard-expired'); // live straight to hard
  });

  it('keys do not decrypt each other, and a bad configuration is refused at construction', () => {
    const a = saPair('aes-256-gcm-16', { seed: 1 });
    const b = saPair('aes-256-gcm-16', { seed: 2 });
    expect(reasonOf(b.in.decapsulate(0, packetOf(a.out.encapsulate(0, new Uint8Array(40)))))).toBe('bad-icv');
    const rng = new SeededRandom(3);
    const random = rng.fork();
    expect(() => new OutboundEspSa(0, { spi: 0, transform: transformSpec('aes-128-gcm-16', rng), esn: false, random })).toThrow(RangeError);
    expect(() => new OutboundEspSa(0, { spi: 1, transform: { encryption: 'aes-gcm-16', key: new Uint8Array(16) }, esn: false, random })).toThrow(RangeError);
    expect(() => new OutboundEspSa(0, { spi: 1, transform: { encryption: 'chacha20-poly1305', key: new Uint8Array(32) }, esn: false, random })).toThrow(RangeError);
    expect(
      () => new InboundEspSa(0, { spi: 1, transform: { encryption: 'aes-cbc', key: new Uint8Array(16), integrity: 'hmac-sha2-256-128', integrityKey: new Uint8Array(16) }, esn: false }),
    ).toThrow(RangeError);
    expect(() => new InboundEspSa(0, { spi: 1, transform: transformSpec('aes-128-gcm-16', rng), esn: false, lifetime: { hardBytes: -1 } })).toThrow(RangeError);
  });
});
