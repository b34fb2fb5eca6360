/**
 * Frames as a TAP device delivers them, written by hand from the RFC layouts
 * (checksums worked out independently of src/). Each is annotated field by
 * field so a reader can check it against the diagrams.
 */
import { hex } from './arbitraries.js';

/** "Who has 10.0.0.2? Tell 10.0.0.1" from 52:54:00:12:34:56, broadcast, padded to the 60-byte minimum frame. */
export const ARP_REQUEST_FRAME = hex(`
  ffffffffffff 525400123456 0806
  0001 0800 06 04 0001 525400123456 0a000001 000000000000 0a000002
  000000000000000000000000000000000000`);

/** `ping 10.0.0.2` from 10.0.0.1: ICMP echo request, id 0x0b5e, seq 1, 48 data bytes. */
export const ICMP_ECHO_FRAME = hex(`
  525400abcdef 525400123456 0800
  45 00 004c 4d2e 4000 40 01 d980 0a000001 0a000002
  08 00 6927 0b5e 0001
  6a3f5a6700000000 101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637`);

/** A DNS query for example.com A from 10.0.0.1:53000 to 10.0.0.53:53, UDP checksum 0x3298, no DF. */
export const UDP_DNS_FRAME = hex(`
  525400abcdef 525400123456 0800
  45 00 0039 1c46 0000 40 11 4a39 0a000001 0a000035
  cf08 0035 0025 3298
  1a2b 0100 0001 0000 0000 0000 07 6578616d706c65 03 636f6d 00 0001 0001`);

/** The IPv4 header everyone checks their checksum against (192.168.0.1 -> 192.168.0.199, UDP, checksum b861). */
export const CLASSIC_IPV4_HEADER = hex('4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7');
