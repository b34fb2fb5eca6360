/**
 * Development keys never go into a built image. The lab's development CA
 * marks everything it issues with OU "Shoal development" (src/pki); `flash
 * build` and `flash sign` refuse any certificate whose subject or issuer
 * carries that mark: the member chain, the trusted CAs and every PEM file.
 */
import { X509Certificate } from 'node:crypto';
import { ShoalError } from '../lib/errors.js';
import { DEVELOPMENT_OU } from '../pki/development.js';
import type { Personality } from '../wire/flash-image-sections.js';
import { certificatesInFile } from './x509-text.js';

export { DEVELOPMENT_OU };

/** True when a distinguished name (node's one-attribute-per-line text) has OU=Shoal development. */
function marked(dn: string): boolean {
  return dn.split('\n').some((line) => line.trim().toLowerCase() === `ou=${DEVELOPMENT_OU.toLowerCase()}`);
}

/** "member-chain[0] CN=member-1" for each certificate carrying the development mark. */
export function developmentCertificates(p: Personality): string[] {
  const all: { where: string; der: Uint8Array }[] = [
    ...p.memberChain.map((der, i) => ({ where: `member-chain[${i}]`, der })),
    ...p.trustedCas.map((der, i) => ({ where: `trusted-cas[${i}]`, der })),
    ...p.files.filter((f) => !f.secret).flatMap((f) => certificatesInFile(f.data).map((der, i) => ({ where: `file ${f.name}[${i}]`, der }))),
  ];
  const out: string[] = [];
  for (const { where, der } of all) {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(der);
    } catch {
      continue; // unreadable certificates are refused by the personality check, with their own message
    }
    if (marked(cert.subject) || marked(cert.issuer)) out.push(`${where} ${cert.subject.replace(/\n/g, ', ')}`);
  }
  return out;
}

export function refuseDevelopmentKeys(p: Personality): void {
  const found = developmentCertificates(p);
  if (found.length > 0) {
    throw new ShoalError('FLASH_DEVELOPMENT_KEYS', `development certificates (OU=${DEVELOPMENT_OU}) cannot go into a personality image: ${found.join('; ')}`);
  }
}
