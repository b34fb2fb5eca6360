import { describe, expect, it } from 'vitest';
import {
  DhGroup,
  EncrId,
  IntegId,
  PrfId,
  SUPPORTED_ENCRYPTIONS,
  dhGroupInfo,
  encryptionTransform,
  integrityTransform,
  isAead,
  parseIkeSuite,
  protectionSuite,
} from '../../../../src/apps/ipsec/crypto/transforms.js';
import { ALL_SUITE_NAMES, NAMED_SUITES } from './suites.js';

describe('transform registry', () => {
  it('knows the IANA IDs and sizes', () => {
    expect(encryptionTransform(EncrId.AES_GCM_16, 256)).toMatchObject({
      kind: 'aead',
      keyLength: 32,
      saltLength: 4,
      keyMaterialLength: 36,
      ivLength: 8,
      icvLength: 16,
    });
    expect(encryptionTransform(EncrId.AES_GCM_16, 128)).toMatchObject({ keyMaterialLength: 20 });
    expect(encryptionTransform(EncrId.AES_CBC, 128)).toMatchObject({ kind: 'cbc', keyLength: 16, blockSize: 16, ivLength: 16 });
    expect(encryptionTransform(EncrId.CHACHA20_POLY1305)).toMatchObject({ kind: 'aead', keyLength: 32, keyMaterialLength: 36, ivLength: 8 });
    expect(encryptionTransform(EncrId.AES_CBC)).toBeUndefined();
    expect(encryptionTransform(EncrId.AES_GCM_16, 192)).toBeUndefined();
    expect(integrityTransform(IntegId.HMAC_SHA2_384_192)).toMatchObject({ keyLength: 48, icvLength: 24 });
    expect(integrityTransform(IntegId.HMAC_SHA2_512_256)).toMatchObject({ keyLength: 64, icvLength: 32 });
    expect(dhGroupInfo(DhGroup.ECP_384)).toMatchObject({ publicLength: 96, sharedLength: 48 });
    expect(dhGroupInfo(DhGroup.MODP_2048)).toMatchObject({ publicLength: 256, sharedLength: 256 });
    expect(PrfId.HMAC_SHA2_256).toBe(5);
    expect(SUPPORTED_ENCRYPTIONS.filter(isAead).map((e) => e.name)).toEqual(['aes128gcm16', 'aes256gcm16', 'chacha20poly1305']);
  });

  it('pairs AEAD with no integrity and CBC with one', () => {
    const gcm = encryptionTransform(EncrId.AES_GCM_16, 128);
    const cbc = encryptionTransform(EncrId.AES_CBC, 256);
    const sha = integrityTransform(IntegId.HMAC_SHA2_256_128) ?? null;
    if (gcm === undefined || cbc === undefined) throw new Error('missing transform');
    expect(protectionSuite(gcm, null).ok).toBe(true);
    expect(protectionSuite(gcm, sha).ok).toBe(false);
    expect(protectionSuite(cbc, sha).ok).toBe(true);
    expect(protectionSuite(cbc, null).ok).toBe(false);
  });
});

describe('parseIkeSuite', () => {
  it('parses the suites that matter', () => {
    const parsed = NAMED_SUITES.map((n) => {
      const r = parseIkeSuite(n);
      if (!r.ok) throw r.error;
      return [r.value.encryption.name, r.value.integrity?.name ?? null, r.value.prf.name, r.value.dhGroup.group];
    });
    expect(parsed).toEqual([
      ['aes256gcm16', null, 'prfsha256', 19],
      ['aes128gcm16', null, 'prfsha256', 31],
      // CBC without an explicit PRF takes the integrity hash as PRF.
      ['aes256', 'sha256', 'prfsha256', 14],
      ['chacha20poly1305', null, 'prfsha256', 31],
    ]);
  });

  it('parses every supported combination', () => {
    expect(ALL_SUITE_NAMES).toHaveLength(3 * 3 * 4 + 2 * 3 * 3 * 4);
    for (const name of ALL_SUITE_NAMES) expect(parseIkeSuite(name).ok).toBe(true);
  });

  it('refuses malformed names with a typed error', () => {
    const malformed = [
      'aes256gcm16-sha256-prfsha256-ecp256',
      'aes256-ecp256',
      'aes256gcm16-ecp256',
      'aes256gcm16-prfsha256',
      'des-sha1-modp1024',
      'aes256-aes128-sha256-ecp256',
    ];
    for (const bad of malformed) {
      const r = parseIkeSuite(bad);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.reason).toBe('bad-suite');
    }
  });
});
