import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ShoalError } from '../../src/lib/errors.js';
import {
  broadcastMac,
  decodeEthernet,
  encodeEthernet,
  ETHERTYPE,
  formatMac,
  isBroadcastMac,
  isLocallyAdministeredMac,
  isMulticastMac,
  macEquals,
  parseMac,
  zeroMac,
} from '../../src/wire/ethernet.js';
import { arbMac, hex, reasonOf, valueOf } from './arbitraries.js';
import { ARP_REQUEST_FRAME } from './captures.js';


const arbEtherType = fc.integer({ min: 0x0600, max: 0xffff });

describe('Ethernet II codec', () => {
  it('decodes a captured ARP broadcast field by field', () => {
    const f = valueOf(decodeEthernet(ARP_REQUEST_FRAME));
    expect(formatMac(f.dst)).toBe('ff:ff:ff:ff:ff:ff');
    expect(formatMac(f.src)).toBe('52:54:00:12:34:56');
    expect(f.etherType).toBe(ETHERTYPE.ARP);
    expect(f.payload.length).toBe(46);
  });

  it('round-trips any frame', () => {
    fc.assert(
      fc.property(arbMac, arbMac, arbEtherType, fc.uint8Array({ maxLength: 1500 }), (dst, src, etherType, payload) => {
        const frame = { dst, src, etherType, payload };
        const bytes = encodeEthernet(frame);
        expect(bytes.length).toBe(14 + payload.length);
        expect(valueOf(decodeEthernet(bytes))).toEqual(frame);
      }),
    );
  });

  it('is truncated below 14 bytes, at every length', () => {
    for (let n = 0; n < 14; n++) expect(reasonOf(decodeEthernet(ARP_REQUEST_FRAME.subarray(0, n)))).toBe('truncated');
    expect(reasonOf(decodeEthernet(ARP_REQUEST_FRAME.subarray(0, 14)))).toBe('ok');
  });

  it('refuses 802.3 length fields as unknown-type', () => {
    const llc = ARP_REQUEST_FRAME.slice();
    llc[12] = 0x05;
    llc[13] = 0xdc; // 1500: a length, not an EtherType
    expect(reasonOf(decodeEthernet(llc))).toBe('unknown-type');
  });

  it('never throws on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        const r = reasonOf(decodeEthernet(bytes));
        expect(['ok', 'truncated', 'unknown-type']).toContain(r);
      }),
    );
  });

  it('refuses to encode bad MACs or EtherTypes (programming errors)', () => {
    const payload = new Uint8Array(0);
    expect(() => encodeEthernet({ dst: new Uint8Array(5), src: zeroMac(), etherType: 0x0800, payload })).toThrow(RangeError);
    expect(() => encodeEthernet({ dst: zeroMac(), src: zeroMac(), etherType: 0x05ff, payload })).toThrow(RangeError);
    expect(() => encodeEthernet({ dst: zeroMac(), src: zeroMac(), etherType: 0x10000, payload })).toThrow(RangeError);
  });
});

describe('MAC helpers', () => {
  it('parse and format round-trip', () => {
    fc.assert(
      fc.property(arbMac, (mac) => {
        expect(parseMac(formatMac(mac))).toEqual(mac);
        expect(parseMac(formatMac(mac).toUpperCase())).toEqual(mac);
      }),
    );
  });

  it('refuses malformed text with a stable code', () => {
    for (const bad of ['', '52:54:00:12:34', '52:54:00:12:34:5g', '525400123456', '52-54-00-12-34-56', '52:54:00:12:34:56:78']) {
      expect(() => parseMac(bad)).toThrow(ShoalError);
    }
  });

  it('knows broadcast, multicast and locally administered addresses', () => {
    expect(isBroadcastMac(broadcastMac())).toBe(true);
    expect(isMulticastMac(broadcastMac())).toBe(true);
    expect(isMulticastMac(parseMac('01:00:5e:00:00:01'))).toBe(true);
    expect(isBroadcastMac(parseMac('01:00:5e:00:00:01'))).toBe(false);
    expect(isMulticastMac(parseMac('52:54:00:12:34:56'))).toBe(false);
    expect(isLocallyAdministeredMac(parseMac('52:54:00:12:34:56'))).toBe(true);
    expect(isLocallyAdministeredMac(parseMac('00:1b:21:12:34:56'))).toBe(false);
  });

  it('compares by value', () => {
    expect(macEquals(parseMac('52:54:00:12:34:56'), hex('525400123456'))).toBe(true);
    expect(macEquals(parseMac('52:54:00:12:34:56'), hex('525400123457'))).toBe(false);
    expect(macEquals(zeroMac(), new Uint8Array(5))).toBe(false);
  });

  it('hands out fresh constants', () => {
    const b = broadcastMac();
    b[0] = 0;
    expect(isBroadcastMac(broadcastMac())).toBe(true);
  });
});
