/**
 * Why a certificate was revoked: the RFC 5280 §5.3.1 reason codes an operator
 * may give, spelled as `shoal pki revoke --reason` takes them (certificateHold
 * and removeFromCRL are not revocations and are left out). A module of its
 * own, so the CLI can list the choices without loading the X.509 library.
 */
export const REVOCATION_REASONS = [
  'unspecified',
  'key-compromise',
  'ca-compromise',
  'affiliation-changed',
  'superseded',
  'cessation-of-operation',
  'privilege-withdrawn',
] as const;
export type RevocationReason = (typeof REVOCATION_REASONS)[number];
