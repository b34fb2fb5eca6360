/**
 * A reader for libpcap capture files (what `tcpdump -w` writes), and the
 * UDP-over-IPv4-over-Ethernet frames in them decoded with the project's own
 * codecs (src/wire).
 *
 *   file = global header (24 bytes) + records
 *   global header: magic u32 · version major u16 · minor u16 · thiszone i32 · sigfigs u32 · snaplen u32 · linktype u32
 *   record:        ts_sec u32 · ts_usec (or ts_nsec) u32 · incl_len u32 · orig_len u32 · incl_len bytes
 *
 * The magic says the byte order the writer used (0xa1b2c3d4 read back as
 * 0xd4c3b2a1 means little-endian) and the time resolution (0xa1b23c4d:
 * nanoseconds). Offsets are read with ByteReader (big-endian) and swapped.
 */
import { formatIpv4 } from '../../src/lib/ipv4.js';
import { ByteReader } from '../../src/wire/byte-reader.js';
import { decodeEthernet, ETHERTYPE, formatMac } from '../../src/wire/ethernet.js';
import { decodeIpv4, IP_PROTOCOL, isFragment } from '../../src/wire/ipv4.js';
import { decodeUdp } from '../../src/wire/udp.js';

export const PCAP_MAGIC_MICROS = 0xa1b2c3d4;
export const PCAP_MAGIC_NANOS = 0xa1b23c4d;
export const LINKTYPE_ETHERNET = 1;

export interface PcapRecord {
  /** Capture time, ms since the Unix epoch. */
  timeMs: number;
  /** The frame's length on the wire (data may be shorter: the snap length). */
  originalLength: number;
  data: Uint8Array;
}

export interface PcapFile {
  littleEndian: boolean;
  nanoseconds: boolean;
  version: string;
  snapLength: number;
  linkType: number;
  records: PcapRecord[];
  /** Bytes after the last whole record (a capture cut off mid-record). */
  trailingBytes: number;
}

const swap32 = (v: number): number => (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
const swap16 = (v: number): number => ((v & 0xff) << 8) | (v >>> 8);

export function readPcap(bytes: Uint8Array): PcapFile {
  const r = new ByteReader(bytes);
  const raw = r.u32('pcap magic');
  const magic = [PCAP_MAGIC_MICROS, PCAP_MAGIC_NANOS].includes(raw) ? raw : swap32(raw);
  if (magic !== PCAP_MAGIC_MICROS && magic !== PCAP_MAGIC_NANOS) throw new Error(`not a pcap file (magic 0x${raw.toString(16)})`);
  const littleEndian = magic !== raw;
  const u32 = (what: string): number => (littleEndian ? swap32(r.u32(what)) : r.u32(what));
  const u16 = (what: string): number => (littleEndian ? swap16(r.u16(what)) : r.u16(what));
  const version = `${u16('version major')}.${u16('version minor')}`;
  u32('thiszone');
  u32('sigfigs');
  const snapLength = u32('snaplen');
  const linkType = u32('linktype') & 0x0fffffff; // the top bits may carry FCS information
  const nanoseconds = magic === PCAP_MAGIC_NANOS;
  const records: PcapRecord[] = [];
  while (r.remaining >= 16) {
    const start = r.offset;
    const sec = u32('ts_sec');
    const frac = u32('ts_frac');
    const included = u32('incl_len');
    const originalLength = u32('orig_len');
    if (r.remaining < included) {
      // A capture stopped mid-record: report what is left rather than a half frame.
      return { littleEndian, nanoseconds, version, snapLength, linkType, records, trailingBytes: bytes.length - start };
    }
    records.push({ timeMs: sec * 1000 + (nanoseconds ? frac / 1e6 : frac / 1e3), originalLength, data: r.bytes(included, 'packet data') });
  }
  return { littleEndian, nanoseconds, version, snapLength, linkType, records, trailingBytes: r.remaining };
}

/** A UDP datagram seen on the wire, with the Ethernet addresses it travelled between. */
export interface CapturedUdp {
  timeMs: number;
  srcMac: string;
  dstMac: string;
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  payload: Uint8Array;
  /**
   * False when the UDP checksum did not verify. A capture on the sending host
   * sees the kernel's own datagrams before checksum offload fills the field
   * in, so only datagrams from other hosts are expected to verify.
   */
  checksumOk: boolean;
}

/**
 * The UDP datagrams (whole, unfragmented IPv4) in an Ethernet capture; frames
 * that are something else are counted, not decoded.
 */
export function udpFrames(file: PcapFile): { udp: CapturedUdp[]; other: number; undecodable: number } {
  if (file.linkType !== LINKTYPE_ETHERNET) throw new Error(`link type ${file.linkType}: only Ethernet (1) captures are read`);
  const udp: CapturedUdp[] = [];
  let other = 0;
  let undecodable = 0;
  for (const rec of file.records) {
    const eth = decodeEthernet(rec.data);
    if (!eth.ok) {
      undecodable++;
      continue;
    }
    if (eth.value.etherType !== ETHERTYPE.IPV4) {
      other++;
      continue;
    }
    const ip = decodeIpv4(eth.value.payload);
    if (!ip.ok) {
      undecodable++;
      continue;
    }
    const h = ip.value.header;
    if (h.protocol !== IP_PROTOCOL.UDP || isFragment(h)) {
      other++;
      continue;
    }
    const endpoints = { src: h.src, dst: h.dst };
    let d = decodeUdp(ip.value.payload, endpoints);
    const checksumOk = d.ok;
    if (!d.ok && d.error.reason === 'bad-checksum') {
      // Decode it once more with the checksum field cleared ("none"): the rest is still checked.
      const copy = ip.value.payload.slice();
      copy[6] = 0;
      copy[7] = 0;
      d = decodeUdp(copy, endpoints);
    }
    if (!d.ok) {
      undecodable++;
      continue;
    }
    udp.push({
      timeMs: rec.timeMs,
      srcMac: formatMac(eth.value.src),
      dstMac: formatMac(eth.value.dst),
      src: formatIpv4(h.src),
      dst: formatIpv4(h.dst),
      srcPort: d.value.srcPort,
      dstPort: d.value.dstPort,
      payload: d.value.payload,
      checksumOk,
    });
  }
  return { udp, other, undecodable };
}
