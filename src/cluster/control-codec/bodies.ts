/** One body codec per message type, looked up by the header's type. */
import type { ByteReader } from '../../wire/byte-reader.js';
import type { ByteWriter } from '../../wire/byte-writer.js';
import { MessageType, type ControlMessage } from '../messages.js';
import {
  clientKeepalive,
  configVersionExit,
  exitCluster,
  joinNak,
  joinRequest,
  masterAnnounce,
  masterKeepalive,
  offerMaster,
  okToJoin,
  otherMasterExists,
} from './bodies-membership.js';
import {
  forwardedPacket,
  keyUpdate,
  stateAck,
  stateSync,
  tableRequest,
  workAck,
  workAssign,
  workDeassign,
} from './bodies-work.js';
import type { BodyCodec } from './fields.js';
import { tableSnapshot } from './table-snapshot.js';

type MessageOf<T extends MessageType> = Extract<ControlMessage, { type: T }>;

/** Exhaustive: adding a MessageType without a codec fails to compile. */
const BODY_CODECS: { readonly [T in MessageType]: BodyCodec<MessageOf<T>> } = {
  [MessageType.JoinRequest]: joinRequest,
  [MessageType.JoinNak]: joinNak,
  [MessageType.OkToJoin]: okToJoin,
  [MessageType.OfferMaster]: offerMaster,
  [MessageType.OtherMasterExists]: otherMasterExists,
  [MessageType.MasterAnnounce]: masterAnnounce,
  [MessageType.MasterKeepalive]: masterKeepalive,
  [MessageType.ClientKeepalive]: clientKeepalive,
  [MessageType.ExitCluster]: exitCluster,
  [MessageType.WorkAssign]: workAssign,
  [MessageType.WorkDeassign]: workDeassign,
  [MessageType.WorkAck]: workAck,
  [MessageType.TableRequest]: tableRequest,
  [MessageType.TableSnapshot]: tableSnapshot,
  [MessageType.KeyUpdate]: keyUpdate,
  [MessageType.StateSync]: stateSync,
  [MessageType.StateAck]: stateAck,
  [MessageType.ForwardedPacket]: forwardedPacket,
  [MessageType.ConfigVersionExit]: configVersionExit,
};

/**
 * The codec for one type, widened to the whole union. Sound because the
 * table is keyed by type: encodeBody only passes a message of that type, and
 * every decoder returns a message of its own type.
 */
function codecOf(type: MessageType): BodyCodec<ControlMessage> {
  return BODY_CODECS[type];
}

export function writeBody(w: ByteWriter, m: ControlMessage): void {
  codecOf(m.type).encode(w, m);
}

export function readBody(type: MessageType, r: ByteReader): ControlMessage {
  return codecOf(type).decode(r);
}
