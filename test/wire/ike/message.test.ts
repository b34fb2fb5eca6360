import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UnsupportedCriticalPayload } from '../../../src/wire/decode-error.js';
import { DH_GROUP, ENCR, EXCHANGE, INTEG, PAYLOAD, PRF, PROTOCOL, TRANSFORM_ATTRIBUTE, TRANSFORM_TYPE } from '../../../src/wire/ike/constants.js';
import { decodeIkeHeader } from '../../../src/wire/ike/header.js';
import { decodeIkeMessage, decodeInnerPayloads, encodeIkeMessage, encodeInnerPayloads, type IkeMessage } from '../../../src/wire/ike/message.js';
import { NOTIFY } from '../../../src/wire/ike/notify.js';
import type { IkePayload } from '../../../src/wire/ike/payload.js';
import { keyLengthOf } from '../../../src/wire/ike/sa.js';
import { arbIkeMessage, arbPlainPayload } from '../../support/ike-arbitraries.js';
import { flipBit, hex, reasonOf, toHex, valueOf } from '../arbitraries.js';

const KE_DATA = 'a5'.repeat(64);
const NONCE = '5e'.repeat(32);
const NAT_SRC = '11'.repeat(20);
const NAT_DST = '22'.repeat(20);

/**
 * An IKE_SA_INIT request laid out by hand from RFC 7296 §3: SA (one IKE
 * proposal: AES-CBC-256, PRF-HMAC-SHA2-256, HMAC-SHA2-256-128, ECP-256), KE
 * (group 19), Nonce, NAT_DETECTION_SOURCE_IP/DESTINATION_IP,
 * IKEV2_FRAGMENTATION_SUPPORTED, SIGNATURE_HASH_ALGORITHMS (SHA2-256/384/512).
 */
const IKE_SA_INIT_REQUEST = hex(`
  0102030405060708 0000000000000000  21 20 22 08  00000000  00000106
  22 00 0030
    00 00 002c  01 01 00 04
      03 00 000c  01 00 000c  800e 0100
      03 00 0008  02 00 0005
      03 00 0008  03 00 000c
      00 00 0008  04 00 0013
  28 00 0048  0013 0000  ${KE_DATA}
  29 00 0024  ${NONCE}
  29 00 001c  00 00 4004  ${NAT_SRC}
  29 00 001c  00 00 4005  ${NAT_DST}
  29 00 0008  00 00 402e
  00 00 000e  00 00 402f  0002 0003 0004`);

const SA_INIT_VALUE: IkeMessage = {
  header: {
    spiI: hex('0102030405060708'),
    spiR: new Uint8Array(8),
    exchangeType: EXCHANGE.IKE_SA_INIT,
    initiator: true,
    response: false,
    higherVersion: false,
    messageId: 0,
  },
  payloads: [
    {
      kind: 'sa',
      proposals: [
        {
          number: 1,
          protocolId: PROTOCOL.IKE,
          spi: new Uint8Array(0),
          transforms: [
            { type: TRANSFORM_TYPE.ENCR, id: ENCR.AES_CBC, attributes: [{ format: 'tv', type: TRANSFORM_ATTRIBUTE.KEY_LENGTH, value: 256 }] },
            { type: TRANSFORM_TYPE.PRF, id: PRF.HMAC_SHA2_256, attributes: [] },
            { type: TRANSFORM_TYPE.INTEG, id: INTEG.HMAC_SHA2_256_128, attributes: [] },
            { type: TRANSFORM_TYPE.DH, id: DH_GROUP.ECP_256, attributes: [] },
          ],
        },
      ],
    },
    { kind: 'ke', dhGroup: DH_GROUP.ECP_256, keyData: hex(KE_DATA) },
    { kind: 'nonce', nonce: hex(NONCE) },
    { kind: 'notify', protocolId: 0, notifyType: NOTIFY.NAT_DETECTION_SOURCE_IP, spi: new Uint8Array(0), data: hex(NAT_SRC) },
    { kind: 'notify', protocolId: 0, notifyType: NOTIFY.NAT_DETECTION_DESTINATION_IP, spi: new Uint8Array(0), data: hex(NAT_DST) },
    { kind: 'notify', protocolId: 0, notifyType: NOTIFY.IKEV2_FRAGMENTATION_SUPPORTED, spi: new Uint8Array(0), data: new Uint8Array(0) },
    { kind: 'notify', protocolId: 0, notifyType: NOTIFY.SIGNATURE_HASH_ALGORITHMS, spi: new Uint8Array(0), data: hex('000200030004') },
  ],
};

const HEADER = SA_INIT_VALUE.header;

/** Sets the header's Length to the datagram's, so a cut reaches the payload walk instead of the header check. */
function withLengthPatched(bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  new DataView(out.buffer).setUint32(24, out.length);
  return out;
}

describe('IKEv2 message (RFC 7296 §3.1, §3.2)', () => {
  it('decodes a hand-built IKE_SA_INIT request field by field', () => {
    const m = valueOf(decodeIkeMessage(IKE_SA_INIT_REQUEST));
    expect(m).toEqual({ ...SA_INIT_VALUE, encryptedAt: undefined });
    const sa = m.payloads[0];
    expect(sa?.kind === 'sa' && keyLengthOf(sa.proposals[0]!.transforms[0]!)).toBe(256);
    const header = valueOf(decodeIkeHeader(IKE_SA_INIT_REQUEST));
    expect([header.firstPayload, header.length]).toEqual([PAYLOAD.SA, 262]);
  });

  it('encodes an INVALID_KE_PAYLOAD response (R flag, responder SPI still zero, group 19 wanted)', () => {
    const response: IkeMessage = {
      header: { ...HEADER, initiator: false, response: true },
      payloads: [{ kind: 'notify', protocolId: 0, notifyType: NOTIFY.INVALID_KE_PAYLOAD, spi: new Uint8Array(0), data: hex('0013') }],
    };
    const bytes = encodeIkeMessage(response);
    expect(toHex(bytes)).toBe('0102030405060708' + '0000000000000000' + '29202220' + '00000000' + '00000026' + '0000000a' + '00000011' + '0013');
    expect(valueOf(decodeIkeMessage(bytes)).header).toEqual(response.header);
  });

  it('encodes the typed value to exactly those bytes', () => {
    expect(toHex(encodeIkeMessage(SA_INIT_VALUE))).toBe(toHex(IKE_SA_INIT_REQUEST));
  });

  it('round-trips any message', () => {
    fc.assert(
      fc.property(arbIkeMessage, (m) => {
        const decoded = valueOf(decodeIkeMessage(encodeIkeMessage(m)));
        expect({ header: decoded.header, payloads: decoded.payloads }).toEqual(m);
      }),
      { numRuns: 400 },
    );
  });

  it('is truncated at every byte offset of the golden message, and never throws when Length is patched to match', () => {
    for (let cut = 0; cut < IKE_SA_INIT_REQUEST.length; cut++) {
      const short = IKE_SA_INIT_REQUEST.subarray(0, cut);
      expect(reasonOf(decodeIkeMessage(short))).toBe('truncated');
      if (cut >= 28) expect(reasonOf(decodeIkeMessage(withLengthPatched(short)))).not.toBe('ok');
    }
  });

  it('gives a typed error for any cut of any message', () => {
    fc.assert(
      fc.property(arbIkeMessage, fc.nat(), (m, n) => {
        const bytes = encodeIkeMessage(m);
        const cut = n % bytes.length;
        expect(reasonOf(decodeIkeMessage(bytes.subarray(0, cut)))).toBe('truncated');
        if (cut >= 28) reasonOf(decodeIkeMessage(withLengthPatched(bytes.subarray(0, cut))));
      }),
      { numRuns: 400 },
    );
  });

  it('refuses a Length that disagrees with the datagram, a Length below 28, and major version 1', () => {
    const longer = new Uint8Array(IKE_SA_INIT_REQUEST.length + 1);
    longer.set(IKE_SA_INIT_REQUEST);
    expect(reasonOf(decodeIkeMessage(longer))).toBe('trailing-bytes');
    expect(reasonOf(decodeIkeMessage(withLengthPatched(longer)))).toBe('trailing-bytes');
    const tiny = IKE_SA_INIT_REQUEST.slice(0, 28);
    new DataView(tiny.buffer).setUint32(24, 27);
    expect(reasonOf(decodeIkeMessage(tiny))).toBe('bad-length');
    const v1 = IKE_SA_INIT_REQUEST.slice();
    v1[17] = 0x10;
    expect(reasonOf(decodeIkeMessage(v1))).toBe('bad-version');
    const minor = IKE_SA_INIT_REQUEST.slice();
    minor[17] = 0x21;
    minor[19] = 0x08 | 0x01;
    expect(valueOf(decodeIkeMessage(minor)).header).toEqual(HEADER);
  });

  it('never throws on random bytes, on random chains behind a valid header, or on bit flips', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => void reasonOf(decodeIkeMessage(bytes))), { numRuns: 1000 });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 200 }), (first, chain) => {
        const bytes = new Uint8Array(28 + chain.length);
        bytes.set(IKE_SA_INIT_REQUEST.subarray(0, 28));
        bytes[16] = first;
        bytes.set(chain, 28);
        reasonOf(decodeIkeMessage(withLengthPatched(bytes)));
        reasonOf(decodeInnerPayloads(first, chain));
      }),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(arbIkeMessage, fc.nat(), (m, bit) => void reasonOf(decodeIkeMessage(flipBit(encodeIkeMessage(m), bit)))),
      { numRuns: 500 },
    );
  });

  it('refuses to encode values that do not fit', () => {
    expect(() => encodeIkeMessage({ ...SA_INIT_VALUE, header: { ...HEADER, spiI: new Uint8Array(4) } })).toThrow(RangeError);
    expect(() => encodeIkeMessage({ ...SA_INIT_VALUE, header: { ...HEADER, messageId: 2 ** 32 } })).toThrow(RangeError);
    const sk: IkePayload = { kind: 'sk', innerFirst: PAYLOAD.IDI, encrypted: new Uint8Array(16) };
    expect(() => encodeIkeMessage({ header: HEADER, payloads: [sk, { kind: 'nonce', nonce: new Uint8Array(16) }] })).toThrow(RangeError);
    expect(() => encodeIkeMessage({ header: HEADER, payloads: [{ kind: 'unknown', type: PAYLOAD.KE, critical: false, body: new Uint8Array(0) }] })).toThrow(RangeError);
  });
});

describe('critical bit (RFC 7296 §2.5, §3.2)', () => {
  const unknown = (critical: boolean): IkePayload => ({ kind: 'unknown', type: 200, critical, body: hex('cafe') });
  const nonce: IkePayload = { kind: 'nonce', nonce: new Uint8Array(16).fill(7) };

  it('refuses an unknown critical payload with its type, for UNSUPPORTED_CRITICAL_PAYLOAD', () => {
    const result = decodeIkeMessage(encodeIkeMessage({ header: HEADER, payloads: [nonce, unknown(true), nonce] }));
    expect(reasonOf(result)).toBe('unsupported-critical');
    expect(!result.ok && result.error instanceof UnsupportedCriticalPayload && result.error.payloadType).toBe(200);
  });

  it('keeps an unknown non-critical payload raw and walks past it', () => {
    const m = valueOf(decodeIkeMessage(encodeIkeMessage({ header: HEADER, payloads: [nonce, unknown(false), nonce] })));
    expect(m.payloads).toEqual([nonce, unknown(false), nonce]);
  });

  it('ignores the critical bit on a payload it knows', () => {
    const bytes = encodeIkeMessage({ header: HEADER, payloads: [nonce] });
    bytes[29] = 0x80;
    expect(valueOf(decodeIkeMessage(bytes)).payloads).toEqual([nonce]);
  });

  it('applies the same rule inside SK', () => {
    const inner = encodeInnerPayloads([nonce, unknown(true)]);
    expect(reasonOf(decodeInnerPayloads(inner.firstType, inner.bytes))).toBe('unsupported-critical');
  });
});

describe('SK and SKF containers (RFC 7296 §3.14, RFC 7383 §2.5)', () => {
  const inner: IkePayload[] = [
    { kind: 'idi', idType: 2, data: new TextEncoder().encode('road.example') },
    { kind: 'auth', method: 14, data: hex('0c300a06082a8648ce3d040302aabb') },
    { kind: 'cp', cfgType: 1, attributes: [{ type: 1, value: new Uint8Array(0) }] },
    { kind: 'sa', proposals: [{ number: 1, protocolId: PROTOCOL.ESP, spi: hex('c0ffee01'), transforms: [{ type: 1, id: ENCR.AES_GCM_16, attributes: [{ format: 'tv', type: 14, value: 256 }] }] }] },
    { kind: 'tsi', selectors: [{ family: 'ipv4', protocol: 0, startPort: 0, endPort: 0xffff, start: 0, end: 0xffffffff }] },
  ];

  it('builds the inner chain whose first type the SK payload carries, and reads it back', () => {
    const { firstType, bytes } = encodeInnerPayloads(inner);
    expect(firstType).toBe(PAYLOAD.IDI);
    expect(valueOf(decodeInnerPayloads(firstType, bytes))).toEqual(inner);
    expect(valueOf(decodeInnerPayloads(PAYLOAD.NONE, new Uint8Array(0)))).toEqual([]);
    expect(reasonOf(decodeInnerPayloads(PAYLOAD.NONE, hex('00')))).toBe('trailing-bytes');
  });

  it('round-trips any inner chain and refuses nesting', () => {
    fc.assert(
      fc.property(fc.array(arbPlainPayload, { maxLength: 6 }), (payloads) => {
        const { firstType, bytes } = encodeInnerPayloads(payloads);
        expect(valueOf(decodeInnerPayloads(firstType, bytes))).toEqual(payloads);
      }),
      { numRuns: 300 },
    );
    const sk: IkePayload = { kind: 'sk', innerFirst: 0, encrypted: new Uint8Array(0) };
    expect(() => encodeInnerPayloads([sk])).toThrow(RangeError);
    const nested = new Uint8Array(encodeIkeMessage({ header: HEADER, payloads: [sk] }).subarray(28));
    expect(reasonOf(decodeInnerPayloads(PAYLOAD.SK, nested))).toBe('bad-value');
  });

  it('puts the inner first type in SK\'s Next Payload and reports where the encrypted bytes start', () => {
    const encrypted = hex('00'.repeat(16) + 'ee'.repeat(40) + '1c'.repeat(16));
    const header = { ...HEADER, exchangeType: EXCHANGE.IKE_AUTH, messageId: 1 };
    const bytes = encodeIkeMessage({ header, payloads: [{ kind: 'sk', innerFirst: PAYLOAD.IDI, encrypted }] });
    expect(toHex(bytes.subarray(16, 17))).toBe('2e');
    expect(toHex(bytes.subarray(28, 32))).toBe('2300004c');
    const m = valueOf(decodeIkeMessage(bytes));
    expect(m.encryptedAt).toBe(32);
    expect(toHex(bytes.subarray(m.encryptedAt))).toBe(toHex(encrypted));
  });

  it('decodes SKF fragment fields; encrypted bytes start after them', () => {
    const header = { ...HEADER, exchangeType: EXCHANGE.IKE_AUTH, messageId: 1 };
    const first = encodeIkeMessage({ header, payloads: [{ kind: 'skf', innerFirst: PAYLOAD.IDI, fragmentNumber: 1, totalFragments: 3, encrypted: hex('aabb') }] });
    expect(toHex(first.subarray(28, 36))).toBe('23' + '00000a' + '00010003');
    const m = valueOf(decodeIkeMessage(first));
    expect(m.payloads[0]).toEqual({ kind: 'skf', innerFirst: PAYLOAD.IDI, fragmentNumber: 1, totalFragments: 3, encrypted: hex('aabb') });
    expect(m.encryptedAt).toBe(36);
    const bad = first.slice();
    bad[33] = 0;
    expect(reasonOf(decodeIkeMessage(bad))).toBe('bad-value');
  });

  it('refuses bytes after SK (it must be last)', () => {
    const bytes = encodeIkeMessage({ header: HEADER, payloads: [{ kind: 'sk', innerFirst: PAYLOAD.IDI, encrypted: hex('0102') }] });
    const longer = new Uint8Array(bytes.length + 4);
    longer.set(bytes);
    longer.set(hex('00000004'), bytes.length);
    expect(reasonOf(decodeIkeMessage(withLengthPatched(longer)))).toBe('trailing-bytes');
  });
});
