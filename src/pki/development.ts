/**
 * The development mark. A CA made with `shoal pki init-ca --development` (and
 * the lab's throwaway CA) carries OU "Shoal development" in its subject, and
 * everything it issues inherits it (ca.ts signByCa), so a build step can tell
 * a throwaway certificate from a real one by looking at the certificate alone:
 * development keys must never go into a built image.
 */
import * as x509 from '@peculiar/x509';

export const DEVELOPMENT_OU = 'Shoal development';

/** The subject's OU values of a DER certificate. */
function subjectUnits(der: Uint8Array): string[] {
  return new x509.X509Certificate(der).subjectName.getField('OU');
}

/** Whether the certificate (DER) carries the development mark in its subject. Throws on bytes that are not a certificate. */
export function isDevelopmentCertificate(der: Uint8Array): boolean {
  return subjectUnits(der).includes(DEVELOPMENT_OU);
}
