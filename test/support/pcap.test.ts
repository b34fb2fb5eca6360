/**
 * The pcap reader: a real `tcpdump -w` capture (hex fixture), files written
 * here in both byte orders and both time resolutions, cut-off captures, and
 * the UDP frames decoded with the project's codecs.
 */
import { describe, expect, it } from 'vitest';
import { parseIpv4 } from '../../src/lib/ipv4.js';
import { ByteWriter } from '../../src/wire/byte-writer.js';
import { encodeEthernet, ETHERTYPE, parseMac } from '../../src/wire/ethernet.js';
import { encodeIpv4, IP_PROTOCOL } from '../../src/wire/ipv4.js';
import { encodeUdp } from '../../src/wire/udp.js';
import { PCAP_MAGIC_MICROS, PCAP_MAGIC_NANOS, readPcap, udpFrames } from './pcap.js';

/**
 * tcpdump 4.99.3 / libpcap 1.10.3 on x86-64, `-i lo -s 256 -w -`: one datagram
 * 198.18.0.1:41000 → 198.18.0.1:7 carrying "198.18.0.1:41000:5".
 */
const TCPDUMP_LO =
  'd4c3b2a1020004000000000000000000000100000100000015880b6b84b905003c0000003c00000000000000000000000000000008004500002e2f34400040117f64c6120001c6120001a0280007001a8c523139382e31382e302e313a34313030303a35';

const hex = (h: string): Uint8Array => Uint8Array.from(h.match(/../g) ?? [], (b) => parseInt(b, 16));
const swap32 = (v: number): number => (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
const swap16 = (v: number): number => ((v & 0xff) << 8) | (v >>> 8);

interface Frame {
  sec: number;
  frac: number;
  data: Uint8Array;
  originalLength?: number;
}

/** A pcap file as a writer in the given byte order and resolution would produce it. */
function writePcap(frames: Frame[], o: { littleEndian: boolean; nanos: boolean; linkType?: number; snapLength?: number }): Uint8Array {
  const w = new ByteWriter();
  const u32 = (v: number): ByteWriter => w.u32(o.littleEndian ? swap32(v) : v);
  const u16 = (v: number): ByteWriter => w.u16(o.littleEndian ? swap16(v) : v);
  u32(o.nanos ? PCAP_MAGIC_NANOS : PCAP_MAGIC_MICROS);
  u16(2);
  u16(4);
  u32(0);
  u32(0);
  u32(o.snapLength ?? 65535);
  u32(o.linkType ?? 1);
  for (const f of frames) {
    u32(f.sec);
    u32(f.frac);
    u32(f.data.length);
    u32(f.originalLength ?? f.data.length);
    w.bytes(f.data);
  }
  return w.finish();
}

const ROUTER_MAC = '02:00:00:00:00:01';
const MEMBER_MAC = '02:53:4d:12:03:0c';

function udpFrame(src: string, dst: string, srcPort: number, dstPort: number, text: string, o: { fragment?: boolean; corruptChecksum?: boolean } = {}): Uint8Array {
  const s = parseIpv4(src);
  const d = parseIpv4(dst);
  const udp = encodeUdp({ srcPort, dstPort, payload: new TextEncoder().encode(text) }, { src: s, dst: d });
  if (o.corruptChecksum === true) udp[7] = (udp[7] ?? 0) ^ 0xff;
  const ip = encodeIpv4({
    header: { dscp: 0, ecn: 0, id: 7, dontFragment: false, moreFragments: o.fragment === true, fragmentOffset: 0, ttl: 64, protocol: IP_PROTOCOL.UDP, src: s, dst: d, options: new Uint8Array(0) },
    payload: udp,
  });
  return encodeEthernet({ dst: parseMac(ROUTER_MAC), src: parseMac(MEMBER_MAC), etherType: ETHERTYPE.IPV4, payload: ip });
}

describe('readPcap', () => {
  it('reads a real tcpdump capture', () => {
    const f = readPcap(hex(TCPDUMP_LO));
    expect({ littleEndian: f.littleEndian, nanoseconds: f.nanoseconds, version: f.version, snapLength: f.snapLength, linkType: f.linkType }).toEqual({
      littleEndian: true,
      nanoseconds: false,
      version: '2.4',
      snapLength: 256,
      linkType: 1,
    });
    expect(f.records).toHaveLength(1);
    expect(f.trailingBytes).toBe(0);
    expect(f.records[0]?.originalLength).toBe(60);
    expect(f.records[0]?.timeMs).toBeCloseTo(0x6b0b8815 * 1000 + 0x05b984 / 1000, 3);
    const { udp, other, undecodable } = udpFrames(f);
    expect({ other, undecodable }).toEqual({ other: 0, undecodable: 0 });
    expect(udp).toHaveLength(1);
    expect(udp[0]).toMatchObject({ srcMac: '00:00:00:00:00:00', dstMac: '00:00:00:00:00:00', src: '198.18.0.1', dst: '198.18.0.1', srcPort: 41000, dstPort: 7 });
    expect(new TextDecoder().decode(udp[0]?.payload)).toBe('198.18.0.1:41000:5');
  });

  for (const littleEndian of [false, true])
    for (const nanos of [false, true])
      it(`reads ${littleEndian ? 'little' : 'big'}-endian files with ${nanos ? 'nano' : 'micro'}second times`, () => {
        const data = udpFrame('198.18.1.10', '198.18.16.10', 7, 41000, 'x');
        const f = readPcap(
          writePcap(
            [
              { sec: 1_700_000_000, frac: nanos ? 123_456_789 : 123_456, data },
              { sec: 1_700_000_001, frac: 0, data: data.subarray(0, 20), originalLength: data.length },
            ],
            { littleEndian, nanos, snapLength: 96 },
          ),
        );
        expect({ littleEndian: f.littleEndian, nanoseconds: f.nanoseconds, version: f.version, snapLength: f.snapLength }).toEqual({ littleEndian, nanoseconds: nanos, version: '2.4', snapLength: 96 });
        expect(f.records.map((r) => r.originalLength)).toEqual([data.length, data.length]);
        expect(f.records[0]?.timeMs).toBeCloseTo(1_700_000_000_000 + (nanos ? 123.456789 : 123.456), 3);
        expect(f.records[1]?.data).toHaveLength(20);
        expect(f.records[0]?.data).toEqual(data);
      });

  it('stops at a record cut off mid-way and says how much is left', () => {
    const data = udpFrame('198.18.1.10', '198.18.16.10', 7, 41000, 'x');
    const whole = writePcap([{ sec: 1, frac: 0, data }, { sec: 2, frac: 0, data }], { littleEndian: true, nanos: false });
    const f = readPcap(whole.subarray(0, whole.length - 5));
    expect(f.records).toHaveLength(1);
    expect(f.trailingBytes).toBe(16 + data.length - 5);
    expect(readPcap(whole.subarray(0, 24)).records).toEqual([]);
  });

  it('refuses what is not a pcap file', () => {
    expect(() => readPcap(new TextEncoder().encode('not a capture, just text'))).toThrow(/not a pcap file/);
    expect(() => readPcap(new Uint8Array(3))).toThrow();
  });
});

describe('udpFrames', () => {
  it('decodes UDP datagrams, counts the rest, and flags a checksum that does not verify', () => {
    const arp = encodeEthernet({ dst: parseMac('ff:ff:ff:ff:ff:ff'), src: parseMac(ROUTER_MAC), etherType: ETHERTYPE.ARP, payload: new Uint8Array(28) });
    const frames = [
      udpFrame('198.18.1.10', '198.18.16.10', 7, 41000, '198.18.16.10:41000:1'),
      arp,
      udpFrame('198.18.1.10', '198.18.16.10', 7, 41000, 'frag', { fragment: true }),
      udpFrame('198.18.16.10', '198.18.1.10', 41000, 7, '198.18.16.10:41000:2', { corruptChecksum: true }),
      udpFrame('198.18.1.10', '198.18.16.10', 7, 41000, 'cut').subarray(0, 30),
    ];
    const f = readPcap(writePcap(frames.map((data, k) => ({ sec: k, frac: 0, data })), { littleEndian: true, nanos: false }));
    const { udp, other, undecodable } = udpFrames(f);
    expect({ other, undecodable }).toEqual({ other: 2, undecodable: 1 });
    expect(udp.map((u) => [u.src, u.srcPort, u.dst, u.dstPort, new TextDecoder().decode(u.payload), u.checksumOk, u.srcMac, u.dstMac])).toEqual([
      ['198.18.1.10', 7, '198.18.16.10', 41000, '198.18.16.10:41000:1', true, MEMBER_MAC, ROUTER_MAC],
      ['198.18.16.10', 41000, '198.18.1.10', 7, '198.18.16.10:41000:2', false, MEMBER_MAC, ROUTER_MAC],
    ]);
    expect(udp.map((u) => u.timeMs)).toEqual([0, 3000]);
  });

  it('reads Ethernet captures only', () => {
    const f = readPcap(writePcap([], { littleEndian: true, nanos: false, linkType: 101 }));
    expect(() => udpFrames(f)).toThrow(/only Ethernet/);
  });
});
