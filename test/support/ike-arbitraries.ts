/**
 * fast-check arbitraries for every IKEv2 payload body and whole messages
 * (src/wire/ike). Everything generated is valid: the codecs must round-trip
 * it exactly. Unknown payloads are generated non-critical, since a critical
 * unknown payload is (correctly) refused by the decoder.
 */
import fc from 'fast-check';
import type { AuthPayload } from '../../src/wire/ike/auth.js';
import type { CertPayload } from '../../src/wire/ike/cert.js';
import { PAYLOAD } from '../../src/wire/ike/constants.js';
import { CFG_ATTRIBUTE, type CfgAttribute, type CpPayload } from '../../src/wire/ike/cp.js';
import type { DeletePayload } from '../../src/wire/ike/delete.js';
import type { IkeHeader } from '../../src/wire/ike/header.js';
import type { IdPayload } from '../../src/wire/ike/id.js';
import type { KePayload } from '../../src/wire/ike/ke.js';
import type { IkeMessage } from '../../src/wire/ike/message.js';
import type { NoncePayload } from '../../src/wire/ike/nonce.js';
import type { NotifyPayload } from '../../src/wire/ike/notify.js';
import { isKnownPayloadType, type IkePayload } from '../../src/wire/ike/payload.js';
import type { Proposal, SaPayload, Transform, TransformAttribute } from '../../src/wire/ike/sa.js';
import type { SkfPayload, SkPayload } from '../../src/wire/ike/sk.js';
import { TS_TYPE, type TrafficSelector, type TsPayload } from '../../src/wire/ike/ts.js';
import type { VendorPayload } from '../../src/wire/ike/vendor.js';

const arbU8 = fc.integer({ min: 0, max: 0xff });
const arbU16 = fc.integer({ min: 0, max: 0xffff });
const arbU32 = fc.integer({ min: 0, max: 0xffffffff });

function arbBytes(minLength: number, maxLength: number): fc.Arbitrary<Uint8Array> {
  return fc.uint8Array({ minLength, maxLength });
}

export const arbAttribute: fc.Arbitrary<TransformAttribute> = fc.oneof(
  fc.record({ format: fc.constant('tv' as const), type: fc.integer({ min: 0, max: 0x7fff }), value: arbU16 }),
  fc.record({ format: fc.constant('tlv' as const), type: fc.integer({ min: 0, max: 0x7fff }), value: arbBytes(0, 12) }),
);

export const arbTransform: fc.Arbitrary<Transform> = fc.record({
  type: arbU8,
  id: arbU16,
  attributes: fc.array(arbAttribute, { maxLength: 3 }),
});

export const arbProposal: fc.Arbitrary<Proposal> = fc.record({
  number: arbU8,
  protocolId: arbU8,
  spi: fc.oneof(arbBytes(0, 0), arbBytes(4, 4), arbBytes(8, 8), arbBytes(0, 16)),
  transforms: fc.array(arbTransform, { minLength: 1, maxLength: 6 }),
});

export const arbSa: fc.Arbitrary<SaPayload> = fc.record({ proposals: fc.array(arbProposal, { minLength: 1, maxLength: 4 }) });
export const arbKe: fc.Arbitrary<KePayload> = fc.record({ dhGroup: arbU16, keyData: arbBytes(0, 300) });
export const arbId: fc.Arbitrary<IdPayload> = fc.record({ idType: arbU8, data: arbBytes(0, 64) });
export const arbCert: fc.Arbitrary<CertPayload> = fc.record({ encoding: arbU8, data: arbBytes(0, 200) });
export const arbAuth: fc.Arbitrary<AuthPayload> = fc.record({ method: arbU8, data: arbBytes(0, 200) });
export const arbNonce: fc.Arbitrary<NoncePayload> = fc.record({ nonce: arbBytes(16, 256) });
export const arbNotify: fc.Arbitrary<NotifyPayload> = fc.record({
  protocolId: arbU8,
  notifyType: arbU16,
  spi: fc.oneof(arbBytes(0, 0), arbBytes(4, 4), arbBytes(8, 8)),
  data: arbBytes(0, 64),
});
export const arbDelete: fc.Arbitrary<DeletePayload> = fc.oneof(
  fc.record({ protocolId: arbU8, spiSize: fc.constant(0), spis: fc.constant<Uint8Array[]>([]) }),
  fc
    .tuple(arbU8, fc.integer({ min: 1, max: 16 }), fc.integer({ min: 0, max: 8 }))
    .chain(([protocolId, spiSize, count]) =>
      fc.record({ protocolId: fc.constant(protocolId), spiSize: fc.constant(spiSize), spis: fc.array(arbBytes(spiSize, spiSize), { minLength: count, maxLength: count }) }),
    ),
);
export const arbVendor: fc.Arbitrary<VendorPayload> = fc.record({ vendorId: arbBytes(0, 32) });

export const arbSelector: fc.Arbitrary<TrafficSelector> = fc.oneof(
  fc.record({ family: fc.constant('ipv4' as const), protocol: arbU8, startPort: arbU16, endPort: arbU16, start: arbU32, end: arbU32 }),
  fc.record({ family: fc.constant('ipv6' as const), protocol: arbU8, startPort: arbU16, endPort: arbU16, start: arbBytes(16, 16), end: arbBytes(16, 16) }),
  fc.record({
    family: fc.constant('other' as const),
    tsType: arbU8.filter((t) => t !== TS_TYPE.IPV4_ADDR_RANGE && t !== TS_TYPE.IPV6_ADDR_RANGE),
    protocol: arbU8,
    data: arbBytes(0, 20),
  }),
);
export const arbTs: fc.Arbitrary<TsPayload> = fc.record({ selectors: fc.array(arbSelector, { maxLength: 5 }) });

const FIXED: ReadonlyArray<readonly [number, number]> = [
  [CFG_ATTRIBUTE.INTERNAL_IP4_ADDRESS, 4],
  [CFG_ATTRIBUTE.INTERNAL_IP4_NETMASK, 4],
  [CFG_ATTRIBUTE.INTERNAL_IP4_DNS, 4],
  [CFG_ATTRIBUTE.INTERNAL_IP6_ADDRESS, 17],
  [CFG_ATTRIBUTE.INTERNAL_IP6_DNS, 16],
  [CFG_ATTRIBUTE.INTERNAL_IP4_SUBNET, 8],
  [CFG_ATTRIBUTE.INTERNAL_IP6_SUBNET, 17],
];
const FIXED_TYPES = new Set<number>([...FIXED.map(([t]) => t), CFG_ATTRIBUTE.INTERNAL_IP4_NBNS, CFG_ATTRIBUTE.INTERNAL_IP4_DHCP, CFG_ATTRIBUTE.INTERNAL_IP6_DHCP]);

export const arbCfgAttribute: fc.Arbitrary<CfgAttribute> = fc.oneof(
  fc.constantFrom(...FIXED).chain(([type, length]) => fc.record({ type: fc.constant(type), value: fc.oneof(arbBytes(0, 0), arbBytes(length, length)) })),
  fc.record({ type: fc.integer({ min: 0, max: 0x7fff }).filter((t) => !FIXED_TYPES.has(t)), value: arbBytes(0, 20) }),
);
export const arbCp: fc.Arbitrary<CpPayload> = fc.record({ cfgType: arbU8, attributes: fc.array(arbCfgAttribute, { maxLength: 6 }) });

export const arbSk: fc.Arbitrary<SkPayload> = fc.record({ encrypted: arbBytes(0, 120) });
export const arbSkf: fc.Arbitrary<SkfPayload> = fc
  .integer({ min: 1, max: 0xffff })
  .chain((totalFragments) =>
    fc.record({ fragmentNumber: fc.integer({ min: 1, max: totalFragments }), totalFragments: fc.constant(totalFragments), encrypted: arbBytes(0, 120) }),
  );

const arbUnknownType = fc.integer({ min: 1, max: 0xff }).filter((t) => !isKnownPayloadType(t));

/** Any payload that may appear before the end of a chain (not SK/SKF). */
export const arbPlainPayload: fc.Arbitrary<IkePayload> = fc.oneof(
  arbSa.map((p) => ({ kind: 'sa' as const, ...p })),
  arbKe.map((p) => ({ kind: 'ke' as const, ...p })),
  arbId.map((p) => ({ kind: 'idi' as const, ...p })),
  arbId.map((p) => ({ kind: 'idr' as const, ...p })),
  arbCert.map((p) => ({ kind: 'cert' as const, ...p })),
  arbCert.map((p) => ({ kind: 'certreq' as const, ...p })),
  arbAuth.map((p) => ({ kind: 'auth' as const, ...p })),
  arbNonce.map((p) => ({ kind: 'nonce' as const, ...p })),
  arbNotify.map((p) => ({ kind: 'notify' as const, ...p })),
  arbDelete.map((p) => ({ kind: 'delete' as const, ...p })),
  arbVendor.map((p) => ({ kind: 'vendor' as const, ...p })),
  arbTs.map((p) => ({ kind: 'tsi' as const, ...p })),
  arbTs.map((p) => ({ kind: 'tsr' as const, ...p })),
  arbCp.map((p) => ({ kind: 'cp' as const, ...p })),
  arbBytes(0, 64).map((message) => ({ kind: 'eap' as const, message })),
  fc.record({ kind: fc.constant('unknown' as const), type: arbUnknownType, critical: fc.constant(false), body: arbBytes(0, 32) }),
);

const arbInnerFirst = fc.constantFrom(PAYLOAD.NONE, PAYLOAD.IDI, PAYLOAD.AUTH, PAYLOAD.NOTIFY, PAYLOAD.SA, PAYLOAD.DELETE);

export const arbEncryptedPayload: fc.Arbitrary<IkePayload> = fc.oneof(
  fc.tuple(arbSk, arbInnerFirst).map(([p, innerFirst]) => ({ kind: 'sk' as const, innerFirst, ...p })),
  fc.tuple(arbSkf, arbInnerFirst).map(([p, innerFirst]) => ({ kind: 'skf' as const, innerFirst, ...p })),
);

export const arbIkeHeader: fc.Arbitrary<IkeHeader> = fc.record({
  spiI: arbBytes(8, 8),
  spiR: arbBytes(8, 8),
  exchangeType: arbU8,
  initiator: fc.boolean(),
  response: fc.boolean(),
  higherVersion: fc.boolean(),
  messageId: arbU32,
});

/** A chain of plain payloads, optionally ending in SK or SKF (which must be last). */
export const arbPayloadChain: fc.Arbitrary<IkePayload[]> = fc
  .tuple(fc.array(arbPlainPayload, { maxLength: 6 }), fc.option(arbEncryptedPayload, { nil: undefined }))
  .map(([plain, encrypted]) => (encrypted === undefined ? plain : [...plain, encrypted]));

export const arbIkeMessage: fc.Arbitrary<IkeMessage> = fc.record({ header: arbIkeHeader, payloads: arbPayloadChain });
