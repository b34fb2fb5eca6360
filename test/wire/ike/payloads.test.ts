import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Decoded } from '../../../src/wire/decode-error.js';
import { AUTH_METHOD, decodeAuth, encodeAuth, joinDigitalSignature, SIGNATURE_ALGORITHM, splitDigitalSignature } from '../../../src/wire/ike/auth.js';
import { decodeCert, encodeCert } from '../../../src/wire/ike/cert.js';
import { ENCR, TRANSFORM_TYPE } from '../../../src/wire/ike/constants.js';
import { CFG_ATTRIBUTE, CFG_TYPE, decodeCp, encodeCp, ipv4Attribute, ipv4Value } from '../../../src/wire/ike/cp.js';
import { decodeDelete, encodeDelete } from '../../../src/wire/ike/delete.js';
import { decodeId, encodeId } from '../../../src/wire/ike/id.js';
import { decodeKe, encodeKe } from '../../../src/wire/ike/ke.js';
import { decodeNonce, encodeNonce } from '../../../src/wire/ike/nonce.js';
import { decodeNotify, encodeNotify, HASH_ALGORITHM, isErrorNotify, NOTIFY, readHashAlgorithms } from '../../../src/wire/ike/notify.js';
import { decodeSa, encodeSa, keyLengthOf } from '../../../src/wire/ike/sa.js';
import { decodeSk, decodeSkf, encodeSk, encodeSkf } from '../../../src/wire/ike/sk.js';
import { decodeTs, encodeTs } from '../../../src/wire/ike/ts.js';
import { decodeVendor, encodeVendor } from '../../../src/wire/ike/vendor.js';
import {
  arbAuth,
  arbCert,
  arbCp,
  arbDelete,
  arbId,
  arbKe,
  arbNonce,
  arbNotify,
  arbSa,
  arbSk,
  arbSkf,
  arbTs,
  arbVendor,
} from '../../support/ike-arbitraries.js';
import { hex, reasonOf, toHex, valueOf } from '../arbitraries.js';

/** Round trip, truncation at any offset, and random bodies: decoders return values, never throw. */
function bodyProperties<T>(name: string, arb: fc.Arbitrary<T>, encode: (p: T) => Uint8Array, decode: (body: Uint8Array) => Decoded<T>): void {
  it(`${name}: round-trips, and every truncation or random body is a value, never a throw`, () => {
    fc.assert(
      fc.property(arb, fc.nat(), (p, cut) => {
        const bytes = encode(p);
        expect(valueOf(decode(bytes))).toEqual(p);
        reasonOf(decode(bytes.subarray(0, cut % (bytes.length + 1))));
      }),
      { numRuns: 300 },
    );
    fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => void reasonOf(decode(bytes))), { numRuns: 300 });
  });
}

describe('IKEv2 payload bodies (RFC 7296 §3.3–§3.15, RFC 7383)', () => {
  bodyProperties('SA', arbSa, encodeSa, decodeSa);
  bodyProperties('KE', arbKe, encodeKe, decodeKe);
  bodyProperties('ID', arbId, encodeId, decodeId);
  bodyProperties('CERT', arbCert, encodeCert, decodeCert);
  bodyProperties('AUTH', arbAuth, encodeAuth, decodeAuth);
  bodyProperties('Nonce', arbNonce, encodeNonce, decodeNonce);
  bodyProperties('Notify', arbNotify, encodeNotify, decodeNotify);
  bodyProperties('Delete', arbDelete, encodeDelete, decodeDelete);
  bodyProperties('Vendor ID', arbVendor, encodeVendor, decodeVendor);
  bodyProperties('TS', arbTs, encodeTs, decodeTs);
  bodyProperties('CP', arbCp, encodeCp, decodeCp);
  bodyProperties('SK', arbSk, encodeSk, decodeSk);
  bodyProperties('SKF', arbSkf, encodeSkf, decodeSkf);

  describe('SA', () => {
    // One ESP proposal: AES-CBC-256, HMAC-SHA2-256-128, no ESN; SPI 0x11223344.
    const ESP_PROPOSAL = hex(`
      00 00 0028  01 03 04 03  11223344
      03 00 000c  01 00 000c  800e 0100
      03 00 0008  03 00 000c
      00 00 0008  05 00 0000`);

    it('decodes a proposal field by field, Key Length attribute included', () => {
      const sa = valueOf(decodeSa(ESP_PROPOSAL));
      expect(sa.proposals).toHaveLength(1);
      const p = sa.proposals[0]!;
      expect([p.number, p.protocolId, toHex(p.spi)]).toEqual([1, 3, '11223344']);
      expect(p.transforms.map((t) => [t.type, t.id])).toEqual([[TRANSFORM_TYPE.ENCR, ENCR.AES_CBC], [3, 12], [5, 0]]);
      expect(keyLengthOf(p.transforms[0]!)).toBe(256);
      expect(keyLengthOf(p.transforms[1]!)).toBeUndefined();
      expect(toHex(encodeSa(sa))).toBe(toHex(ESP_PROPOSAL));
    });

    it('refuses a Num Transforms that disagrees with the transforms present', () => {
      const bad = ESP_PROPOSAL.slice();
      bad[7] = 4;
      expect(reasonOf(decodeSa(bad))).toBe('bad-length');
    });

    it('refuses a wrong Last Substruc on a proposal or a transform', () => {
      const moreProposals = ESP_PROPOSAL.slice();
      moreProposals[0] = 2;
      expect(reasonOf(decodeSa(moreProposals))).toBe('bad-value');
      const lastTransformEarly = ESP_PROPOSAL.slice();
      lastTransformEarly[12] = 0;
      expect(reasonOf(decodeSa(lastTransformEarly))).toBe('bad-value');
    });

    it('refuses a proposal or transform length that overruns its parent or is below its header', () => {
      const long = ESP_PROPOSAL.slice();
      long[3] = 0x29;
      expect(reasonOf(decodeSa(long))).toBe('bad-length');
      const short = ESP_PROPOSAL.slice();
      short[15] = 0x04;
      expect(reasonOf(decodeSa(short))).toBe('bad-length');
      expect(reasonOf(decodeSa(new Uint8Array(0)))).toBe('bad-length');
    });

    it('refuses to encode what the wire cannot say', () => {
      expect(() => encodeSa({ proposals: [] })).toThrow(RangeError);
      expect(() => encodeSa({ proposals: [{ number: 1, protocolId: 1, spi: new Uint8Array(0), transforms: [] }] })).toThrow(RangeError);
      expect(() => encodeSa({ proposals: [{ number: 256, protocolId: 1, spi: new Uint8Array(0), transforms: [{ type: 1, id: 1, attributes: [] }] }] })).toThrow(RangeError);
      expect(() =>
        encodeSa({ proposals: [{ number: 1, protocolId: 1, spi: new Uint8Array(0), transforms: [{ type: 1, id: 1, attributes: [{ format: 'tv', type: 14, value: 65536 }] }] }] }),
      ).toThrow(RangeError);
    });
  });

  describe('Nonce', () => {
    it('accepts 16..256 bytes only (§3.9)', () => {
      expect(reasonOf(decodeNonce(new Uint8Array(15)))).toBe('bad-length');
      expect(reasonOf(decodeNonce(new Uint8Array(257)))).toBe('bad-length');
      expect(reasonOf(decodeNonce(new Uint8Array(16)))).toBe('ok');
      expect(() => encodeNonce({ nonce: new Uint8Array(8) })).toThrow(RangeError);
    });
  });

  describe('Notify', () => {
    it('carries an ESP SPI and data; types below 16384 are errors', () => {
      const body = encodeNotify({ protocolId: 3, notifyType: NOTIFY.REKEY_SA, spi: hex('c0ffee01'), data: new Uint8Array(0) });
      expect(toHex(body)).toBe('03044009c0ffee01');
      expect(isErrorNotify(NOTIFY.NO_PROPOSAL_CHOSEN)).toBe(true);
      expect(isErrorNotify(NOTIFY.COOKIE)).toBe(false);
    });

    it('refuses an SPI Size beyond the body', () => {
      expect(reasonOf(decodeNotify(hex('0308 4009 c0ffee01')))).toBe('truncated');
    });

    it('reads SIGNATURE_HASH_ALGORITHMS data (RFC 7427 §4)', () => {
      expect(valueOf(readHashAlgorithms(hex('0002 0003 0004')))).toEqual([HASH_ALGORITHM.SHA2_256, HASH_ALGORITHM.SHA2_384, HASH_ALGORITHM.SHA2_512]);
      expect(reasonOf(readHashAlgorithms(hex('0002 00')))).toBe('truncated');
    });
  });

  describe('Delete', () => {
    it('needs Num of SPIs × SPI Size to fill the body exactly', () => {
      expect(valueOf(decodeDelete(hex('03 04 0002 11111111 22222222'))).spis.map(toHex)).toEqual(['11111111', '22222222']);
      expect(reasonOf(decodeDelete(hex('03 04 0002 11111111')))).toBe('bad-length');
      expect(reasonOf(decodeDelete(hex('03 04 0001 11111111 22')))).toBe('bad-length');
      expect(reasonOf(decodeDelete(hex('01 00 0003')))).toBe('bad-value');
      expect(valueOf(decodeDelete(hex('01 00 0000')))).toEqual({ protocolId: 1, spiSize: 0, spis: [] });
      expect(() => encodeDelete({ protocolId: 3, spiSize: 4, spis: [hex('1122')] })).toThrow(RangeError);
    });
  });

  describe('TS', () => {
    it('decodes an IPv4 range and an IPv6 range, and keeps an unknown type raw', () => {
      const body = hex(`
        03 000000
        07 06 0010 0000 ffff c6120200 c61202ff
        08 00 0028 0000 ffff 20010db8000000000000000000000000 20010db8ffffffffffffffffffffffff
        0a 00 0008 01020304`);
      const ts = valueOf(decodeTs(body));
      expect(ts.selectors[0]).toEqual({ family: 'ipv4', protocol: 6, startPort: 0, endPort: 0xffff, start: 0xc6120200, end: 0xc61202ff });
      expect(ts.selectors[1]?.family).toBe('ipv6');
      expect(ts.selectors[2]).toEqual({ family: 'other', tsType: 10, protocol: 0, data: hex('01020304') });
      expect(toHex(encodeTs(ts))).toBe(toHex(body));
    });

    it('refuses a count mismatch and a wrong length for type 7 or 8', () => {
      expect(reasonOf(decodeTs(hex('02 000000 07 00 0010 0000 ffff 00000000 ffffffff')))).toBe('bad-length');
      expect(reasonOf(decodeTs(hex('01 000000 07 00 0014 0000 ffff 00000000 ffffffff 00000000')))).toBe('bad-length');
      expect(reasonOf(decodeTs(hex('01 000000 07 00 0002')))).toBe('bad-length');
    });
  });

  describe('CP', () => {
    it('decodes a CFG_REQUEST with empty attributes and builds a CFG_REPLY', () => {
      const request = valueOf(decodeCp(hex('01 000000 0001 0000 0003 0000 0008 0000')));
      expect(request).toEqual({
        cfgType: CFG_TYPE.REQUEST,
        attributes: [1, 3, 8].map((type) => ({ type, value: new Uint8Array(0) })),
      });
      expect(ipv4Value(request.attributes[0]!)).toBeUndefined();
      const reply = encodeCp({
        cfgType: CFG_TYPE.REPLY,
        attributes: [ipv4Attribute(CFG_ATTRIBUTE.INTERNAL_IP4_ADDRESS, 0x0a000102), ipv4Attribute(CFG_ATTRIBUTE.INTERNAL_IP4_NETMASK, 0xffffff00)],
      });
      expect(toHex(reply)).toBe('02000000' + '000100040a000102' + '00020004ffffff00');
      expect(ipv4Value(valueOf(decodeCp(reply)).attributes[0]!)).toBe(0x0a000102);
    });

    it('ignores the R bit and refuses a wrong length for an address attribute', () => {
      expect(valueOf(decodeCp(hex('01 000000 8001 0000'))).attributes[0]?.type).toBe(1);
      expect(reasonOf(decodeCp(hex('02 000000 0001 0003 0a0001')))).toBe('bad-length');
      expect(reasonOf(decodeCp(hex('02 000000 0001 0008 0a000102')))).toBe('truncated');
      expect(() => encodeCp({ cfgType: 2, attributes: [{ type: 1, value: hex('0a00') }] })).toThrow(RangeError);
    });
  });

  describe('AUTH', () => {
    it('splits and joins a digital signature (RFC 7427 §3)', () => {
      const sig = hex('0102030405');
      const data = joinDigitalSignature({ algorithmIdentifier: SIGNATURE_ALGORITHM.ECDSA_WITH_SHA256, signature: sig });
      expect(toHex(data)).toBe('0c300a06082a8648ce3d040302' + '0102030405');
      const body = encodeAuth({ method: AUTH_METHOD.DIGITAL_SIGNATURE, data });
      expect(toHex(body.subarray(0, 4))).toBe('0e000000');
      const split = valueOf(splitDigitalSignature(valueOf(decodeAuth(body)).data));
      expect(split).toEqual({ algorithmIdentifier: SIGNATURE_ALGORITHM.ECDSA_WITH_SHA256, signature: sig });
      expect(reasonOf(splitDigitalSignature(hex('20 300a')))).toBe('truncated');
      expect(reasonOf(splitDigitalSignature(hex('00 0102')))).toBe('bad-length');
      expect(() => joinDigitalSignature({ algorithmIdentifier: new Uint8Array(0), signature: sig })).toThrow(RangeError);
    });
  });

  describe('SKF (RFC 7383 §2.5)', () => {
    it('decodes Fragment Number and Total Fragments and keeps the rest opaque', () => {
      expect(valueOf(decodeSkf(hex('0002 0003 aabbcc')))).toEqual({ fragmentNumber: 2, totalFragments: 3, encrypted: hex('aabbcc') });
      expect(toHex(encodeSkf({ fragmentNumber: 1, totalFragments: 1, encrypted: hex('ff') }))).toBe('00010001ff');
    });

    it('refuses fragment 0, a fragment past the total, and a total of 0', () => {
      expect(reasonOf(decodeSkf(hex('0000 0003')))).toBe('bad-value');
      expect(reasonOf(decodeSkf(hex('0004 0003')))).toBe('bad-value');
      expect(reasonOf(decodeSkf(hex('0000 0000')))).toBe('bad-value');
      expect(reasonOf(decodeSkf(hex('0001 00')))).toBe('truncated');
      expect(() => encodeSkf({ fragmentNumber: 0, totalFragments: 1, encrypted: new Uint8Array(0) })).toThrow(RangeError);
      expect(() => encodeSkf({ fragmentNumber: 3, totalFragments: 2, encrypted: new Uint8Array(0) })).toThrow(RangeError);
    });
  });
});
