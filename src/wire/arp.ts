/**
 * ARP for IPv4 over Ethernet (RFC 826), the only combination the stack
 * speaks: ar$hrd = 1 (Ethernet), ar$pro = 0x0800 (IPv4), ar$hln = 6,
 * ar$pln = 4. Carried in an Ethernet frame of EtherType 0x0806.
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |   Hardware type (ar$hrd = 1)  | Protocol type (ar$pro=0x0800) |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   | ar$hln = 6    | ar$pln = 4    |     Opcode (ar$op) 1 | 2      |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |           Sender hardware address (ar$sha, 6 octets)          |
 *   +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                               | Sender protocol address       |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ (ar$spa, 4 octets)            +
 *   |                               | Target hardware address       |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ (ar$tha, 6 octets)            +
 *   |                                                               |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |           Target protocol address (ar$tpa, 4 octets)          |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Decode refuses other hardware/protocol types and other opcodes (RARP's 3
 * and 4, InARP's 8 and 9) as 'unknown-type', and address lengths other than
 * 6/4 as 'bad-length'. Bytes after the 28 are Ethernet padding and ignored.
 */
import type { Ipv4 } from '../lib/ipv4.js';
import { ByteReader } from './byte-reader.js';
import { ByteWriter } from './byte-writer.js';
import { DecodeError, decodeSafely, type Decoded } from './decode-error.js';
import { broadcastMac, encodeEthernet, ETHERTYPE, MAC_LENGTH, readMac, writeMac, zeroMac, type Mac } from './ethernet.js';

export const ARP_LENGTH = 28;
export const ARP_HRD_ETHERNET = 1;
export const ARP_OP = { REQUEST: 1, REPLY: 2 } as const;
export type ArpOp = (typeof ARP_OP)[keyof typeof ARP_OP];

const IPV4_LENGTH = 4;

export interface ArpPacket {
  op: ArpOp;
  senderMac: Mac;
  senderIp: Ipv4;
  /** Ignored in a request (RFC 826: "does not set ar$tha to anything in particular"); we send zeros. */
  targetMac: Mac;
  targetIp: Ipv4;
}

export function decodeArp(bytes: Uint8Array): Decoded<ArpPacket> {
  return decodeSafely(() => {
    const r = new ByteReader(bytes);
    const hrd = r.u16('ar$hrd');
    if (hrd !== ARP_HRD_ETHERNET) throw new DecodeError('unknown-type', `hardware type ${hrd}`);
    const pro = r.u16('ar$pro');
    if (pro !== ETHERTYPE.IPV4) throw new DecodeError('unknown-type', `protocol type 0x${pro.toString(16)}`);
    const hln = r.u8('ar$hln');
    const pln = r.u8('ar$pln');
    if (hln !== MAC_LENGTH || pln !== IPV4_LENGTH) {
      throw new DecodeError('bad-length', `address lengths ${hln}/${pln}, expected ${MAC_LENGTH}/${IPV4_LENGTH}`);
    }
    const op = r.u16('ar$op');
    if (op !== ARP_OP.REQUEST && op !== ARP_OP.REPLY) throw new DecodeError('unknown-type', `opcode ${op}`);
    return {
      op,
      senderMac: readMac(r, 'ar$sha'),
      senderIp: r.u32('ar$spa'),
      targetMac: readMac(r, 'ar$tha'),
      targetIp: r.u32('ar$tpa'),
    };
  });
}

function checkIp(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`${what}: ${v} is not an IPv4 address`);
  return v;
}

export function encodeArp(p: ArpPacket): Uint8Array {
  if (p.op !== ARP_OP.REQUEST && p.op !== ARP_OP.REPLY) throw new RangeError(`ARP opcode: ${String(p.op)}`);
  const w = new ByteWriter(ARP_LENGTH);
  w.u16(ARP_HRD_ETHERNET).u16(ETHERTYPE.IPV4).u8(MAC_LENGTH).u8(IPV4_LENGTH).u16(p.op);
  writeMac(w, p.senderMac, 'ar$sha');
  w.u32(checkIp(p.senderIp, 'ar$spa'));
  writeMac(w, p.targetMac, 'ar$tha');
  w.u32(checkIp(p.targetIp, 'ar$tpa'));
  return w.finish();
}

/** "Who has targetIp? Tell senderIp" (RFC 826), target hardware address zeroed. */
export function arpRequest(senderMac: Mac, senderIp: Ipv4, targetIp: Ipv4): ArpPacket {
  return { op: ARP_OP.REQUEST, senderMac, senderIp, targetMac: zeroMac(), targetIp };
}

/**
 * The reply to `request` when we own request.targetIp (RFC 826 "Packet
 * Reception": swap sender and target, put our MAC in as sender, op REPLY).
 * Send it unicast to request.senderMac.
 */
export function arpReply(request: ArpPacket, ourMac: Mac): ArpPacket {
  return {
    op: ARP_OP.REPLY,
    senderMac: ourMac,
    senderIp: request.targetIp,
    targetMac: request.senderMac,
    targetIp: request.senderIp,
  };
}

/**
 * Gratuitous ARP as an ARP Announcement (RFC 5227 §2.3): a *request* with
 * sender and target IP both our address and target MAC zero. A request, not
 * a reply, because every implementation processes broadcast requests (§3).
 * Used after a cluster address moves to this member.
 */
export function gratuitousArp(ourMac: Mac, ourIp: Ipv4): ArpPacket {
  return arpRequest(ourMac, ourIp, ourIp);
}

/** The announcement in a broadcast Ethernet frame, ready for the TAP device. */
export function gratuitousArpFrame(ourMac: Mac, ourIp: Ipv4): Uint8Array {
  return encodeEthernet({
    dst: broadcastMac(),
    src: ourMac,
    etherType: ETHERTYPE.ARP,
    payload: encodeArp(gratuitousArp(ourMac, ourIp)),
  });
}
