/**
 * Fuzz targets for every decoder in src/wire/: the packet layers (Ethernet,
 * ARP, IPv4, ICMP, UDP, ESP, UDP 4500), the IKEv2 message, its inner payload
 * chain and each payload body. Corpora: fast-check samples of valid values
 * (the property tests' own arbitraries), encoded, plus the hand-written frames
 * in test/wire/captures.ts and the recorded strongSwan-style conversation in
 * test/apps/ipsec/fixtures.
 */
import fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeArp, encodeArp } from '../../../src/wire/arp.js';
import { decodeEspHeader, decodeEspPlaintext, encodeEspPlaintext, writeEspHeader, type EspHeader, type EspPlaintext } from '../../../src/wire/esp.js';
import { decodeEthernet, encodeEthernet } from '../../../src/wire/ethernet.js';
import { decodeIcmp, encodeIcmp } from '../../../src/wire/icmp.js';
import { decodeIpv4, encodeIpv4 } from '../../../src/wire/ipv4.js';
import { decodeUdp, encodeUdp } from '../../../src/wire/udp.js';
import { decodeUdpEncap, encodeUdpEncap } from '../../../src/wire/udp-encap.js';
import { decodeAuth, encodeAuth } from '../../../src/wire/ike/auth.js';
import { decodeCert, encodeCert } from '../../../src/wire/ike/cert.js';
import { decodeCp, encodeCp } from '../../../src/wire/ike/cp.js';
import { decodeDelete, encodeDelete } from '../../../src/wire/ike/delete.js';
import { decodeId, encodeId } from '../../../src/wire/ike/id.js';
import { decodeKe, encodeKe } from '../../../src/wire/ike/ke.js';
import { decodeInnerPayloads, decodeIkeMessage, encodeInnerPayloads, encodeIkeMessage } from '../../../src/wire/ike/message.js';
import { decodeNonce, encodeNonce } from '../../../src/wire/ike/nonce.js';
import { decodeNotify, encodeNotify } from '../../../src/wire/ike/notify.js';
import { decodeSa, encodeSa } from '../../../src/wire/ike/sa.js';
import { decodeSk, decodeSkf, encodeSk, encodeSkf } from '../../../src/wire/ike/sk.js';
import { decodeTs, encodeTs } from '../../../src/wire/ike/ts.js';
import { decodeVendor, encodeVendor } from '../../../src/wire/ike/vendor.js';
import * as ike from '../ike-arbitraries.js';
import { ARP_REQUEST_FRAME, ICMP_ECHO_FRAME, UDP_DNS_FRAME } from '../../wire/captures.js';
import { arbIpv4Datagram, arbU16, arbU32, arbU8 } from '../../wire/arbitraries.js';
import type { Decoded } from '../../../src/wire/decode-error.js';
import { codecTarget, type FuzzTarget } from './target.js';

const SAMPLES = 200;
const FRAMES = [ARP_REQUEST_FRAME, ICMP_ECHO_FRAME, UDP_DNS_FRAME];
/** UDP's checksum covers a pseudo-header: the fuzz pass fixes one pair of endpoints. */
const ENDPOINTS = { src: 0x0a000001, dst: 0x0a000035 };

function sample<T>(arb: fc.Arbitrary<T>, seed: number): T[] {
  return fc.sample(arb, { seed, numRuns: SAMPLES });
}

/** The recorded IKE conversation (requests), as the responder test replays it. */
export function recordedIke(): { port: number; request: Uint8Array }[] {
  const dir = join(dirname(fileURLToPath(import.meta.url)), '../../apps/ipsec/fixtures');
  const source = dir.includes('/dist/') ? dir.replace('/dist/', '/') : dir;
  return readdirSync(source)
    .filter((f) => f.endsWith('.hex'))
    .sort()
    .map((f) => {
      const [portLine = '', requestLine = ''] = readFileSync(join(source, f), 'utf8').trim().split('\n');
      return { port: Number(portLine.split(' ')[1]), request: new Uint8Array(Buffer.from(requestLine.split(' ')[1] ?? '', 'hex')) };
    });
}

function ipv4Payloads(): Uint8Array[] {
  return FRAMES.flatMap((f) => {
    const e = decodeEthernet(f);
    return e.ok ? [e.value.payload] : [];
  });
}

function transportPayloads(): Uint8Array[] {
  return ipv4Payloads().flatMap((p) => {
    const d = decodeIpv4(p);
    return d.ok ? [d.value.payload] : [];
  });
}

function espHeaderBytes(h: EspHeader): Uint8Array {
  const b = new Uint8Array(8);
  writeEspHeader(b, 0, h.spi, h.sequence);
  return b;
}

/** Payload ‖ 1, 2, … padLength ‖ padLength ‖ next header (RFC 4303 §2.4): what decodeEspPlaintext read, byte for byte. */
function espPlaintextBytes(p: EspPlaintext): Uint8Array {
  const out = new Uint8Array(p.payload.length + p.padLength + 2);
  out.set(p.payload);
  for (let i = 0; i < p.padLength; i++) out[p.payload.length + i] = i + 1;
  out[out.length - 2] = p.padLength;
  out[out.length - 1] = p.nextHeader;
  return out;
}

/** A payload's length field is a u16 that counts its 4-byte generic header (RFC 7296 §3.2). */
const MAX_PAYLOAD_BODY = 0xffff - 4;

const ikeBodies: [string, fc.Arbitrary<unknown>, (b: Uint8Array) => Decoded<unknown>, (v: never) => Uint8Array][] = [
  ['ike payload SA', ike.arbSa, decodeSa, encodeSa],
  ['ike payload KE', ike.arbKe, decodeKe, encodeKe],
  ['ike payload ID', ike.arbId, decodeId, encodeId],
  ['ike payload CERT', ike.arbCert, decodeCert, encodeCert],
  ['ike payload AUTH', ike.arbAuth, decodeAuth, encodeAuth],
  ['ike payload NONCE', ike.arbNonce, decodeNonce, encodeNonce],
  ['ike payload NOTIFY', ike.arbNotify, decodeNotify, encodeNotify],
  ['ike payload DELETE', ike.arbDelete, decodeDelete, encodeDelete],
  ['ike payload VENDOR', ike.arbVendor, decodeVendor, encodeVendor],
  ['ike payload TS', ike.arbTs, decodeTs, encodeTs],
  ['ike payload CP', ike.arbCp, decodeCp, encodeCp],
  ['ike payload SK', ike.arbSk, decodeSk, encodeSk],
  ['ike payload SKF', ike.arbSkf, decodeSkf, encodeSkf],
];

export function wireTargets(): FuzzTarget[] {
  return [
    codecTarget('ethernet', (s) => [...FRAMES, ...sample(fc.uint8Array({ minLength: 14, maxLength: 80 }), s).filter((b) => decodeEthernet(b).ok)], decodeEthernet, encodeEthernet),
    codecTarget('arp', () => FRAMES.flatMap((f) => (decodeEthernet(f).ok && f[12] === 0x08 && f[13] === 0x06 ? [f.subarray(14)] : [])), decodeArp, encodeArp),
    codecTarget('ipv4', (s) => [...ipv4Payloads(), ...sample(arbIpv4Datagram, s).map(encodeIpv4)], decodeIpv4, encodeIpv4),
    codecTarget('icmp', () => transportPayloads(), decodeIcmp, encodeIcmp),
    codecTarget(
      'udp',
      (s) => sample(fc.record({ srcPort: arbU16, dstPort: arbU16, payload: fc.uint8Array({ maxLength: 200 }) }), s).map((d) => encodeUdp(d, ENDPOINTS)),
      (b) => decodeUdp(b, ENDPOINTS),
      (d) => encodeUdp(d, ENDPOINTS, { checksum: d.checksummed }),
    ),
    codecTarget('esp header', (s) => sample(fc.record({ spi: fc.integer({ min: 1, max: 0xffffffff }), sequence: arbU32 }), s).map(espHeaderBytes), decodeEspHeader, espHeaderBytes),
    codecTarget(
      'esp plaintext',
      (s) => sample(fc.tuple(fc.uint8Array({ maxLength: 100 }), arbU8, fc.constantFrom(1, 4, 16)), s).map(([p, nh, a]) => encodeEspPlaintext(p, nh, a)),
      decodeEspPlaintext,
      espPlaintextBytes,
    ),
    codecTarget('udp 4500 encapsulation', () => recordedIke().map((r) => r.request), decodeUdpEncap, encodeUdpEncap),
    codecTarget('ike message', (s) => [...recordedIke().filter((r) => r.port !== 50).map((r) => r.request), ...sample(ike.arbIkeMessage, s).map(encodeIkeMessage)], decodeIkeMessage, encodeIkeMessage),
    codecTarget(
      'ike inner payload chain',
      (s) => sample(fc.array(ike.arbPlainPayload, { maxLength: 6 }), s).map((p) => {
        const { firstType, bytes } = encodeInnerPayloads(p);
        return Uint8Array.of(firstType, ...bytes);
      }),
      (b) => decodeInnerPayloads(b[0] ?? 0, b.subarray(1)),
      (p) => {
        const { firstType, bytes } = encodeInnerPayloads(p);
        return Uint8Array.of(firstType, ...bytes);
      },
    ),
    ...ikeBodies.map(([name, arb, decode, encode]) => codecTarget(name, (s) => sample(arb, s).map((v) => encode(v as never)), decode, encode as (v: unknown) => Uint8Array, MAX_PAYLOAD_BODY)),
  ];
}
