import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatIpv4, parseIpv4 } from '../../src/lib/ipv4.js';
import { ARP_OP, arpReply, arpRequest, decodeArp, encodeArp, gratuitousArp, gratuitousArpFrame, type ArpPacket } from '../../src/wire/arp.js';
import { decodeEthernet, ETHERTYPE, formatMac, isBroadcastMac, parseMac } from '../../src/wire/ethernet.js';
import { arbAddress, arbMac, reasonOf, toHex, valueOf } from './arbitraries.js';
import { ARP_REQUEST_FRAME } from './captures.js';


const arbArp: fc.Arbitrary<ArpPacket> = fc.record({
  op: fc.constantFrom(ARP_OP.REQUEST, ARP_OP.REPLY),
  senderMac: arbMac,
  senderIp: arbAddress,
  targetMac: arbMac,
  targetIp: arbAddress,
});

describe('ARP codec (RFC 826, Ethernet/IPv4)', () => {
  it('decodes a captured request field by field, ignoring the frame padding', () => {
    const frame = valueOf(decodeEthernet(ARP_REQUEST_FRAME));
    expect(frame.etherType).toBe(ETHERTYPE.ARP);
    const arp = valueOf(decodeArp(frame.payload));
    expect(arp.op).toBe(ARP_OP.REQUEST);
    expect(formatMac(arp.senderMac)).toBe('52:54:00:12:34:56');
    expect(formatIpv4(arp.senderIp)).toBe('10.0.0.1');
    expect(formatMac(arp.targetMac)).toBe('00:00:00:00:00:00');
    expect(formatIpv4(arp.targetIp)).toBe('10.0.0.2');
  });

  it('round-trips any packet in exactly 28 bytes', () => {
    fc.assert(
      fc.property(arbArp, (p) => {
        const bytes = encodeArp(p);
        expect(bytes.length).toBe(28);
        expect(valueOf(decodeArp(bytes))).toEqual(p);
      }),
    );
  });

  it('is truncated at every length below 28', () => {
    const arp = encodeArp(arpRequest(parseMac('52:54:00:12:34:56'), parseIpv4('10.0.0.1'), parseIpv4('10.0.0.2')));
    for (let n = 0; n < 28; n++) expect(reasonOf(decodeArp(arp.subarray(0, n)))).toBe('truncated');
  });

  it('refuses other hardware, protocols, address lengths and opcodes', () => {
    const good = valueOf(decodeEthernet(ARP_REQUEST_FRAME)).payload.slice(0, 28);
    const patched = (at: number, v: number): Uint8Array => {
      const b = good.slice();
      b[at] = v;
      return b;
    };
    expect(reasonOf(decodeArp(patched(1, 6)))).toBe('unknown-type'); // IEEE 802 hardware
    expect(reasonOf(decodeArp(patched(2, 0x86)))).toBe('unknown-type'); // not IPv4
    expect(reasonOf(decodeArp(patched(4, 8)))).toBe('bad-length');
    expect(reasonOf(decodeArp(patched(5, 16)))).toBe('bad-length');
    expect(reasonOf(decodeArp(patched(7, 3)))).toBe('unknown-type'); // RARP request
    expect(reasonOf(decodeArp(patched(7, 0)))).toBe('unknown-type');
  });

  it('never throws on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 60 }), (bytes) => {
        expect(['ok', 'truncated', 'unknown-type', 'bad-length']).toContain(reasonOf(decodeArp(bytes)));
      }),
    );
  });
});

describe('ARP builders', () => {
  const ours = parseMac('02:00:5e:10:00:01');
  const clusterIp = parseIpv4('192.0.2.10');

  it('answers a request for our address by swapping sender and target (RFC 826)', () => {
    const request = valueOf(decodeArp(valueOf(decodeEthernet(ARP_REQUEST_FRAME)).payload));
    const reply = arpReply(request, ours);
    expect(reply).toEqual({
      op: ARP_OP.REPLY,
      senderMac: ours,
      senderIp: parseIpv4('10.0.0.2'),
      targetMac: parseMac('52:54:00:12:34:56'),
      targetIp: parseIpv4('10.0.0.1'),
    });
  });

  it('announces an address as RFC 5227 §2.3 says: a broadcast request, sender IP = target IP, target MAC zero', () => {
    expect(gratuitousArp(ours, clusterIp)).toEqual({
      op: ARP_OP.REQUEST,
      senderMac: ours,
      senderIp: clusterIp,
      targetMac: new Uint8Array(6),
      targetIp: clusterIp,
    });
    const frame = gratuitousArpFrame(ours, clusterIp);
    expect(toHex(frame)).toBe('ffffffffffff' + '02005e100001' + '0806' + '0001080006040001' + '02005e100001' + 'c000020a' + '000000000000' + 'c000020a');
    const eth = valueOf(decodeEthernet(frame));
    expect(isBroadcastMac(eth.dst)).toBe(true);
  });

  it('refuses to encode bad fields (programming errors)', () => {
    const p = gratuitousArp(ours, clusterIp);
    expect(() => encodeArp({ ...p, senderMac: new Uint8Array(4) })).toThrow(RangeError);
    expect(() => encodeArp({ ...p, targetIp: -1 })).toThrow(RangeError);
    expect(() => encodeArp({ ...p, op: 3 as typeof ARP_OP.REQUEST })).toThrow(RangeError);
  });
});
