/**
 * The transforms checked against node:crypto used directly, with the RFC
 * layouts written out again here (nonce, AAD, ICV input), so a layout
 * mistake in ciphers.ts cannot hide behind its own round trip. RFC 4106 has
 * no test vectors and RFC 7634 is not in the shared RFC folder, so the known
 * answers below (GCM spec, RFC 8439) check node's primitives only.
 */
import { createCipheriv, createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { EspIntegrity } from '../../../../src/apps/ipsec/esp/ciphers.js';
import { OutboundEspSa } from '../../../../src/apps/ipsec/esp/sa.js';
import type { RandomSource } from '../../../../src/lib/random.js';
import { hex, toHex } from '../../../wire/arbitraries.js';

const SPI = 0x0a0b0c0d;

function be32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
}

/** inner ‖ 1, 2, 3, … ‖ pad length ‖ 4, to a multiple of `align`. */
function plaintext(inner: Uint8Array, align: number): Buffer {
  const pad = (align - ((inner.length + 2) % align)) % align;
  return Buffer.concat([inner, Uint8Array.from({ length: pad }, (_, i) => i + 1), Uint8Array.of(pad, 4)]);
}

function fixedIv(iv: Uint8Array): RandomSource {
  return { u32: () => 0, float: () => 0, bytes: () => iv.slice() };
}

const arbCase = fc.record({
  inner: fc.uint8Array({ maxLength: 300 }),
  esn: fc.boolean(),
  last: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2 ** 40 })),
});

describe('ESP transforms against node:crypto directly', () => {
  it('AES-GCM (RFC 4106): nonce = salt ‖ seq64, AAD = SPI ‖ seq (‖ high, low with ESN), ICV 16', () => {
    fc.assert(
      fc.property(arbCase, fc.constantFrom(16, 24, 32), fc.uint8Array({ minLength: 36, maxLength: 36 }), ({ inner, esn, last }, keyLength, material) => {
        const lastSeq = esn ? last : last % (2 ** 32 - 1);
        const keyMaterial = material.subarray(0, keyLength + 4);
        const sa = new OutboundEspSa(0, { spi: SPI, transform: { encryption: 'aes-gcm-16', key: keyMaterial }, esn, random: fixedIv(new Uint8Array(0)), lastSequence: lastSeq });
        const seq = lastSeq + 1;
        const hi = Math.floor(seq / 2 ** 32);
        const lo = seq >>> 0;
        const iv = Buffer.concat([be32(hi), be32(lo)]);
        const c = createCipheriv(`aes-${keyLength * 8}-gcm` as 'aes-128-gcm', keyMaterial.subarray(0, keyLength), Buffer.concat([keyMaterial.subarray(keyLength), iv]));
        c.setAAD(esn ? Buffer.concat([be32(SPI), be32(hi), be32(lo)]) : Buffer.concat([be32(SPI), be32(lo)]));
        const ct = Buffer.concat([c.update(plaintext(inner, 4)), c.final()]);
        const want = Buffer.concat([be32(SPI), be32(lo), iv, ct, c.getAuthTag()]);
        expect(toHex(sa.encapsulate(0, inner) as Uint8Array)).toBe(toHex(want));
      }),
      { numRuns: 100 },
    );
  });

  it('ChaCha20-Poly1305 (RFC 7634): same layout as GCM with a 32-byte key', () => {
    fc.assert(
      fc.property(arbCase, fc.uint8Array({ minLength: 36, maxLength: 36 }), ({ inner, esn, last }, keyMaterial) => {
        const lastSeq = esn ? last : 7;
        const sa = new OutboundEspSa(0, { spi: SPI, transform: { encryption: 'chacha20-poly1305', key: keyMaterial }, esn, random: fixedIv(new Uint8Array(0)), lastSequence: lastSeq });
        const seq = lastSeq + 1;
        const hi = Math.floor(seq / 2 ** 32);
        const lo = seq >>> 0;
        const iv = Buffer.concat([be32(hi), be32(lo)]);
        const pt = plaintext(inner, 4);
        const c = createCipheriv('chacha20-poly1305', keyMaterial.subarray(0, 32), Buffer.concat([keyMaterial.subarray(32), iv]), { authTagLength: 16 });
        c.setAAD(esn ? Buffer.concat([be32(SPI), be32(hi), be32(lo)]) : Buffer.concat([be32(SPI), be32(lo)]), { plaintextLength: pt.length });
        const ct = Buffer.concat([c.update(pt), c.final()]);
        const want = Buffer.concat([be32(SPI), be32(lo), iv, ct, c.getAuthTag()]);
        expect(toHex(sa.encapsulate(0, inner) as Uint8Array)).toBe(toHex(want));
      }),
      { numRuns: 100 },
    );
  });

  it("node's chacha20-poly1305 is the RFC 8439 §2.8.2 AEAD (the construction RFC 7634 uses)", () => {
    const key = Uint8Array.from({ length: 32 }, (_, i) => 0x80 + i);
    const nonce = hex('07000000 4041424344454647'); // salt ‖ IV, as ESP builds it
    const aad = hex('50515253 c0c1c2c3c4c5c6c7'); // shaped like SPI ‖ ESN
    const text = "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";
    const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
    c.setAAD(aad, { plaintextLength: text.length });
    const ct = Buffer.concat([c.update(text, 'utf8'), c.final()]);
    expect(toHex(ct.subarray(0, 16))).toBe('d31a8d34648e60db7b86afbc53ef7ec2');
    expect(toHex(c.getAuthTag())).toBe('1ae10b594f09e26a7e902ecbd0600691');
  });

  it("node's aes-128-gcm matches the GCM specification's test cases 1 and 2 (McGrew and Viega)", () => {
    const c1 = createCipheriv('aes-128-gcm', new Uint8Array(16), new Uint8Array(12));
    c1.final();
    expect(toHex(c1.getAuthTag())).toBe('58e2fccefa7e3061367f1d57a4e7455a');
    const c2 = createCipheriv('aes-128-gcm', new Uint8Array(16), new Uint8Array(12));
    expect(toHex(Buffer.concat([c2.update(new Uint8Array(16)), c2.final()]))).toBe('0388dace60b6a392f328c2b971b2fe78');
    expect(toHex(c2.getAuthTag())).toBe('ab6e47d42cec13bdf53a67b21257bddf');
  });

  const macs: [EspIntegrity, string, number, number][] = [
    ['hmac-sha2-256-128', 'sha256', 32, 16],
    ['hmac-sha2-384-192', 'sha384', 48, 24],
    ['hmac-sha2-512-256', 'sha512', 64, 32],
  ];
  for (const [integrity, hash, macKeyLength, icvLength] of macs) {
    it(`AES-CBC + ${integrity} (RFC 4868): random IV, encrypt then MAC over header ‖ IV ‖ ciphertext (‖ seq high with ESN)`, () => {
      fc.assert(
        fc.property(arbCase, fc.constantFrom(16, 32), fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ minLength: 96, maxLength: 96 }), ({ inner, esn, last }, keyLength, iv, material) => {
          const lastSeq = esn ? last : 41;
          const key = material.subarray(0, keyLength);
          const macKey = material.subarray(keyLength, keyLength + macKeyLength);
          const sa = new OutboundEspSa(0, { spi: SPI, transform: { encryption: 'aes-cbc', key, integrity, integrityKey: macKey }, esn, random: fixedIv(iv), lastSequence: lastSeq });
          const seq = lastSeq + 1;
          const c = createCipheriv(`aes-${keyLength * 8}-cbc`, key, iv).setAutoPadding(false);
          const ct = Buffer.concat([c.update(plaintext(inner, 16)), c.final()]);
          const body = Buffer.concat([be32(SPI), be32(seq >>> 0), iv, ct]);
          const mac = createHmac(hash, macKey).update(body);
          if (esn) mac.update(be32(Math.floor(seq / 2 ** 32)));
          const want = Buffer.concat([body, mac.digest().subarray(0, icvLength)]);
          expect(toHex(sa.encapsulate(0, inner) as Uint8Array)).toBe(toHex(want));
        }),
        { numRuns: 60 },
      );
    });
  }
});
