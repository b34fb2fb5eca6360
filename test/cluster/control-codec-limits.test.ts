import { describe, expect, it } from 'vitest';
import {
  encodeHeaderAndBody,
  encodeMacFrame,
  encodeSignedFrame,
  encodeSignedPart,
  MAX_FRAME_LENGTH,
} from '../../src/cluster/control-codec.js';
import {
  AckKind,
  ForwardSide,
  MAC_LENGTH,
  MessageType,
  UnitState,
  type ControlMessage,
  type Header,
  type TableEntry,
} from '../../src/cluster/messages.js';
import { UNIT_COUNT } from '../../src/cluster/types.js';

const header = (type: Header['type'], over: Partial<Header> = {}): Header => ({
  type,
  clusterId: 1,
  sender: 2,
  incarnation: 3,
  seq: 4,
  epoch: 5,
  ...over,
});

function encode(message: ControlMessage, over: Partial<Header> = {}): Uint8Array {
  return encodeHeaderAndBody(header(message.type, over), message);
}

const nonce = new Uint8Array(16);
const digest = new Uint8Array(8);
const tableRequest = encode({ type: MessageType.TableRequest });
const offerMaster = encode({ type: MessageType.OfferMaster, term: 1 });

describe('encoders refuse what the layout cannot carry (RangeError)', () => {
  it('a header type that differs from the message type', () => {
    expect(() => encodeHeaderAndBody(header(MessageType.OfferMaster), { type: MessageType.TableRequest })).toThrow(RangeError);
  });

  it('header integers out of range', () => {
    const m: ControlMessage = { type: MessageType.TableRequest };
    expect(() => encode(m, { seq: 2 ** 32 })).toThrow(RangeError);
    expect(() => encode(m, { clusterId: -1 })).toThrow(RangeError);
    expect(() => encode(m, { epoch: 1.5 })).toThrow(RangeError);
    expect(() => encode(m, { incarnation: Number.MAX_SAFE_INTEGER + 1 })).toThrow(RangeError);
    expect(() => encode(m, { incarnation: Number.MAX_SAFE_INTEGER })).not.toThrow();
  });

  it('body values outside their field or their rules', () => {
    const bad: ControlMessage[] = [
      { type: MessageType.JoinRequest, configVersion: 1, nonce: new Uint8Array(15), served: [], maxEpoch: 0 },
      { type: MessageType.JoinRequest, configVersion: 1, nonce, served: [{ unit: UNIT_COUNT, epoch: 1 }], maxEpoch: 0 },
      { type: MessageType.JoinNak, target: 1, nonce, reason: 9 as never, detail: '', configVersion: 1 },
      { type: MessageType.JoinNak, target: 1, nonce, reason: 1, detail: 'lone \uD800 surrogate', configVersion: 1 },
      { type: MessageType.JoinNak, target: 1, nonce, reason: 1, detail: 'x'.repeat(0x10000), configVersion: 1 },
      { type: MessageType.JoinNak, target: 1, nonce, reason: 5, detail: '', configVersion: 2 ** 32 },
      { type: MessageType.OkToJoin, target: 1, nonce, term: 1, keyEpoch: 1, wrappedKey: digest, members: [], keep: [], n: 1 },
      { type: MessageType.OkToJoin, target: 1, nonce, term: 1, keyEpoch: 1, wrappedKey: digest, members: [], keep: [], n: 21 },
      { type: MessageType.MasterKeepalive, term: 1, n: 3, members: [], tableDigest: new Uint8Array(9), maxEpoch: 0 },
      { type: MessageType.MasterKeepalive, term: 1, n: 0, members: [], tableDigest: digest, maxEpoch: 0 },
      { type: MessageType.MasterKeepalive, term: 1, n: 3, members: [2 ** 32], tableDigest: digest, maxEpoch: 0 },
      { type: MessageType.ClientKeepalive, keepaliveSeq: 1, tableDigest: new Uint8Array(7), configVersion: 1 },
      { type: MessageType.ClientKeepalive, keepaliveSeq: 1, tableDigest: digest, configVersion: -1 },
      { type: MessageType.MasterAnnounce, memberCount: 1, term: 1, configVersion: 1.5 },
      { type: MessageType.ConfigVersionExit, target: 1, configVersion: 2 ** 32, memberConfigVersion: 1 },
      { type: MessageType.ConfigVersionExit, target: 1, configVersion: 1, memberConfigVersion: -1 },
      { type: MessageType.OtherMasterExists, target: 1, memberCount: 0x10000, term: 1 },
      { type: MessageType.ExitCluster, target: 0, reason: 0 as never },
      { type: MessageType.WorkAck, kind: 3 as never, entries: [], markers: [] },
      { type: MessageType.WorkAssign, owner: 1, entries: [{ unit: -1, epoch: 1 }], markers: [0] },
      { type: MessageType.WorkAssign, owner: 1, entries: [{ unit: 1, epoch: 1 }], markers: [] },
      { type: MessageType.WorkAck, kind: AckKind.Deassign, entries: [], markers: [7] },
      { type: MessageType.WorkAck, kind: AckKind.Deassign, entries: [{ unit: 1, epoch: 1 }], markers: [2 ** 32] },
      { type: MessageType.WorkAck, kind: AckKind.Deassign, entries: [{ unit: 1, epoch: 1 }], markers: [-1] },
      { type: MessageType.StateSync, app: 256, unit: 0, syncSeq: 0, payload: new Uint8Array(0) },
      { type: MessageType.StateSync, app: 1, unit: 0, syncSeq: 0, payload: new Uint8Array(60001) },
      { type: MessageType.StateAck, app: 1, unit: 1024, syncSeq: 0 },
      { type: MessageType.ForwardedPacket, unit: 0, side: ForwardSide.Outer, packet: new Uint8Array(MAX_FRAME_LENGTH) },
      { type: MessageType.ForwardedPacket, unit: 0, side: 2 as ForwardSide, packet: new Uint8Array(1) },
    ];
    for (const m of bad) expect(() => encode(m), JSON.stringify({ type: m.type })).toThrow(RangeError);
  });

  it('a TableSnapshot that is not UNIT_COUNT entries, has a bad state, or more than 255 owners', () => {
    const entries = (owner: (unit: number) => number, state: UnitState = UnitState.Owned): TableEntry[] =>
      Array.from({ length: UNIT_COUNT }, (_, unit) => ({ owner: owner(unit), epoch: 1, state }));
    const snap = (e: TableEntry[]): ControlMessage => ({ type: MessageType.TableSnapshot, target: 1, entries: e });
    expect(() => encode(snap(entries(() => 1).slice(1)))).toThrow(RangeError);
    expect(() => encode(snap(entries(() => 1, 7 as UnitState)))).toThrow(RangeError);
    expect(() => encode(snap(entries((u) => 1 + (u % 256))))).toThrow(RangeError);
    expect(() => encode(snap(entries((u) => 1 + (u % 255))))).not.toThrow();
  });

  it('a whole frame over MAX_FRAME_LENGTH', () => {
    const big = (packetLength: number): ControlMessage => ({
      type: MessageType.ForwardedPacket,
      unit: 0,
      side: ForwardSide.Outer,
      packet: new Uint8Array(packetLength),
    });
    // header 28 + bodyLength 2 + unit 2 + side 1 + packet length 2 + packet + MAC 16 = 65000 exactly.
    const fits = MAX_FRAME_LENGTH - 28 - 2 - 2 - 1 - 2 - MAC_LENGTH;
    const frame = encodeMacFrame(encode(big(fits)), new Uint8Array(MAC_LENGTH));
    expect(frame.length).toBe(MAX_FRAME_LENGTH);
    expect(() => encode(big(fits + 1))).toThrow(RangeError);
  });

  it('MAC frames: wrong MAC length, a signed type, or bytes that are not header + body', () => {
    expect(() => encodeMacFrame(tableRequest, new Uint8Array(MAC_LENGTH - 1))).toThrow(RangeError);
    expect(() => encodeMacFrame(offerMaster, new Uint8Array(MAC_LENGTH))).toThrow(RangeError);
    expect(() => encodeMacFrame(tableRequest.subarray(0, 20), new Uint8Array(MAC_LENGTH))).toThrow(RangeError);
    expect(() => encodeMacFrame(Uint8Array.of(...tableRequest, 0), new Uint8Array(MAC_LENGTH))).toThrow(RangeError);
  });

  it('signed frames: chain of 0 or 5, an empty certificate or signature, a bad signedAt, a MAC type', () => {
    const cert = Uint8Array.of(0x30);
    expect(() => encodeSignedPart(offerMaster, [], 1)).toThrow(RangeError);
    expect(() => encodeSignedPart(offerMaster, [cert, cert, cert, cert, cert], 1)).toThrow(RangeError);
    expect(() => encodeSignedPart(offerMaster, [new Uint8Array(0)], 1)).toThrow(RangeError);
    expect(() => encodeSignedPart(offerMaster, [cert], -1)).toThrow(RangeError);
    expect(() => encodeSignedPart(offerMaster, [cert], 1.5)).toThrow(RangeError);
    expect(() => encodeSignedPart(tableRequest, [cert], 1)).toThrow(RangeError);
    const part = encodeSignedPart(offerMaster, [cert, cert, cert, cert], 1);
    expect(() => encodeSignedFrame(part, new Uint8Array(0))).toThrow(RangeError);
    expect(() => encodeSignedFrame(part, new Uint8Array(MAX_FRAME_LENGTH))).toThrow(RangeError);
    expect(() => encodeSignedFrame(encodeSignedPart(offerMaster, [cert], 1), Uint8Array.of(1))).not.toThrow();
  });
});
