import { createCipheriv, createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decryptSk, encryptSk, icvLength, newIv, skBodyLength } from '../../../../src/apps/ipsec/crypto/sk-cipher.js';
import type { SkKeys } from '../../../../src/apps/ipsec/crypto/sk-cipher.js';
import { SUPPORTED_ENCRYPTIONS, SUPPORTED_INTEGRITIES, protectionSuite } from '../../../../src/apps/ipsec/crypto/transforms.js';
import type { ProtectionSuite } from '../../../../src/apps/ipsec/crypto/transforms.js';
import { SeededRandom } from '../../../../src/lib/random.js';
import { hex, toHex } from './helpers.js';

/** Every encryption, CBC paired with every integrity transform. */
const SUITES: readonly ProtectionSuite[] = SUPPORTED_ENCRYPTIONS.flatMap((e) => {
  const integrities = e.kind === 'aead' ? [null] : SUPPORTED_INTEGRITIES;
  return integrities.map((i) => {
    const s = protectionSuite(e, i);
    if (!s.ok) throw s.error;
    return s.value;
  });
});

function label(s: ProtectionSuite): string {
  return s.integrity === null ? s.encryption.name : `${s.encryption.name}-${s.integrity.name}`;
}

function keysFor(s: ProtectionSuite, rng: SeededRandom): SkKeys {
  return { encryptionKey: rng.bytes(s.encryption.keyMaterialLength), integrityKey: rng.bytes(s.integrity === null ? 0 : s.integrity.keyLength) };
}

function sealed(s: ProtectionSuite, keys: SkKeys, aad: Uint8Array, payloads: Uint8Array, iv: Uint8Array): Uint8Array {
  const r = encryptSk(s, keys, aad, payloads, iv);
  if (!r.ok) throw r.error;
  return r.value;
}

// A fixed IKE header (28 bytes) plus an SK payload header, as the AAD / start of the ICV'd span.
const AAD = hex('000102030405060708090a0b0c0d0e0f 2e202408 00000001 000000ec 2900 00cc'.replace(/ /g, ''));

describe('SK payload round trip', () => {
  for (const s of SUITES) {
    it(`${label(s)}: decrypt(encrypt(x)) = x, body length as announced`, () => {
      const rng = new SeededRandom(s.encryption.keyMaterialLength * 31 + icvLength(s));
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 600 }), fc.uint8Array({ maxLength: 64 }), (payloads, aad) => {
          const keys = keysFor(s, rng);
          const body = sealed(s, keys, aad, payloads, newIv(s.encryption, rng));
          expect(body).toHaveLength(skBodyLength(s, payloads.length));
          const opened = decryptSk(s, keys, aad, body);
          expect(opened.ok).toBe(true);
          if (opened.ok) expect(toHex(opened.value)).toBe(toHex(payloads));
        }),
        { numRuns: 60 },
      );
    });

    it(`${label(s)}: any altered bit of AAD or body fails with bad-icv`, () => {
      const rng = new SeededRandom(77);
      fc.assert(
        fc.property(fc.uint8Array({ minLength: 1, maxLength: 200 }), fc.nat(), fc.integer({ min: 0, max: 7 }), fc.boolean(), (payloads, at, bit, inAad) => {
          const keys = keysFor(s, rng);
          const body = sealed(s, keys, AAD, payloads, newIv(s.encryption, rng));
          const aad = Uint8Array.from(AAD);
          const tampered = Uint8Array.from(body);
          const target = inAad ? aad : tampered;
          const index = at % target.length;
          target[index] = (target[index] ?? 0) ^ (1 << bit);
          const r = decryptSk(s, keys, aad, tampered);
          expect(r.ok).toBe(false);
          if (!r.ok) expect(r.error.reason).toBe('bad-icv');
        }),
        { numRuns: 60 },
      );
    });

    it(`${label(s)}: wrong keys fail with bad-icv; truncated bodies with bad-length; bad key sizes are typed`, () => {
      const rng = new SeededRandom(3);
      const keys = keysFor(s, rng);
      const body = sealed(s, keys, AAD, hex('2900000801020304'), newIv(s.encryption, rng));
      const other = decryptSk(s, keysFor(s, rng), AAD, body);
      expect(!other.ok && other.error.reason).toBe('bad-icv');
      const short = decryptSk(s, keys, AAD, body.subarray(0, s.encryption.ivLength + icvLength(s)));
      expect(!short.ok && short.error.reason).toBe('bad-length');
      const badKey = encryptSk(s, { ...keys, encryptionKey: keys.encryptionKey.subarray(1) }, AAD, body, newIv(s.encryption, rng));
      expect(!badKey.ok && badKey.error.reason).toBe('bad-key-length');
      const badIv = encryptSk(s, keys, AAD, body, new Uint8Array(s.encryption.ivLength + 1));
      expect(!badIv.ok && badIv.error.reason).toBe('bad-iv-length');
    });
  }
});

describe('CBC + HMAC layout (RFC 7296 §3.14)', () => {
  const cbcSuites = SUITES.filter((s) => s.encryption.kind === 'cbc');

  for (const s of cbcSuites) {
    it(`${label(s)}: IV | AES-CBC(payloads | zero padding | pad length) | HMAC(AAD | IV | ciphertext) truncated`, () => {
      if (s.integrity === null || s.encryption.kind !== 'cbc') throw new Error('not CBC');
      const rng = new SeededRandom(12);
      const keys = keysFor(s, rng);
      const iv = newIv(s.encryption, rng);
      const payloads = hex('0102030405');
      const body = sealed(s, keys, AAD, payloads, iv);
      const plain = Buffer.concat([payloads, Buffer.alloc(10), Buffer.of(10)]);
      const cipher = createCipheriv(s.encryption.nodeName, keys.encryptionKey, iv).setAutoPadding(false);
      const ciphertext = Buffer.concat([cipher.update(plain), cipher.final()]);
      const icv = createHmac(s.integrity.hash, keys.integrityKey).update(AAD).update(iv).update(ciphertext).digest().subarray(0, s.integrity.icvLength);
      expect(toHex(body)).toBe(toHex(Buffer.concat([iv, ciphertext, icv])));
    });

    it(`${label(s)}: a pad length past the plaintext is bad-padding even with a valid ICV`, () => {
      if (s.integrity === null || s.encryption.kind !== 'cbc') throw new Error('not CBC');
      const rng = new SeededRandom(13);
      const keys = keysFor(s, rng);
      const iv = newIv(s.encryption, rng);
      for (const padLength of [16, 31, 255]) {
        const plain = Buffer.concat([Buffer.alloc(31, 0xaa), Buffer.of(padLength)]);
        const cipher = createCipheriv(s.encryption.nodeName, keys.encryptionKey, iv).setAutoPadding(false);
        const ciphertext = Buffer.concat([cipher.update(plain), cipher.final()]);
        const icv = createHmac(s.integrity.hash, keys.integrityKey).update(AAD).update(iv).update(ciphertext).digest().subarray(0, s.integrity.icvLength);
        const r = decryptSk(s, keys, AAD, Buffer.concat([iv, ciphertext, icv]));
        if (padLength <= 31) {
          // Longer than minimal padding is legal (RFC 7296 §3.14) and stripped.
          expect(r.ok && r.value.length).toBe(31 - padLength);
        } else {
          expect(!r.ok && r.error.reason).toBe('bad-padding');
        }
      }
    });

    it(`${label(s)}: a ciphertext that is not whole blocks is bad-length`, () => {
      const rng = new SeededRandom(14);
      const keys = keysFor(s, rng);
      const body = sealed(s, keys, AAD, hex('01'), newIv(s.encryption, rng));
      const cut = Buffer.concat([body.subarray(0, 16 + 15), body.subarray(16 + 16)]);
      const r = decryptSk(s, keys, AAD, cut);
      expect(!r.ok && r.error.reason).toBe('bad-length');
    });
  }
});

describe('AEAD layout (RFC 5282; RFC 7634 for ChaCha20-Poly1305, not in the shared RFC folder)', () => {
  const aeadSuites = SUITES.filter((s) => s.encryption.kind === 'aead');

  for (const s of aeadSuites) {
    it(`${label(s)}: IV(8) | AEAD(key, nonce = salt | IV, AAD)(payloads | pad length 0) | tag(16)`, () => {
      if (s.encryption.kind !== 'aead') throw new Error('not AEAD');
      const rng = new SeededRandom(20);
      const keys = keysFor(s, rng);
      const iv = newIv(s.encryption, rng);
      const payloads = hex('290000080a0b0c0d');
      const body = sealed(s, keys, AAD, payloads, iv);
      const key = keys.encryptionKey.subarray(0, s.encryption.keyLength);
      const salt = keys.encryptionKey.subarray(s.encryption.keyLength);
      expect(salt).toHaveLength(4);
      const nonce = Buffer.concat([salt, iv]);
      const cipher =
        s.encryption.nodeName === 'chacha20-poly1305'
          ? createCipheriv(s.encryption.nodeName, key, nonce, { authTagLength: 16 })
          : createCipheriv(s.encryption.nodeName, key, nonce, { authTagLength: 16 });
      cipher.setAAD(AAD);
      const ciphertext = Buffer.concat([cipher.update(Buffer.concat([payloads, Buffer.of(0)])), cipher.final()]);
      expect(toHex(body)).toBe(toHex(Buffer.concat([iv, ciphertext, cipher.getAuthTag()])));
    });

    it(`${label(s)}: accepts padding a peer chose, refuses a pad length past the plaintext`, () => {
      if (s.encryption.kind !== 'aead') throw new Error('not AEAD');
      const rng = new SeededRandom(21);
      const keys = keysFor(s, rng);
      const iv = newIv(s.encryption, rng);
      const seal = (plain: Buffer): Uint8Array => {
        if (s.encryption.kind !== 'aead') throw new Error('not AEAD');
        const key = keys.encryptionKey.subarray(0, s.encryption.keyLength);
        const nonce = Buffer.concat([keys.encryptionKey.subarray(s.encryption.keyLength), iv]);
        const c =
          s.encryption.nodeName === 'chacha20-poly1305'
            ? createCipheriv(s.encryption.nodeName, key, nonce, { authTagLength: 16 })
            : createCipheriv(s.encryption.nodeName, key, nonce, { authTagLength: 16 });
        c.setAAD(AAD);
        const ct = Buffer.concat([c.update(plain), c.final()]);
        return Buffer.concat([iv, ct, c.getAuthTag()]);
      };
      const padded = decryptSk(s, keys, AAD, seal(Buffer.from('0102030405ffffff03', 'hex')));
      expect(padded.ok && toHex(padded.value)).toBe('0102030405');
      const over = decryptSk(s, keys, AAD, seal(Buffer.from('010209', 'hex')));
      expect(!over.ok && over.error.reason).toBe('bad-padding');
    });
  }
});
