/**
 * An IKE SA with its CHILD SAs as one replication record: the essential
 * state (Figure 7's split, for IPsec) another member needs to continue the
 * SA without a new IKE_SA_INIT and without a forced rekey.
 *
 *   essential (here): SPIs, negotiated transforms, the seven IKE keys, nonces,
 *     the peer's endpoint and NAT state, its identity, the virtual address,
 *     the message-ID window with the cached last response, and per CHILD SA:
 *     SPIs, transforms, ESN, keys, selectors, the outbound sequence number
 *     with its measured rate, and the inbound replay edge.
 *   calculable (not here): cipher objects, replay bitmaps (rebuilt as "all
 *     seen up to the edge"), counters, fragment buffers, SPI/VIP indexes.
 *
 * Times travel as ages (ms before the snapshot), never as clock readings:
 * members' clocks are not compared.
 */
import { ShoalError } from '../../../lib/errors.js';
import { ByteReader } from '../../../wire/byte-reader.js';
import { ByteWriter } from '../../../wire/byte-writer.js';
import { decodeSafely, DecodeError, type Decoded } from '../../../wire/decode-error.js';
import type { TrafficSelector } from '../../../wire/ike/ts.js';
import { encryptionTransform, integrityTransform, prfTransform, dhGroupInfo, protectionSuite } from '../crypto/transforms.js';
import type { IkeSuite, ProtectionSuite } from '../crypto/transforms.js';
import type { EspSaKeys, IkeSaKeys } from '../crypto/keys.js';

const FORMAT = 2;
const NONE = 0xffffffff;
/** Children, selectors per list, hashes and datagrams are counted in one byte each. */
export const MAX_RECORD_CHILDREN = 0xff;
const MAX_COUNT = 0xff;

/**
 * A snapshot with more entries than a record's count byte holds. The
 * responder's caps keep every SA below it; the encoder refuses rather than
 * write a count that wrapped (which decoded as a different, corrupt SA).
 */
export class SaRecordLimitError extends ShoalError {
  constructor(what: string, n: number) {
    super('SA_RECORD_LIMIT', `SA record: ${n} ${what}, at most ${MAX_COUNT}`);
  }
}

function count8(n: number, what: string): number {
  if (n > MAX_COUNT) throw new SaRecordLimitError(what, n);
  return n;
}

export interface ChildSnapshot {
  spiIn: number;
  spiOut: number;
  protection: ProtectionSuite;
  esn: boolean;
  /** PFS group negotiated for this child (0: none). */
  dhGroup: number;
  i2r: EspSaKeys;
  r2i: EspSaKeys;
  tsi: TrafficSelector[];
  tsr: TrafficSelector[];
  /** Last outbound sequence number sent when the snapshot was taken. */
  outSequence: number;
  /** Measured outbound packets per second (sizes the jump on takeover). */
  outRate: number;
  /** Highest inbound sequence number authenticated (the replay edge). */
  inHighest: number;
  ageMs: number;
}

export interface SaSnapshot {
  /** Half-open SAs travel too: a unit that moves between IKE_SA_INIT and IKE_AUTH must not strand the client. */
  halfOpen: boolean;
  /** Both AUTH payloads sign one of these (half-open only; empty once established). */
  initRequest: Uint8Array;
  initResponse: Uint8Array;
  /** The IKE_SA_INIT's initiator SPI and address, for retransmissions of it. */
  initKey: string;
  unit: number;
  spiI: Uint8Array;
  spiR: Uint8Array;
  suite: IkeSuite;
  keys: IkeSaKeys;
  nonceI: Uint8Array;
  nonceR: Uint8Array;
  peerIp: number;
  peerPort: number;
  localPort: number;
  natPeer: boolean;
  natSelf: boolean;
  fragmentation: boolean;
  peerSignatureHashes: number[];
  peerId: { idType: number; data: Uint8Array } | null;
  peerName: string;
  virtualAddress: number | null;
  nextRequestId: number;
  /** The ID of the next request we send ourselves. */
  ourNextId: number;
  lastResponse: { messageId: number; datagrams: Uint8Array[] } | null;
  ageMs: number;
  children: ChildSnapshot[];
}

function putProtection(w: ByteWriter, p: ProtectionSuite): void {
  w.u16(p.encryption.id).u16(p.encryption.keyBits ?? 0).u16(p.integrity?.id ?? 0);
}

function getProtection(r: ByteReader): ProtectionSuite {
  const id = r.u16('encryption id');
  const bits = r.u16('key bits');
  const integ = r.u16('integrity id');
  const enc = encryptionTransform(id, bits === 0 ? undefined : bits);
  if (!enc) throw new DecodeError('bad-value', `encryption ${id}/${bits}`);
  const integrity = integ === 0 ? null : integrityTransform(integ);
  if (integrity === undefined) throw new DecodeError('bad-value', `integrity ${integ}`);
  const p = protectionSuite(enc, integrity);
  if (!p.ok) throw new DecodeError('bad-value', p.error.message);
  return p.value;
}

function putEspKeys(w: ByteWriter, k: EspSaKeys): void {
  w.bytes16(k.encryptionKey).bytes16(k.salt).bytes16(k.integrityKey);
}

function getEspKeys(r: ByteReader): EspSaKeys {
  return { encryptionKey: r.bytes16('esp key').slice(), salt: r.bytes16('salt').slice(), integrityKey: r.bytes16('integrity key').slice() };
}

function putSelectors(w: ByteWriter, list: readonly TrafficSelector[]): void {
  const v4 = list.filter((t): t is Extract<TrafficSelector, { family: 'ipv4' }> => t.family === 'ipv4');
  w.u8(count8(v4.length, 'selectors'));
  for (const t of v4) w.u8(t.protocol).u16(t.startPort).u16(t.endPort).u32(t.start).u32(t.end);
}

function getSelectors(r: ByteReader): TrafficSelector[] {
  const n = r.u8('selector count');
  const out: TrafficSelector[] = [];
  for (let i = 0; i < n; i++) {
    out.push({ family: 'ipv4', protocol: r.u8('protocol'), startPort: r.u16('start port'), endPort: r.u16('end port'), start: r.u32('start'), end: r.u32('end') });
  }
  return out;
}

const u32 = (v: number): number => Math.max(0, Math.min(NONE - 1, Math.round(v)));

export function encodeSaSnapshot(s: SaSnapshot): Uint8Array {
  const w = new ByteWriter(1024);
  w.u8(FORMAT).u8(s.halfOpen ? 1 : 0).u16(s.unit).bytes(s.spiI).bytes(s.spiR);
  w.bytes16(s.halfOpen ? s.initRequest : new Uint8Array(0)).bytes16(s.halfOpen ? s.initResponse : new Uint8Array(0));
  w.bytes16(new Uint8Array(Buffer.from(s.initKey, 'utf8')));
  putProtection(w, s.suite);
  w.u16(s.suite.prf.id).u16(s.suite.dhGroup.group);
  const k = s.keys;
  for (const key of [k.skD, k.skAi, k.skAr, k.skEi, k.skEr, k.skPi, k.skPr]) w.bytes16(key);
  w.bytes16(s.nonceI).bytes16(s.nonceR);
  w.u32(s.peerIp >>> 0).u16(s.peerPort).u16(s.localPort);
  w.u8((s.natPeer ? 1 : 0) | (s.natSelf ? 2 : 0) | (s.fragmentation ? 4 : 0));
  w.u8(count8(s.peerSignatureHashes.length, 'hash algorithms'));
  for (const h of s.peerSignatureHashes) w.u16(h);
  w.u8(s.peerId?.idType ?? 0).bytes16(s.peerId?.data ?? new Uint8Array(0));
  w.bytes16(new Uint8Array(Buffer.from(s.peerName, 'utf8')));
  w.u32(s.virtualAddress === null ? 0 : s.virtualAddress >>> 0);
  w.u32(s.nextRequestId).u32(s.ourNextId);
  w.u32(s.lastResponse?.messageId ?? NONE);
  const datagrams = s.lastResponse?.datagrams ?? [];
  w.u8(count8(datagrams.length, 'datagrams'));
  for (const d of datagrams) w.bytes16(d);
  w.u32(u32(s.ageMs));
  w.u8(count8(s.children.length, 'CHILD SAs'));
  for (const c of s.children) {
    w.u32(c.spiIn >>> 0).u32(c.spiOut >>> 0);
    putProtection(w, c.protection);
    w.u8(c.esn ? 1 : 0).u16(c.dhGroup);
    putEspKeys(w, c.i2r);
    putEspKeys(w, c.r2i);
    putSelectors(w, c.tsi);
    putSelectors(w, c.tsr);
    w.u64(c.outSequence).u32(u32(c.outRate)).u64(c.inHighest).u32(u32(c.ageMs));
  }
  return w.finish();
}

export function decodeSaSnapshot(bytes: Uint8Array): Decoded<SaSnapshot> {
  return decodeSafely(() => {
    const r = new ByteReader(bytes);
    const format = r.u8('format');
    if (format !== FORMAT) throw new DecodeError('bad-value', `SA record format ${format}`);
    const halfOpen = r.u8('half-open') === 1;
    const unit = r.u16('unit');
    const spiI = r.bytes(8, 'spiI').slice();
    const spiR = r.bytes(8, 'spiR').slice();
    const initRequest = r.bytes16('init request').slice();
    const initResponse = r.bytes16('init response').slice();
    const initKey = Buffer.from(r.bytes16('init key')).toString('utf8');
    const protection = getProtection(r);
    const prf = prfTransform(r.u16('prf'));
    const group = dhGroupInfo(r.u16('dh group'));
    if (!prf || !group) throw new DecodeError('bad-value', 'IKE PRF or group');
    const suite = { ...protection, prf, dhGroup: group } as IkeSuite;
    const key = (): Uint8Array => r.bytes16('ike key').slice();
    const keys: IkeSaKeys = { skD: key(), skAi: key(), skAr: key(), skEi: key(), skEr: key(), skPi: key(), skPr: key() };
    const nonceI = r.bytes16('nonceI').slice();
    const nonceR = r.bytes16('nonceR').slice();
    const peerIp = r.u32('peer ip');
    const peerPort = r.u16('peer port');
    const localPort = r.u16('local port');
    const flags = r.u8('flags');
    const hashes: number[] = [];
    for (let n = r.u8('hash count'), i = 0; i < n; i++) hashes.push(r.u16('hash'));
    const idType = r.u8('id type');
    const idData = r.bytes16('id data').slice();
    const peerName = Buffer.from(r.bytes16('peer name')).toString('utf8');
    const vip = r.u32('virtual address');
    const nextRequestId = r.u32('next request id');
    const ourNextId = r.u32('our next id');
    const lastId = r.u32('last response id');
    const datagrams: Uint8Array[] = [];
    for (let n = r.u8('datagram count'), i = 0; i < n; i++) datagrams.push(r.bytes16('datagram').slice());
    const ageMs = r.u32('age');
    const children: ChildSnapshot[] = [];
    for (let n = r.u8('child count'), i = 0; i < n; i++) {
      const spiIn = r.u32('spiIn');
      const spiOut = r.u32('spiOut');
      const cp = getProtection(r);
      const esn = r.u8('esn') === 1;
      const dhGroup = r.u16('child group');
      const i2r = getEspKeys(r);
      const r2i = getEspKeys(r);
      const tsi = getSelectors(r);
      const tsr = getSelectors(r);
      const outSequence = r.u64('out sequence');
      const outRate = r.u32('out rate');
      const inHighest = r.u64('in highest');
      const childAge = r.u32('child age');
      children.push({ spiIn, spiOut, protection: cp, esn, dhGroup, i2r, r2i, tsi, tsr, outSequence, outRate, inHighest, ageMs: childAge });
    }
    if (r.remaining !== 0) throw new DecodeError('bad-length', `${r.remaining} bytes after the SA record`);
    return {
      halfOpen,
      initRequest,
      initResponse,
      initKey,
      unit,
      spiI,
      spiR,
      suite,
      keys,
      nonceI,
      nonceR,
      peerIp,
      peerPort,
      localPort,
      natPeer: (flags & 1) !== 0,
      natSelf: (flags & 2) !== 0,
      fragmentation: (flags & 4) !== 0,
      peerSignatureHashes: hashes,
      peerId: idType === 0 ? null : { idType, data: idData },
      peerName,
      virtualAddress: vip === 0 ? null : vip,
      nextRequestId,
      ourNextId,
      lastResponse: lastId === NONE ? null : { messageId: lastId, datagrams },
      ageMs,
      children,
    };
  });
}
