/**
 * The flash personality image codec (src/wire/flash-image.ts): exact round
 * trips of any personality, signed and unsigned; every malformed input
 * refused with a FlashImageError naming the problem — never another
 * exception — for random bytes, every truncation and every flipped byte.
 */
import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseTrustRoot, signImage, verifyImage } from '../../src/flash/signing.js';
import { ByteWriter } from '../../src/wire/byte-writer.js';
import {
  appendSignature,
  decodeImage,
  encodeImage,
  encodeSections,
  FlashImageError,
  FORMAT_VERSION,
  HEADER_BYTES,
  MAGIC,
  readFrame,
  SECTION,
  sectionName,
  TUNNEL_PROTOCOLS,
  type FlashImageFailure,
  type Personality,
} from '../../src/wire/flash-image.js';

const arbText = fc.string({ maxLength: 24 });
const arbDer = fc.uint8Array({ minLength: 1, maxLength: 200 });
const arbJsonObject = fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 6 }).map((o) => JSON.stringify(o));

const arbPersonality: fc.Arbitrary<Personality> = fc.record({
  softwareDigest: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  configVersion: fc.integer({ min: 0, max: 0xffffffff }),
  configText: arbJsonObject,
  memberChain: fc.array(arbDer, { minLength: 1, maxLength: 3 }),
  memberKey: arbDer,
  trustedCas: fc.array(arbDer, { minLength: 1, maxLength: 3 }),
  allowedMembers: fc.option(fc.array(arbText, { maxLength: 4 }), { nil: null }),
  revokedSerials: fc.array(fc.stringMatching(/^[0-9a-f]{1,16}$/), { maxLength: 4 }),
  policy: fc.record({
    protocols: fc.subarray([...TUNNEL_PROTOCOLS]),
    requireEncryption: fc.boolean(),
    ikeAlgorithms: fc.array(arbText, { maxLength: 5 }),
    espAlgorithms: fc.array(arbText, { maxLength: 5 }),
  }),
  logArea: fc.record({ path: fc.string({ minLength: 1, maxLength: 30 }), offset: fc.nat({ max: 2 ** 40 }), length: fc.nat({ max: 2 ** 40 }) }),
  files: fc.uniqueArray(
    fc.record({ name: fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,20}$/), secret: fc.boolean(), data: fc.uint8Array({ maxLength: 100 }) }),
    { maxLength: 4, selector: (f) => f.name },
  ),
});

/** A small fixed personality for the exhaustive flip/truncate loops. */
const SAMPLE: Personality = {
  softwareDigest: new Uint8Array(32).fill(7),
  configVersion: 3,
  configText: '{"cluster":{"name":"x","configVersion":3}}',
  memberChain: [new Uint8Array([0x30, 1, 2, 3])],
  memberKey: new Uint8Array([0x30, 9, 9]),
  trustedCas: [new Uint8Array([0x30, 4, 5])],
  allowedMembers: ['member-1'],
  revokedSerials: ['0a'],
  policy: { protocols: ['ipsec'], requireEncryption: true, ikeAlgorithms: ['aes256gcm16'], espAlgorithms: ['aes256gcm16'] },
  logArea: { path: '/var/log/x', offset: 0, length: 4096 },
  files: [{ name: 'ipsec-key.pem', secret: true, data: new Uint8Array([1, 2, 3]) }],
};

const ecdsa = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ed = generateKeyPairSync('ed25519');
const pubPem = (k: typeof ecdsa): string => k.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const ROOT = parseTrustRoot(pubPem(ecdsa));

function failure(f: () => unknown): FlashImageFailure | 'accepted' {
  try {
    f();
    return 'accepted';
  } catch (e) {
    if (e instanceof FlashImageError) return e.reason;
    throw e; // any other exception fails the test
  }
}

function refusal(f: () => unknown): FlashImageError {
  try {
    f();
  } catch (e) {
    if (e instanceof FlashImageError) return e;
    throw e;
  }
  throw new Error('accepted');
}

/** An image from raw sections, for layouts the encoder never makes. */
function rawImage(sections: { type: number; flags?: number; body: Uint8Array }[], version = FORMAT_VERSION): Uint8Array {
  const length = HEADER_BYTES + sections.reduce((n, s) => n + 8 + s.body.length, 0);
  const w = new ByteWriter().bytes(MAGIC).u16(version).u16(0).u32(length);
  for (const s of sections) w.u16(s.type).u16(s.flags ?? 1).u32(s.body.length).bytes(s.body);
  return w.finish();
}

describe('flash image codec', () => {
  it('round-trips any personality exactly, unsigned and signed with ECDSA P-256 or Ed25519', () => {
    fc.assert(
      fc.property(arbPersonality, fc.boolean(), (p, useEd) => {
        const image = encodeImage(p);
        expect(decodeImage(image).personality).toEqual(p);
        expect(readFrame(image).signature).toBeNull();
        const key = useEd ? ed : ecdsa;
        const signed = signImage(image, key.privateKey);
        const v = verifyImage(signed, parseTrustRoot(pubPem(key)));
        expect(v.personality).toEqual(p);
        expect(v.signer.type).toBe(useEd ? 'ed25519' : 'ecdsa-p256');
      }),
      { numRuns: 150 },
    );
  });

  it('re-signing replaces the old signature rather than stacking a second', () => {
    const once = signImage(encodeImage(SAMPLE), ed.privateKey);
    const twice = signImage(once, ecdsa.privateKey);
    expect(twice.length).toBe(once.length);
    expect(verifyImage(twice, ROOT).personality).toEqual(SAMPLE);
    expect(failure(() => verifyImage(once, ROOT))).toBe('wrong-signer');
  });

  it('refuses random bytes, with or without the magic, only with FlashImageError', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.uint8Array({ maxLength: 300 }), (magic, rest) => {
        const bytes = magic ? new Uint8Array([...MAGIC, ...rest]) : rest;
        expect(failure(() => decodeImage(bytes))).not.toBe('accepted');
        expect(failure(() => verifyImage(bytes, ROOT))).not.toBe('accepted');
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses a random mutation of a valid image with FlashImageError (decode may accept; verify never does)', () => {
    const signed = signImage(encodeImage(SAMPLE), ecdsa.privateKey);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(signed.length - 1), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }), (flips) => {
        const bad = signed.slice();
        for (const [at, x] of flips) bad[at] = (bad[at] ?? 0) ^ x;
        if (bad.every((b, i) => b === signed[i])) return;
        failure(() => decodeImage(bad));
        expect(failure(() => verifyImage(bad, ROOT))).not.toBe('accepted');
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses every single flipped byte of a signed image', () => {
    const signed = signImage(encodeImage(SAMPLE), ecdsa.privateKey);
    const reasons = new Set<FlashImageFailure | 'accepted'>();
    for (let i = 0; i < signed.length; i++) {
      const bad = signed.slice();
      bad[i] = (bad[i] ?? 0) ^ 0x01;
      const r = failure(() => verifyImage(bad, ROOT));
      expect(r, `flipping byte ${i}`).not.toBe('accepted');
      reasons.add(r);
      failure(() => decodeImage(bad));
    }
    expect([...reasons]).toEqual(expect.arrayContaining(['bad-magic', 'unknown-version', 'bad-signature', 'wrong-signer', 'truncated']));
  });

  it('refuses a signed image truncated at every length', () => {
    const signed = signImage(encodeImage(SAMPLE), ecdsa.privateKey);
    for (let n = 0; n < signed.length; n++) {
      const cut = signed.subarray(0, n);
      expect(failure(() => verifyImage(cut, ROOT)), `first ${n} bytes`).toBe('truncated');
      expect(failure(() => decodeImage(cut))).toBe('truncated');
    }
  });

  it('names a flipped byte in any section body as a bad signature', () => {
    const signed = signImage(encodeImage(SAMPLE), ecdsa.privateKey);
    const frame = readFrame(signed);
    expect(frame.sections.map((s) => sectionName(s.type))).toEqual([
      'software-digest', 'config-version', 'configuration', 'member-chain', 'member-key', 'trusted-cas', 'member-lists', 'security-policy', 'log-area', 'file',
    ]);
    for (const s of frame.sections) {
      const at = s.body.byteOffset - signed.byteOffset + (s.body.length >> 1);
      const bad = signed.slice();
      bad[at] = (bad[at] ?? 0) ^ 0x80;
      expect(refusal(() => verifyImage(bad, ROOT)).message, sectionName(s.type)).toMatch(/signature does not verify .*altered after signing/);
    }
  });

  it('tells a wrong signer, an unsigned image and a tampered one apart', () => {
    const image = encodeImage(SAMPLE);
    expect(refusal(() => verifyImage(image, ROOT)).message).toMatch(/not signed/);
    const byEd = signImage(image, ed.privateKey);
    const e = refusal(() => verifyImage(byEd, ROOT));
    expect(e.reason).toBe('wrong-signer');
    expect(e.code).toBe('FLASH_WRONG_SIGNER');
    expect(e.message).toMatch(/signed by key sha256:[0-9a-f]{16}, which this box does not trust \(trusted: sha256:[0-9a-f]{16}\)/);
    const signed = signImage(image, ecdsa.privateKey);
    const bad = signed.slice();
    bad[bad.length - 1] = (bad[bad.length - 1] ?? 0) ^ 1;
    expect(refusal(() => verifyImage(bad, ROOT)).reason).toBe('bad-signature');
  });

  it('refuses a future format version, naming it', () => {
    const image = signImage(encodeImage(SAMPLE), ecdsa.privateKey);
    const future = image.slice();
    future[9] = FORMAT_VERSION + 1;
    const e = refusal(() => verifyImage(future, ROOT));
    expect(e.reason).toBe('unknown-version');
    expect(e.message).toBe('flash image: unknown format version 2 (this software reads version 1)');
  });

  it('refuses a missing section by name, even when properly signed', () => {
    const all = encodeSections(SAMPLE);
    for (const drop of all.filter((s) => s.type !== SECTION.FILE)) {
      const image = signImage(rawImage(all.filter((s) => s !== drop)), ecdsa.privateKey);
      const e = refusal(() => verifyImage(image, ROOT));
      expect(e.reason).toBe('missing-section');
      expect(e.message).toBe(`flash image: missing section ${sectionName(drop.type)}`);
    }
  });

  it('refuses duplicate sections and files, and unknown critical sections; skips unknown optional ones', () => {
    const all = encodeSections(SAMPLE);
    const config = all.find((s) => s.type === SECTION.CONFIGURATION);
    if (config === undefined) throw new Error('no configuration section');
    expect(refusal(() => decodeImage(rawImage([...all, config]))).message).toBe('flash image: section configuration appears twice');
    const file = all.find((s) => s.type === SECTION.FILE);
    if (file === undefined) throw new Error('no file section');
    expect(refusal(() => decodeImage(rawImage([...all, file]))).message).toBe("flash image: file 'ipsec-key.pem' appears twice");
    expect(refusal(() => decodeImage(rawImage([...all, { type: 77, body: new Uint8Array(3) }]))).reason).toBe('unknown-critical-section');
    const skipped = decodeImage(rawImage([...all, { type: 77, flags: 0, body: new Uint8Array(3) }]));
    expect(skipped.personality).toEqual(SAMPLE);
    expect(skipped.frame.skipped).toEqual([77]);
  });

  it('refuses a signature that is not last, trailing bytes, and a bad section body by name', () => {
    const signed = signImage(encodeImage(SAMPLE), ecdsa.privateKey);
    const all = encodeSections(SAMPLE);
    const misplaced = appendSignature(rawImage(all.slice(0, 2)), 1, new Uint8Array(32), () => new Uint8Array(64));
    const withMore = new Uint8Array([...misplaced, ...rawImage(all.slice(2)).subarray(HEADER_BYTES)]);
    new DataView(withMore.buffer).setUint32(12, withMore.length);
    expect(refusal(() => readFrame(withMore)).reason).toBe('misplaced-signature');
    expect(refusal(() => readFrame(new Uint8Array([...signed, 0]))).reason).toBe('trailing-bytes');
    const badVersion = all.map((s) => (s.type === SECTION.CONFIG_VERSION ? { ...s, body: new Uint8Array([1, 2]) } : s));
    expect(refusal(() => decodeImage(rawImage(badVersion))).message).toMatch(/^flash image: section config-version: truncated/);
    const badJson = all.map((s) => (s.type === SECTION.CONFIGURATION ? { ...s, body: new TextEncoder().encode('[1]') } : s));
    expect(refusal(() => decodeImage(rawImage(badJson))).message).toBe('flash image: section configuration: bad-value: not a JSON object');
    const badFile = all.map((s) => (s.type === SECTION.FILE ? { ...s, body: new Uint8Array([0, 3, 0x2e, 0x2e, 0x2f, 0]) } : s));
    expect(refusal(() => decodeImage(rawImage(badFile))).message).toMatch(/section file: .*not one plain path component/);
  });

  it('refuses a header claiming more than the maximum size before reading on', () => {
    const image = encodeImage(SAMPLE);
    new DataView(image.buffer, image.byteOffset).setUint32(12, 0xffffffff);
    expect(refusal(() => readFrame(image)).reason).toBe('too-large');
  });
});
