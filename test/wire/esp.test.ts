import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeEspHeader,
  decodeEspPlaintext,
  encodeEspPlaintext,
  espPadLength,
  espPayloadLength,
  ESP_TRAILER_BAD_PADDING,
  ESP_TRAILER_TRUNCATED,
  writeEspHeader,
} from '../../src/wire/esp.js';
import { arbU8, arbU32, hex, reasonOf, toHex, valueOf } from './arbitraries.js';

const arbAlignment = fc.constantFrom(1, 4, 8, 16);

describe('ESP header and trailer (RFC 4303 §2)', () => {
  it('reads SPI and sequence number big-endian', () => {
    const h = valueOf(decodeEspHeader(hex('c0ffee01 00000102 deadbeef')));
    expect(h).toEqual({ spi: 0xc0ffee01, sequence: 0x102 });
  });

  it('round-trips the header and refuses SPI 0 and short input', () => {
    fc.assert(
      fc.property(arbU32.filter((s) => s !== 0), arbU32, (spi, seq) => {
        const b = new Uint8Array(8);
        writeEspHeader(b, 0, spi, seq);
        expect(valueOf(decodeEspHeader(b))).toEqual({ spi, sequence: seq });
        for (let n = 0; n < 8; n++) expect(reasonOf(decodeEspHeader(b.subarray(0, n)))).toBe('truncated');
      }),
    );
    expect(reasonOf(decodeEspHeader(new Uint8Array(8)))).toBe('bad-value');
  });

  it('pads with 1, 2, 3, … to the alignment (§2.4)', () => {
    expect(toHex(encodeEspPlaintext(hex('aabbcc'), 4, 8))).toBe('aabbcc0102030304');
    expect(toHex(encodeEspPlaintext(hex('aabb'), 41, 4))).toBe('aabb0029');
    expect(espPadLength(14, 16)).toBe(0);
    expect(espPadLength(15, 16)).toBe(15);
  });

  it('round-trips any payload, next header and alignment', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), arbU8, arbAlignment, (payload, nextHeader, alignment) => {
        const plain = encodeEspPlaintext(payload, nextHeader, alignment);
        expect(plain.length % alignment).toBe(0);
        const d = valueOf(decodeEspPlaintext(plain));
        expect(d.payload).toEqual(payload);
        expect(d.nextHeader).toBe(nextHeader);
        expect(d.padLength).toBe(plain.length - payload.length - 2);
        expect(espPayloadLength(plain, 0, plain.length)).toBe(payload.length);
      }),
    );
  });

  it('reports any wrong pad byte, and a pad length past the start, as bad padding', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (payload, at, delta) => {
        const plain = encodeEspPlaintext(payload, 4, 16);
        const padLength = plain[plain.length - 2]!;
        fc.pre(padLength > 0);
        const bad = plain.slice();
        const i = payload.length + (at % padLength);
        bad[i] = (bad[i]! + delta) & 0xff;
        expect(espPayloadLength(bad, 0, bad.length)).toBe(ESP_TRAILER_BAD_PADDING);
        expect(reasonOf(decodeEspPlaintext(bad))).toBe('bad-value');
      }),
    );
    expect(espPayloadLength(hex('0204'), 0, 2)).toBe(ESP_TRAILER_BAD_PADDING);
    expect(espPayloadLength(hex('04'), 0, 1)).toBe(ESP_TRAILER_TRUNCATED);
    expect(reasonOf(decodeEspPlaintext(hex('04')))).toBe('truncated');
  });

  it('never throws on random plaintexts', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        reasonOf(decodeEspPlaintext(b));
      }),
    );
  });
});
