/**
 * fast-check arbitraries for every control message, header and trailer, plus
 * helpers to turn them into wire bytes. Shared by the codec tests and the
 * membership tests. Everything generated here is valid: the codec must
 * round-trip it exactly.
 */
import fc from 'fast-check';
import {
  encodeHeaderAndBody,
  encodeMacFrame,
  encodeSignedFrame,
  encodeSignedPart,
} from '../../src/cluster/control-codec.js';
import {
  AckKind,
  AUTH_OF_TYPE,
  ExitReason,
  ForwardSide,
  MAC_LENGTH,
  MessageType,
  NakReason,
  UnitState,
  type AuthKind,
  type ControlMessage,
  type Header,
  type MacTrailer,
  type SignedTrailer,
  type TableEntry,
  type Trailer,
} from '../../src/cluster/messages.js';
import { UNIT_COUNT, type MemberId, type UnitEpoch } from '../../src/cluster/types.js';
import { ByteWriter } from '../../src/wire/byte-writer.js';

export type MessageOf<T extends MessageType> = Extract<ControlMessage, { type: T }>;

export const ALL_MESSAGE_TYPES: readonly MessageType[] = Object.values(MessageType);

// ---- fields ----

export const arbU8 = fc.integer({ min: 0, max: 0xff });
export const arbU16 = fc.integer({ min: 0, max: 0xffff });
export const arbU32 = fc.integer({ min: 0, max: 0xffffffff });
/** A real member (interconnect IPv4 as u32); 0 is reserved for "none" / "everyone". */
export const arbMemberId: fc.Arbitrary<MemberId> = fc.integer({ min: 1, max: 0xffffffff });
export const arbUnit = fc.integer({ min: 0, max: UNIT_COUNT - 1 });
export const arbUnitEpoch: fc.Arbitrary<UnitEpoch> = fc.record({ unit: arbUnit, epoch: arbU32 });
export const arbUnitEpochs = fc.array(arbUnitEpoch, { maxLength: 24 });
/** Hand-over markers: 0 (none) is the common value, any u32 is valid. */
export const arbMarker = fc.oneof(fc.constant(0), arbU32);
/** Entries with a marker list of the same length, as WorkAssign and WorkAck carry them. */
export const arbMarkedEntries: fc.Arbitrary<{ entries: UnitEpoch[]; markers: number[] }> = arbUnitEpochs.chain((entries) =>
  fc.record({
    entries: fc.constant(entries),
    markers: fc.array(arbMarker, { minLength: entries.length, maxLength: entries.length }),
  }),
);
export const arbMembers = fc.array(arbMemberId, { maxLength: 20 });
export const arbNonce = fc.uint8Array({ minLength: 16, maxLength: 16 });
export const arbTableDigest = fc.uint8Array({ minLength: 8, maxLength: 8 });
export const arbWrappedKey = fc.uint8Array({ maxLength: 80 });
export const arbN = fc.integer({ min: 2, max: 20 });
/** Any well-formed text, multi-byte UTF-8 and a leading U+FEFF included. */
export const arbDetail = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 24 }), fc.string().map((s) => `\uFEFF${s}`));
export const arbNakReason = fc.constantFrom(...Object.values(NakReason));
export const arbExitReason = fc.constantFrom(...Object.values(ExitReason));
export const arbAckKind = fc.constantFrom(...Object.values(AckKind));
export const arbUnitState = fc.constantFrom(...Object.values(UnitState));

function arbTableEntries(owners: readonly MemberId[]): fc.Arbitrary<TableEntry[]> {
  const entry = fc.record({ owner: fc.constantFrom(0, ...owners), epoch: arbU32, state: arbUnitState });
  return fc.array(entry, { minLength: UNIT_COUNT, maxLength: UNIT_COUNT });
}

// ---- messages ----

export const messageArbitraries: { readonly [T in MessageType]: fc.Arbitrary<MessageOf<T>> } = {
  [MessageType.JoinRequest]: fc.record({
    type: fc.constant(MessageType.JoinRequest),
    configVersion: arbU32,
    nonce: arbNonce,
    served: arbUnitEpochs,
    maxEpoch: arbU32,
  }),
  [MessageType.JoinNak]: fc.record({
    type: fc.constant(MessageType.JoinNak),
    target: arbU32,
    nonce: arbNonce,
    reason: arbNakReason,
    detail: arbDetail,
    configVersion: arbU32,
  }),
  [MessageType.OkToJoin]: fc.record({
    type: fc.constant(MessageType.OkToJoin),
    target: arbU32,
    nonce: arbNonce,
    term: arbU32,
    keyEpoch: arbU32,
    wrappedKey: arbWrappedKey,
    members: arbMembers,
    keep: arbUnitEpochs,
    n: arbN,
  }),
  [MessageType.OfferMaster]: fc.record({ type: fc.constant(MessageType.OfferMaster), term: arbU32 }),
  [MessageType.OtherMasterExists]: fc.record({
    type: fc.constant(MessageType.OtherMasterExists),
    target: arbU32,
    memberCount: arbU16,
    term: arbU32,
  }),
  [MessageType.MasterAnnounce]: fc.record({
    type: fc.constant(MessageType.MasterAnnounce),
    memberCount: arbU16,
    term: arbU32,
    configVersion: arbU32,
  }),
  [MessageType.MasterKeepalive]: fc.record({
    type: fc.constant(MessageType.MasterKeepalive),
    term: arbU32,
    n: arbN,
    members: arbMembers,
    tableDigest: arbTableDigest,
    maxEpoch: arbU32,
  }),
  [MessageType.ClientKeepalive]: fc.record({
    type: fc.constant(MessageType.ClientKeepalive),
    keepaliveSeq: arbU32,
    tableDigest: arbTableDigest,
    configVersion: arbU32,
  }),
  [MessageType.ExitCluster]: fc.record({ type: fc.constant(MessageType.ExitCluster), target: arbU32, reason: arbExitReason }),
  [MessageType.WorkAssign]: fc
    .tuple(arbU32, arbMarkedEntries)
    .map(([owner, marked]) => ({ type: MessageType.WorkAssign, owner, ...marked })),
  [MessageType.WorkDeassign]: fc.record({ type: fc.constant(MessageType.WorkDeassign), owner: arbU32, entries: arbUnitEpochs }),
  [MessageType.WorkAck]: fc
    .tuple(arbAckKind, arbMarkedEntries)
    .map(([kind, marked]) => ({ type: MessageType.WorkAck, kind, ...marked })),
  [MessageType.TableRequest]: fc.record({ type: fc.constant(MessageType.TableRequest) }),
  [MessageType.TableSnapshot]: fc.record({
    type: fc.constant(MessageType.TableSnapshot),
    target: arbU32,
    entries: fc.uniqueArray(arbMemberId, { maxLength: 12 }).chain(arbTableEntries),
  }),
  [MessageType.KeyUpdate]: fc.record({
    type: fc.constant(MessageType.KeyUpdate),
    target: arbU32,
    keyEpoch: arbU32,
    wrappedKey: arbWrappedKey,
  }),
  [MessageType.StateSync]: fc.record({
    type: fc.constant(MessageType.StateSync),
    app: arbU8,
    unit: arbUnit,
    syncSeq: arbU32,
    payload: fc.uint8Array({ maxLength: 200 }),
  }),
  [MessageType.StateAck]: fc.record({ type: fc.constant(MessageType.StateAck), app: arbU8, unit: arbUnit, syncSeq: arbU32 }),
  [MessageType.ForwardedPacket]: fc.record({
    type: fc.constant(MessageType.ForwardedPacket),
    unit: arbUnit,
    side: fc.constantFrom(ForwardSide.Outer, ForwardSide.Inner),
    packet: fc.uint8Array({ maxLength: 200 }),
  }),
  [MessageType.ConfigVersionExit]: fc.record({
    type: fc.constant(MessageType.ConfigVersionExit),
    target: arbU32,
    configVersion: arbU32,
    memberConfigVersion: arbU32,
  }),
};

/** The arbitrary for one type, widened to the union (the table is keyed by type, so this is sound). */
export function arbMessageOfType(type: MessageType): fc.Arbitrary<ControlMessage> {
  return messageArbitraries[type];
}

export const arbControlMessage: fc.Arbitrary<ControlMessage> = fc.oneof(...ALL_MESSAGE_TYPES.map(arbMessageOfType));

// ---- header and trailers ----

export function arbHeader(type: MessageType): fc.Arbitrary<Header> {
  return fc.record({
    type: fc.constant(type),
    clusterId: arbU32,
    sender: arbU32,
    incarnation: fc.maxSafeNat(),
    seq: arbU32,
    epoch: arbU32,
  });
}

export const arbMacTrailer: fc.Arbitrary<MacTrailer> = fc.record({
  kind: fc.constant('mac' as const),
  mac: fc.uint8Array({ minLength: MAC_LENGTH, maxLength: MAC_LENGTH }),
});

export const arbSignedTrailer: fc.Arbitrary<SignedTrailer> = fc.record({
  kind: fc.constant('signed' as const),
  chain: fc.array(fc.uint8Array({ minLength: 1, maxLength: 48 }), { minLength: 1, maxLength: 4 }),
  signedAt: fc.maxSafeNat(),
  signature: fc.uint8Array({ minLength: 1, maxLength: 72 }),
});

/** A complete frame before encoding; the trailer kind always matches AUTH_OF_TYPE. */
export interface FrameParts {
  header: Header;
  message: ControlMessage;
  trailer: Trailer;
}

export function arbFramePartsFor(message: fc.Arbitrary<ControlMessage>): fc.Arbitrary<FrameParts> {
  return message.chain((m) =>
    fc.record({
      header: arbHeader(m.type),
      message: fc.constant(m),
      trailer: AUTH_OF_TYPE[m.type] === 'mac' ? arbMacTrailer : arbSignedTrailer,
    }),
  );
}

export const arbFrameParts: fc.Arbitrary<FrameParts> = arbFramePartsFor(arbControlMessage);

/** Frame parts together with their wire bytes. */
export const arbEncodedFrame: fc.Arbitrary<{ parts: FrameParts; bytes: Uint8Array }> = arbFrameParts.map((parts) => ({
  parts,
  bytes: encodeFrameParts(parts),
}));

/** Encodes through the public API exactly as a sender would (the MAC / signature bytes are taken as given). */
export function encodeFrameParts(p: FrameParts): Uint8Array {
  const headerAndBody = encodeHeaderAndBody(p.header, p.message);
  if (p.trailer.kind === 'mac') return encodeMacFrame(headerAndBody, p.trailer.mac);
  return encodeSignedFrame(encodeSignedPart(headerAndBody, p.trailer.chain, p.trailer.signedAt), p.trailer.signature);
}

// ---- hand-built frames, for inputs the encoder refuses to produce ----

export interface RawHeader {
  magic: number;
  version: number;
  type: number;
  clusterId: number;
  sender: number;
  incarnation: number;
  seq: number;
  epoch: number;
}

export const RAW_HEADER_DEFAULTS: RawHeader = {
  magic: 0x5348,
  version: 1,
  type: MessageType.TableRequest,
  clusterId: 42,
  sender: 0x0a000001,
  incarnation: 1_700_000_000_000,
  seq: 1,
  epoch: 1,
};

/**
 * A frame built field by field with no validation: `body(w)` writes the body,
 * and `trailer(w)` the trailer, by default a zero MAC or a minimal signed
 * trailer, whichever the type calls for (an unknown type gets a MAC).
 */
export function rawFrame(
  header: Partial<RawHeader>,
  body: (w: ByteWriter) => void = () => {},
  trailer?: (w: ByteWriter) => void,
): Uint8Array {
  const h = { ...RAW_HEADER_DEFAULTS, ...header };
  const w = new ByteWriter();
  w.u16(h.magic).u8(h.version).u8(h.type).u32(h.clusterId).u32(h.sender).u64(h.incarnation).u32(h.seq).u32(h.epoch);
  const lengthAt = w.length;
  w.u16(0);
  body(w);
  w.patchU16(lengthAt, w.length - lengthAt - 2);
  (trailer ?? defaultTrailer(h.type))(w);
  return w.finish();
}

function defaultTrailer(type: number): (w: ByteWriter) => void {
  const authOf: Partial<Record<number, AuthKind>> = AUTH_OF_TYPE;
  if ((authOf[type] ?? 'mac') === 'mac') return (w) => w.bytes(new Uint8Array(MAC_LENGTH));
  return (w) => w.u8(1).bytes16(Uint8Array.of(0x30)).u64(1_700_000_000_000).bytes16(Uint8Array.of(0x5a));
}
