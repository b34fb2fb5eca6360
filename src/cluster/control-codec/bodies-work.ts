/**
 * Bodies of the work-distribution, key and replication messages. Same
 * conventions as bodies-membership.ts; TableSnapshot has its own module.
 */
import type { ByteReader } from '../../wire/byte-reader.js';
import { DecodeError } from '../../wire/decode-error.js';
import {
  AckKind,
  ForwardSide,
  MAC_LENGTH,
  MessageType,
  type ForwardedPacket,
  type KeyUpdate,
  type StateAck,
  type StateSync,
  type TableRequest,
  type WorkAck,
  type WorkAssign,
  type WorkDeassign,
} from '../messages.js';
import {
  getEnum,
  getParallelU32s,
  getUnit,
  getUnitEpochs,
  putBytes16,
  putEnum,
  putParallelU32s,
  putU32,
  putU8,
  putUnit,
  putUnitEpochs,
  type BodyCodec,
} from './fields.js';
import { BODY_LENGTH_FIELD, HEADER_LENGTH, MAX_FRAME_LENGTH, MAX_STATE_PAYLOAD } from './layout.js';

const ACK_KINDS: readonly AckKind[] = Object.values(AckKind);

/** owner u32 | entries list<UnitEpoch> | markers list<u32> (one per entry) */
export const workAssign: BodyCodec<WorkAssign> = {
  encode(w, m) {
    putU32(w, m.owner, 'owner');
    putUnitEpochs(w, m.entries, 'entries');
    putParallelU32s(w, m.markers, m.entries.length, 'markers');
  },
  decode(r) {
    const owner = r.u32('owner');
    const entries = getUnitEpochs(r, 'entries');
    return { type: MessageType.WorkAssign, owner, entries, markers: getParallelU32s(r, entries.length, 'markers') };
  },
};

/** owner u32 | entries list<UnitEpoch> */
export const workDeassign: BodyCodec<WorkDeassign> = {
  encode(w, m) {
    putU32(w, m.owner, 'owner');
    putUnitEpochs(w, m.entries, 'entries');
  },
  decode: (r) => ({ type: MessageType.WorkDeassign, owner: r.u32('owner'), entries: getUnitEpochs(r, 'entries') }),
};

/** kind u8 (AckKind) | entries list<UnitEpoch> | markers list<u32> (one per entry) */
export const workAck: BodyCodec<WorkAck> = {
  encode(w, m) {
    putEnum(w, m.kind, ACK_KINDS, 'ack kind');
    putUnitEpochs(w, m.entries, 'entries');
    putParallelU32s(w, m.markers, m.entries.length, 'markers');
  },
  decode(r) {
    const kind = getEnum(r, ACK_KINDS, 'ack kind');
    const entries = getUnitEpochs(r, 'entries');
    return { type: MessageType.WorkAck, kind, entries, markers: getParallelU32s(r, entries.length, 'markers') };
  },
};

/** (empty) */
export const tableRequest: BodyCodec<TableRequest> = {
  encode() {},
  decode: () => ({ type: MessageType.TableRequest }),
};

/** target u32 | keyEpoch u32 | wrappedKey bytes16 */
export const keyUpdate: BodyCodec<KeyUpdate> = {
  encode(w, m) {
    putU32(w, m.target, 'target');
    putU32(w, m.keyEpoch, 'keyEpoch');
    putBytes16(w, m.wrappedKey, 'wrappedKey');
  },
  decode: (r) => ({
    type: MessageType.KeyUpdate,
    target: r.u32('target'),
    keyEpoch: r.u32('keyEpoch'),
    wrappedKey: r.bytes16('wrappedKey'),
  }),
};

/** app u8 | unit u16 | syncSeq u32 | payload: u32 length (≤ 60000) + bytes */
export const stateSync: BodyCodec<StateSync> = {
  encode(w, m) {
    putU8(w, m.app, 'app');
    putUnit(w, m.unit, 'unit');
    putU32(w, m.syncSeq, 'syncSeq');
    if (m.payload.length > MAX_STATE_PAYLOAD) {
      throw new RangeError(`payload: ${m.payload.length} bytes exceeds ${MAX_STATE_PAYLOAD}`);
    }
    w.u32(m.payload.length).bytes(m.payload);
  },
  decode: (r) => ({
    type: MessageType.StateSync,
    app: r.u8('app'),
    unit: getUnit(r, 'unit'),
    syncSeq: r.u32('syncSeq'),
    payload: readStatePayload(r),
  }),
};

function readStatePayload(r: ByteReader): Uint8Array {
  const length = r.u32('payload length');
  if (length > MAX_STATE_PAYLOAD) throw new DecodeError('bad-length', `payload: ${length} bytes exceeds ${MAX_STATE_PAYLOAD}`);
  return r.bytes(length, 'payload');
}

/** app u8 | unit u16 | syncSeq u32 */
export const stateAck: BodyCodec<StateAck> = {
  encode(w, m) {
    putU8(w, m.app, 'app');
    putUnit(w, m.unit, 'unit');
    putU32(w, m.syncSeq, 'syncSeq');
  },
  decode: (r) => ({ type: MessageType.StateAck, app: r.u8('app'), unit: getUnit(r, 'unit'), syncSeq: r.u32('syncSeq') }),
};

const FORWARD_SIDES: readonly ForwardSide[] = [ForwardSide.Outer, ForwardSide.Inner];
/** unit, side and the packet's length field. */
const FORWARDED_PACKET_FIELDS = 2 + 1 + 2;
/**
 * The largest packet one ForwardedPacket frame carries (64,949 bytes): a
 * reassembled datagram can be larger (up to 65,535), so the master splits
 * such a packet before it asks for a frame (src/stack/forward-split.ts).
 */
export const MAX_FORWARDED_PACKET = MAX_FRAME_LENGTH - HEADER_LENGTH - BODY_LENGTH_FIELD - FORWARDED_PACKET_FIELDS - MAC_LENGTH;

/** unit u16 | side u8 | packet bytes16 */
export const forwardedPacket: BodyCodec<ForwardedPacket> = {
  encode(w, m) {
    putUnit(w, m.unit, 'unit');
    if (!FORWARD_SIDES.includes(m.side)) throw new RangeError(`side: ${m.side} is not a side`);
    putU8(w, m.side, 'side');
    putBytes16(w, m.packet, 'packet');
  },
  decode: (r) => ({ type: MessageType.ForwardedPacket, unit: getUnit(r, 'unit'), side: getEnum(r, FORWARD_SIDES, 'side'), packet: r.bytes16('packet') }),
};
