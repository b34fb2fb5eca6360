/**
 * Debug only: a CHILD SA's keys as lines of Wireshark's `esp_sa` table (the
 * UAT file tshark reads from its configuration directory, or takes with
 * `-o "uat:esp_sa:…"`), so a capture of the tunnel can be decrypted.
 *
 *   "IPv4","<src>","<dst>","0x<spi>","<encryption>","0x<key>","<authentication>","0x<key>"
 *
 * AEAD keys carry their 4-byte salt after the key, as Wireshark expects.
 * Never enabled by default: the keys are written in clear.
 */
import { formatIpv4, type Ipv4 } from '../../lib/ipv4.js';
import type { EspSaKeys } from './crypto/keys.js';
import type { ChildSa, IkeSa } from './ike/ike-sa.js';

function hex(b: Uint8Array): string {
  return `0x${Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex')}`;
}

/** Wireshark's names for the algorithms (epan/dissectors/packet-ipsec.c). */
function names(child: ChildSa): { encryption: string; authentication: string } {
  const p = child.suite.protection;
  if (p.encryption.kind === 'aead') {
    const encryption = p.encryption.nodeName === 'chacha20-poly1305' ? 'ChaCha20 with Poly1305 [RFC7634]' : 'AES-GCM with 16 octet ICV [RFC4106]';
    return { encryption, authentication: 'NULL' };
  }
  const auth = p.integrity === null ? 'NULL' : { sha256: 'HMAC-SHA-256-128 [RFC4868]', sha384: 'HMAC-SHA-384-192 [RFC4868]', sha512: 'HMAC-SHA-512-256 [RFC4868]' }[p.integrity.hash];
  return { encryption: 'AES-CBC [RFC3602]', authentication: auth };
}

function line(src: Ipv4, dst: Ipv4, spi: number, keys: EspSaKeys, n: { encryption: string; authentication: string }): string {
  const encKey = new Uint8Array(keys.encryptionKey.length + keys.salt.length);
  encKey.set(keys.encryptionKey);
  encKey.set(keys.salt, keys.encryptionKey.length);
  const authKey = n.authentication === 'NULL' ? '' : hex(keys.integrityKey);
  return `"IPv4","${formatIpv4(src)}","${formatIpv4(dst)}","0x${spi.toString(16).padStart(8, '0')}","${n.encryption}","${hex(encKey)}","${n.authentication}","${authKey}"\n`;
}

/** Both directions of a CHILD SA: client → cluster (our inbound SPI), cluster → client. */
export function espSaLines(clusterAddress: Ipv4, sa: IkeSa, child: ChildSa): string[] {
  const n = names(child);
  return [
    line(sa.peer.ip, clusterAddress, child.spiIn, child.keys.initiatorToResponder, n),
    line(clusterAddress, sa.peer.ip, child.spiOut, child.keys.responderToInitiator, n),
  ];
}
