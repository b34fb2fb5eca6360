/**
 * The mark that makes a certificate a cluster member's: an ExtendedKeyUsage
 * of Shoal's own. The cluster CA may also issue IPsec client and server
 * certificates (TLS-style EKUs, pki/endpoint.ts), and one of those with an IP
 * identity would otherwise pass every other join rule; the join check
 * requires this purpose, and member certificates carry only it, so they are
 * no use as a client's or server's either.
 *
 * The OID is in the UUID arc (ITU-T X.667, 2.25): mintable without a
 * registry. UUID e3a55b72-0f72-4cd7-9097-4eb8743b3fb2.
 */
export const MEMBER_EKU = '2.25.302593338760899064203092599956290879410';

const KNOWN: Readonly<Record<string, string>> = {
  [MEMBER_EKU]: 'shoalClusterMember',
  '1.3.6.1.5.5.7.3.1': 'serverAuth',
  '1.3.6.1.5.5.7.3.2': 'clientAuth',
  '1.3.6.1.5.5.7.3.17': 'ipsecIKE',
  '1.3.6.1.5.5.8.2.2': 'iKEIntermediate',
  '2.5.29.37.0': 'anyExtendedKeyUsage',
};

/** The purposes of an EKU list in words, for refusals. */
export function describePurposes(ekus: readonly string[] | undefined): string {
  if (ekus === undefined || ekus.length === 0) return 'no ExtendedKeyUsage';
  return `ExtendedKeyUsage ${ekus.map((o) => KNOWN[o] ?? o).join(', ')}`;
}
