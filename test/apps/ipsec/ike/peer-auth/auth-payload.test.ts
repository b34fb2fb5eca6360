import { constants, generateKeyPairSync, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { SUPPORTED_PRFS } from '../../../../../src/apps/ipsec/crypto/transforms.js';
import { OUR_SIGNATURE_HASHES, createAuth, verifyAuth } from '../../../../../src/apps/ipsec/ike/peer-auth/auth-payload.js';
import {
  algorithmIdentifier,
  parseAlgorithmIdentifier,
  type SignatureScheme,
} from '../../../../../src/apps/ipsec/ike/peer-auth/signature-algorithms.js';
import { AUTH_METHOD, SIGNATURE_ALGORITHM, joinDigitalSignature, splitDigitalSignature } from '../../../../../src/wire/ike/auth.js';
import type { AuthPayload } from '../../../../../src/wire/ike/auth.js';
import { HASH_ALGORITHM } from '../../../../../src/wire/ike/notify.js';

const H = HASH_ALGORITHM;
const octets = Uint8Array.from({ length: 200 }, (_, i) => (i * 37) & 0xff);
const prf = SUPPORTED_PRFS[0]!;

type Pair = { privateKey: KeyObject; publicKey: KeyObject };
const keys: Record<'p256' | 'p384' | 'p521' | 'rsa' | 'rsa2' | 'p256b', Pair> = {} as never;

beforeAll(() => {
  keys.p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  keys.p256b = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  keys.p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  keys.p521 = generateKeyPairSync('ec', { namedCurve: 'P-521' });
  // RSA generation is the slow part: two keys, once for the file.
  keys.rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  keys.rsa2 = generateKeyPairSync('rsa', { modulusLength: 2048 });
});

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

function rfcHex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s.replace(/\s/g, ''), 'hex'));
}

/** RFC 7427 Appendix A, as printed there. */
const APPENDIX_A = {
  sha1WithRSA: rfcHex('300d 0609 2a86 4886 f70d 0101 0505 00'),
  sha256WithRSA: rfcHex('300d 0609 2a86 4886 f70d 0101 0b05 00'),
  sha384WithRSA: rfcHex('300d 0609 2a86 4886 f70d 0101 0c05 00'),
  sha512WithRSA: rfcHex('300d 0609 2a86 4886 f70d 0101 0d05 00'),
  ecdsaSha1: rfcHex('3009 0607 2a86 48ce 3d04 01'),
  ecdsaSha256: rfcHex('300a 0608 2a86 48ce 3d04 0302'),
  ecdsaSha384: rfcHex('300a 0608 2a86 48ce 3d04 0303'),
  ecdsaSha512: rfcHex('300a 0608 2a86 48ce 3d04 0304'),
  pssEmpty: rfcHex('300d 0609 2a86 4886 f70d 0101 0a30 00'),
  pssDefault: rfcHex(
    '303e 0609 2a86 4886 f70d 0101 0a30 31a0 0b30 0906 052b 0e03 021a 0500 a118 3016 0609 2a86 4886 f70d 0101 0830 0906 052b 0e03 021a 0500 a203 0201 14a3 0302 0101',
  ),
  pssSha256: rfcHex(
    '3046 0609 2a86 4886 f70d 0101 0a30 39a0 0f30 0d06 0960 8648 0165 0304 0201 0500 a11c 301a 0609 2a86 4886 f70d 0101 0830 0d06 0960 8648 0165 0304 0201 0500 a203 0201 20a3 0302 0101',
  ),
  dsaSha1: rfcHex('3009 0607 2a86 48ce 3804 03'),
};

describe('RFC 7427 AlgorithmIdentifiers', () => {
  const cases: [SignatureScheme, Uint8Array][] = [
    [{ kind: 'rsa-pkcs1', hash: 'sha256' }, APPENDIX_A.sha256WithRSA],
    [{ kind: 'rsa-pkcs1', hash: 'sha384' }, APPENDIX_A.sha384WithRSA],
    [{ kind: 'rsa-pkcs1', hash: 'sha512' }, APPENDIX_A.sha512WithRSA],
    [{ kind: 'ecdsa', hash: 'sha256' }, APPENDIX_A.ecdsaSha256],
    [{ kind: 'ecdsa', hash: 'sha384' }, APPENDIX_A.ecdsaSha384],
    [{ kind: 'ecdsa', hash: 'sha512' }, APPENDIX_A.ecdsaSha512],
    [{ kind: 'rsa-pss', hash: 'sha256', saltLength: 32 }, APPENDIX_A.pssSha256],
  ];
  it.each(cases)('%j encodes to and parses from the Appendix A bytes', (scheme, bytes) => {
    expect(hex(algorithmIdentifier(scheme))).toBe(hex(bytes));
    expect(parseAlgorithmIdentifier(bytes)).toEqual({ ok: true, scheme });
  });

  it('agrees with the constants in wire/ike/auth.ts', () => {
    expect(hex(SIGNATURE_ALGORITHM.SHA256_WITH_RSA)).toBe(hex(APPENDIX_A.sha256WithRSA));
    expect(hex(SIGNATURE_ALGORITHM.ECDSA_WITH_SHA256)).toBe(hex(APPENDIX_A.ecdsaSha256));
    expect(hex(SIGNATURE_ALGORITHM.ECDSA_WITH_SHA384)).toBe(hex(APPENDIX_A.ecdsaSha384));
  });

  it('accepts RSA without the NULL parameter', () => {
    const noNull = rfcHex('300b 0609 2a86 4886 f70d 0101 0b');
    expect(parseAlgorithmIdentifier(noNull)).toEqual({ ok: true, scheme: { kind: 'rsa-pkcs1', hash: 'sha256' } });
  });

  it('refuses SHA-1, DSA and PSS with default (SHA-1) parameters as unsupported', () => {
    for (const b of [APPENDIX_A.sha1WithRSA, APPENDIX_A.ecdsaSha1, APPENDIX_A.pssEmpty, APPENDIX_A.pssDefault, APPENDIX_A.dsaSha1]) {
      expect(parseAlgorithmIdentifier(b)).toMatchObject({ ok: false, reason: 'unsupported' });
    }
  });

  it('PSS for SHA-384 and SHA-512 parses back', () => {
    for (const [hash, saltLength] of [['sha384', 48], ['sha512', 64]] as const) {
      const scheme: SignatureScheme = { kind: 'rsa-pss', hash, saltLength };
      expect(parseAlgorithmIdentifier(algorithmIdentifier(scheme))).toEqual({ ok: true, scheme });
    }
  });

  it('PSS without trailerField (as strongSwan writes it) is accepted; a short salt is not', () => {
    // strongSwan omits the DEFAULT trailerField 1: drop the last 5 bytes and fix both lengths.
    const s = APPENDIX_A.pssSha256;
    const trimmed = Uint8Array.from([0x30, s[1]! - 5, ...s.subarray(2, 13), 0x30, s[14]! - 5, ...s.subarray(15, s.length - 5)]);
    expect(parseAlgorithmIdentifier(trimmed)).toEqual({ ok: true, scheme: { kind: 'rsa-pss', hash: 'sha256', saltLength: 32 } });
    const shortSalt = Uint8Array.from(s);
    shortSalt[0x42] = 20;
    expect(parseAlgorithmIdentifier(shortSalt)).toMatchObject({ ok: false, reason: 'unsupported' });
  });

  it('never throws on random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), (b) => typeof parseAlgorithmIdentifier(b).ok === 'boolean'));
  });
});

describe('createAuth → verifyAuth round trips', () => {
  const signers = [
    ['P-256', 'p256', 9, 'ecdsa-sha256'],
    ['P-384', 'p384', 10, 'ecdsa-sha384'],
    ['P-521', 'p521', 11, 'ecdsa-sha512'],
    ['RSA 2048', 'rsa', 1, 'rsa-pkcs1-sha256'],
  ] as const;

  it.each(signers)('%s: classic method without the peer notify, RFC 7427 with it', (_name, k, classic, digital) => {
    const pair = keys[k];
    const plain = createAuth(octets, { kind: 'private-key', key: pair.privateKey, peerHashes: [] });
    expect(plain.method).toBe(classic);
    expect(verifyAuth(plain, octets, { kind: 'public-key', key: pair.publicKey })).toMatchObject({ ok: true });

    const rfc7427 = createAuth(octets, { kind: 'private-key', key: pair.privateKey, peerHashes: OUR_SIGNATURE_HASHES });
    expect(rfc7427.method).toBe(AUTH_METHOD.DIGITAL_SIGNATURE);
    expect(verifyAuth(rfc7427, octets, { kind: 'public-key', key: pair.publicKey })).toEqual({
      ok: true,
      method: `digital-signature/${digital}`,
    });
  });

  it('ECDSA r||s is fixed width (RFC 4754 §7), method 14 ECDSA is DER', () => {
    expect(createAuth(octets, { kind: 'private-key', key: keys.p256.privateKey, peerHashes: [] }).data.length).toBe(64);
    expect(createAuth(octets, { kind: 'private-key', key: keys.p384.privateKey, peerHashes: [] }).data.length).toBe(96);
    expect(createAuth(octets, { kind: 'private-key', key: keys.p521.privateKey, peerHashes: [] }).data.length).toBe(132);
    const d = createAuth(octets, { kind: 'private-key', key: keys.p256.privateKey, peerHashes: [H.SHA2_256] });
    const split = splitDigitalSignature(d.data);
    expect(split.ok && split.value.signature[0]).toBe(0x30);
  });

  it('picks the hash the peer allows', () => {
    const alg = (key: KeyObject, peerHashes: number[]): string => {
      const a = createAuth(octets, { kind: 'private-key', key, peerHashes });
      const s = splitDigitalSignature(a.data);
      return s.ok ? hex(s.value.algorithmIdentifier) : 'none';
    };
    expect(alg(keys.p384.privateKey, [H.SHA2_256, H.SHA2_384])).toBe(hex(APPENDIX_A.ecdsaSha384));
    expect(alg(keys.p384.privateKey, [H.SHA2_256])).toBe(hex(APPENDIX_A.ecdsaSha256));
    expect(alg(keys.p256.privateKey, [H.SHA2_512])).toBe(hex(APPENDIX_A.ecdsaSha512));
    expect(alg(keys.rsa.privateKey, [H.SHA2_512, H.SHA2_256])).toBe(hex(APPENDIX_A.sha256WithRSA));
    expect(alg(keys.rsa.privateKey, [H.SHA2_384])).toBe(hex(APPENDIX_A.sha384WithRSA));
    // SHA-1 alone is not a reason to use method 14.
    expect(createAuth(octets, { kind: 'private-key', key: keys.rsa.privateKey, peerHashes: [H.SHA1] }).method).toBe(1);
  });

  it.each(SUPPORTED_PRFS.map((p) => [p.name, p] as const))('PSK with %s', (_n, p) => {
    const secret = new TextEncoder().encode('correct horse battery staple');
    const a = createAuth(octets, { kind: 'psk', secret, prf: p });
    expect(a).toMatchObject({ method: AUTH_METHOD.SHARED_KEY_MIC });
    expect(a.data.length).toBe(p.outputLength);
    expect(verifyAuth(a, octets, { kind: 'psk', secret, prf: p })).toEqual({ ok: true, method: 'psk' });
    expect(verifyAuth(a, octets, { kind: 'psk', secret: new TextEncoder().encode('wrong'), prf: p })).toMatchObject({ reason: 'bad-signature' });
  });

  it('verifies RSASSA-PSS and RSA with an AlgorithmIdentifier lacking NULL, made outside createAuth', () => {
    for (const [hash, saltLength] of [['sha256', 32], ['sha384', 48], ['sha512', 64]] as const) {
      const signature = sign(hash, octets, { key: keys.rsa.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength });
      const data = joinDigitalSignature({ algorithmIdentifier: algorithmIdentifier({ kind: 'rsa-pss', hash, saltLength }), signature });
      expect(verifyAuth({ method: 14, data }, octets, { kind: 'public-key', key: keys.rsa.publicKey })).toEqual({
        ok: true,
        method: `digital-signature/rsa-pss-${hash}`,
      });
    }
    const signature = sign('sha256', octets, keys.rsa.privateKey);
    const data = joinDigitalSignature({ algorithmIdentifier: rfcHex('300b 0609 2a86 4886 f70d 0101 0b'), signature });
    expect(verifyAuth({ method: 14, data }, octets, { kind: 'public-key', key: keys.rsa.publicKey })).toMatchObject({ ok: true });
  });
});

describe('verifyAuth refuses', () => {
  const pub = (k: keyof typeof keys) => ({ kind: 'public-key' as const, key: keys[k].publicKey });
  const make = (k: keyof typeof keys, peerHashes: number[] = []): AuthPayload =>
    createAuth(octets, { kind: 'private-key', key: keys[k].privateKey, peerHashes });

  it('a changed byte of the signed octets or of the signature', () => {
    for (const k of ['p256', 'p384', 'p521', 'rsa'] as const) {
      for (const hashes of [[], OUR_SIGNATURE_HASHES]) {
        const a = make(k, [...hashes]);
        const tampered = Uint8Array.from(octets);
        tampered[17]! ^= 0x01;
        expect(verifyAuth(a, tampered, pub(k))).toMatchObject({ ok: false, reason: 'bad-signature' });
        const sig = Uint8Array.from(a.data);
        sig[sig.length - 3]! ^= 0x40;
        expect(verifyAuth({ method: a.method, data: sig }, octets, pub(k))).toMatchObject({ ok: false });
      }
    }
    const psk = { kind: 'psk' as const, secret: Uint8Array.of(1, 2, 3), prf };
    const a = createAuth(octets, psk);
    const mic = Uint8Array.from(a.data);
    mic[0]! ^= 1;
    expect(verifyAuth({ method: 2, data: mic }, octets, psk)).toMatchObject({ reason: 'bad-signature' });
    expect(verifyAuth({ method: 2, data: mic.subarray(1) }, octets, psk)).toMatchObject({ reason: 'bad-signature' });
  });

  it('a signature by another key of the same type', () => {
    expect(verifyAuth(make('p256'), octets, pub('p256b'))).toMatchObject({ reason: 'bad-signature' });
    expect(verifyAuth(make('p256', [H.SHA2_256]), octets, pub('p256b'))).toMatchObject({ reason: 'bad-signature' });
    expect(verifyAuth(make('rsa'), octets, pub('rsa2'))).toMatchObject({ reason: 'bad-signature' });
    expect(verifyAuth(make('rsa', [H.SHA2_256]), octets, pub('rsa2'))).toMatchObject({ reason: 'bad-signature' });
  });

  it('a method that does not fit the configured key or secret', () => {
    expect(verifyAuth(make('p384'), octets, pub('p256'))).toMatchObject({ reason: 'method-mismatch' }); // method 10, P-256 key
    expect(verifyAuth(make('rsa'), octets, pub('p256'))).toMatchObject({ reason: 'method-mismatch' }); // method 1, EC key
    expect(verifyAuth(make('p256', [H.SHA2_256]), octets, pub('rsa'))).toMatchObject({ reason: 'method-mismatch' });
    expect(verifyAuth(make('rsa', [H.SHA2_256]), octets, pub('p256'))).toMatchObject({ reason: 'method-mismatch' });
    expect(verifyAuth(make('p256'), octets, { kind: 'psk', secret: Uint8Array.of(1), prf })).toMatchObject({ reason: 'method-mismatch' });
    const psk = createAuth(octets, { kind: 'psk', secret: Uint8Array.of(1), prf });
    expect(verifyAuth(psk, octets, pub('rsa'))).toMatchObject({ reason: 'method-mismatch' });
  });

  it('unknown and unsupported methods', () => {
    expect(verifyAuth({ method: AUTH_METHOD.DSS_SIGNATURE, data: new Uint8Array(40) }, octets, pub('p256'))).toMatchObject({
      reason: 'unsupported-method',
    });
    expect(verifyAuth({ method: 200, data: new Uint8Array(4) }, octets, pub('p256'))).toMatchObject({ reason: 'unsupported-method' });
    const sha1 = joinDigitalSignature({ algorithmIdentifier: APPENDIX_A.ecdsaSha1, signature: new Uint8Array(70) });
    expect(verifyAuth({ method: 14, data: sha1 }, octets, pub('p256'))).toMatchObject({ reason: 'unsupported-method' });
  });

  it('malformed data', () => {
    expect(verifyAuth({ method: 9, data: new Uint8Array(63) }, octets, pub('p256'))).toMatchObject({ reason: 'malformed' });
    expect(verifyAuth({ method: 14, data: new Uint8Array(0) }, octets, pub('p256'))).toMatchObject({ reason: 'malformed' });
    expect(verifyAuth({ method: 14, data: Uint8Array.of(40, 0x30) }, octets, pub('p256'))).toMatchObject({ reason: 'malformed' });
    expect(verifyAuth({ method: 14, data: Uint8Array.of(2, 0x30, 0x05, 1) }, octets, pub('p256'))).toMatchObject({ reason: 'malformed' });
  });

  it('random AUTH data never throws and never passes', () => {
    const methods = fc.oneof(fc.constantFrom(1, 2, 3, 9, 10, 11, 14), fc.integer({ min: 0, max: 255 }));
    const data = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      // Plausible RFC 7427 prefixes followed by junk.
      fc
        .tuple(fc.constantFrom(...Object.values(APPENDIX_A)), fc.uint8Array({ maxLength: 300 }))
        .map(([alg, sig]) => Uint8Array.from([alg.length, ...alg, ...sig])),
    );
    const peers = [pub('p256'), pub('p384'), pub('p521'), pub('rsa'), { kind: 'psk' as const, secret: Uint8Array.of(9), prf }];
    fc.assert(
      fc.property(methods, data, fc.constantFrom(...peers), (method, d, peer) => {
        const r = verifyAuth({ method, data: d }, octets, peer);
        return r.ok === false;
      }),
      { numRuns: 300 },
    );
  });
});

describe('createAuth', () => {
  it('refuses a key it cannot sign AUTH with', () => {
    const ed = generateKeyPairSync('ed25519');
    expect(() => createAuth(octets, { kind: 'private-key', key: ed.privateKey, peerHashes: [] })).toThrow(RangeError);
  });

  it('announces SHA-2 only', () => {
    expect(OUR_SIGNATURE_HASHES).toEqual([H.SHA2_256, H.SHA2_384, H.SHA2_512]);
  });
});
