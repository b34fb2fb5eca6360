/**
 * Packet builders for tests and benches: an IPv4 header (with checksum) and
 * the transport / tunnel payloads the filter looks at. Written with plain
 * byte writes, independently of src/, so tests do not check the filter
 * against itself.
 */

export const PROTO = { ICMP: 1, TCP: 6, UDP: 17, GRE: 47, ESP: 50 } as const;

export function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const part of parts) n += part.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function put16(b: Uint8Array, at: number, v: number): void {
  b[at] = (v >>> 8) & 0xff;
  b[at + 1] = v & 0xff;
}

function put32(b: Uint8Array, at: number, v: number): void {
  put16(b, at, (v >>> 16) & 0xffff);
  put16(b, at + 2, v & 0xffff);
}

/** RFC 1071 Internet checksum of b. */
export function inetChecksum(b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < b.length; i += 2) sum += ((b[i] ?? 0) << 8) | (b[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export interface Ipv4Spec {
  src: number;
  dst: number;
  protocol: number;
  payload: Uint8Array;
  ttl?: number;
  id?: number;
  /** Fragment offset in 8-byte units. */
  fragmentOffset?: number;
  moreFragments?: boolean;
  dontFragment?: boolean;
  /** Option bytes (padded to a multiple of 4 by the caller). */
  options?: Uint8Array;
}

/** An IPv4 datagram: header (IHL from options, checksum filled in) + payload. */
export function ipv4(spec: Ipv4Spec): Uint8Array {
  const options = spec.options ?? new Uint8Array(0);
  if (options.length % 4 !== 0) throw new Error('IPv4 options must be a multiple of 4 bytes');
  const hl = 20 + options.length;
  const b = new Uint8Array(hl + spec.payload.length);
  b[0] = 0x40 | (hl >>> 2);
  put16(b, 2, b.length);
  put16(b, 4, spec.id ?? 0);
  put16(b, 6, (spec.dontFragment ? 0x4000 : 0) | (spec.moreFragments ? 0x2000 : 0) | ((spec.fragmentOffset ?? 0) & 0x1fff));
  b[8] = spec.ttl ?? 64;
  b[9] = spec.protocol;
  put32(b, 12, spec.src);
  put32(b, 16, spec.dst);
  b.set(options, 20);
  put16(b, 10, inetChecksum(b.subarray(0, hl)));
  b.set(spec.payload, hl);
  return b;
}

/** UDP header + payload; checksum 0 ("none", allowed over IPv4). */
export function udp(srcPort: number, dstPort: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const b = new Uint8Array(8 + payload.length);
  put16(b, 0, srcPort);
  put16(b, 2, dstPort);
  put16(b, 4, b.length);
  b.set(payload, 8);
  return b;
}

/** A 20-byte TCP header (flags default SYN) + payload; checksum left 0. */
export function tcp(srcPort: number, dstPort: number, payload: Uint8Array = new Uint8Array(0), flags = 0x02): Uint8Array {
  const b = new Uint8Array(20 + payload.length);
  put16(b, 0, srcPort);
  put16(b, 2, dstPort);
  put32(b, 4, 1);
  b[12] = 5 << 4;
  b[13] = flags;
  put16(b, 14, 65535);
  b.set(payload, 20);
  return b;
}

/** ICMP echo request with its checksum. */
export function icmpEcho(id: number, seq: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const b = new Uint8Array(8 + payload.length);
  b[0] = 8;
  put16(b, 4, id);
  put16(b, 6, seq);
  b.set(payload, 8);
  put16(b, 2, inetChecksum(b));
  return b;
}

/** ESP: SPI, sequence number, then opaque (encrypted) bytes. */
export function esp(spi: number, seq: number, payload: Uint8Array = new Uint8Array(16)): Uint8Array {
  const b = new Uint8Array(8 + payload.length);
  put32(b, 0, spi);
  put32(b, 4, seq);
  b.set(payload, 8);
  return b;
}

export interface IkeSpec {
  initiatorSpi: Uint8Array;
  /** All-zero in an IKE_SA_INIT request. */
  responderSpi?: Uint8Array;
  exchange?: number;
  /** Initiator flag by default. */
  flags?: number;
  messageId?: number;
  nextPayload?: number;
  body?: Uint8Array;
}

export const IKE_SA_INIT = 34;
export const IKE_AUTH = 35;

/** IKEv2 header (28 bytes) + body; Length covers both. */
export function ike(spec: IkeSpec): Uint8Array {
  const body = spec.body ?? new Uint8Array(0);
  const b = new Uint8Array(28 + body.length);
  b.set(spec.initiatorSpi.subarray(0, 8), 0);
  if (spec.responderSpi) b.set(spec.responderSpi.subarray(0, 8), 8);
  b[16] = spec.nextPayload ?? 33;
  b[17] = 0x20;
  b[18] = spec.exchange ?? IKE_SA_INIT;
  b[19] = spec.flags ?? 0x08;
  put32(b, 20, spec.messageId ?? 0);
  put32(b, 24, b.length);
  b.set(body, 28);
  return b;
}

/** IKE on UDP 4500: the four-byte non-ESP marker, then the IKE message. */
export function nonEsp(ikeMessage: Uint8Array): Uint8Array {
  return concat(new Uint8Array(4), ikeMessage);
}

/** NAT-keepalive (RFC 3948 §2.3): a single 0xFF byte. */
export function natKeepalive(): Uint8Array {
  return Uint8Array.of(0xff);
}

export interface L2tpSpec {
  tunnelId: number;
  sessionId: number;
  control?: boolean;
  /** L bit: include the Length field (mandatory on control messages). */
  withLength?: boolean;
  /** S bit with these Ns/Nr. */
  sequence?: { ns: number; nr: number };
  /** O bit with an offset size (and that many pad bytes). */
  offsetSize?: number;
  version?: number;
  payload?: Uint8Array;
}

/** L2TPv2 header (RFC 2661 §3.1) + payload. */
export function l2tp(spec: L2tpSpec): Uint8Array {
  const control = spec.control ?? false;
  const withLength = spec.withLength ?? control;
  const seq = spec.sequence ?? (control ? { ns: 0, nr: 0 } : undefined);
  const payload = spec.payload ?? new Uint8Array(0);
  const offsetSize = spec.offsetSize;
  const hl = 2 + (withLength ? 2 : 0) + 4 + (seq ? 4 : 0) + (offsetSize !== undefined ? 2 + offsetSize : 0);
  const b = new Uint8Array(hl + payload.length);
  const flags =
    (control ? 0x8000 : 0) |
    (withLength ? 0x4000 : 0) |
    (seq ? 0x0800 : 0) |
    (offsetSize !== undefined ? 0x0200 : 0) |
    ((spec.version ?? 2) & 0x0f);
  put16(b, 0, flags);
  let at = 2;
  if (withLength) {
    put16(b, at, b.length);
    at += 2;
  }
  put16(b, at, spec.tunnelId);
  put16(b, at + 2, spec.sessionId);
  at += 4;
  if (seq) {
    put16(b, at, seq.ns);
    put16(b, at + 2, seq.nr);
    at += 4;
  }
  if (offsetSize !== undefined) {
    put16(b, at, offsetSize);
    at += 2 + offsetSize;
  }
  b.set(payload, at);
  return b;
}

export interface GreV1Spec {
  callId: number;
  sequence?: number;
  ack?: number;
  payload?: Uint8Array;
  /** Override the flags/version word (for malformed cases). */
  flagsWord?: number;
  protocolType?: number;
}

/** Enhanced GRE v1 (RFC 2637 §4.1) carrying PPP. */
export function greV1(spec: GreV1Spec): Uint8Array {
  const payload = spec.payload ?? new Uint8Array(0);
  const hasSeq = spec.sequence !== undefined;
  const hasAck = spec.ack !== undefined;
  const b = new Uint8Array(8 + (hasSeq ? 4 : 0) + (hasAck ? 4 : 0) + payload.length);
  put16(b, 0, spec.flagsWord ?? (0x2000 | (hasSeq ? 0x1000 : 0) | (hasAck ? 0x0080 : 0) | 1));
  put16(b, 2, spec.protocolType ?? 0x880b);
  put16(b, 4, payload.length);
  put16(b, 6, spec.callId);
  let at = 8;
  if (spec.sequence !== undefined) {
    put32(b, at, spec.sequence);
    at += 4;
  }
  if (spec.ack !== undefined) {
    put32(b, at, spec.ack);
    at += 4;
  }
  b.set(payload, at);
  return b;
}

/** Plain GRE v0 (RFC 2784) header, no optional fields. */
export function greV0(protocolType = 0x0800, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const b = new Uint8Array(4 + payload.length);
  put16(b, 2, protocolType);
  b.set(payload, 4);
  return b;
}

/** Convenience: a UDP datagram inside IPv4. */
export function udpPacket(src: number, dst: number, sport: number, dport: number, payload?: Uint8Array): Uint8Array {
  return ipv4({ src, dst, protocol: PROTO.UDP, payload: udp(sport, dport, payload) });
}

/** Pads payload bytes so the whole IPv4 datagram is `total` bytes (for the benches' 64/1400 mix). */
export function padTo(total: number, headerBytes: number): Uint8Array {
  return new Uint8Array(Math.max(0, total - headerBytes));
}
