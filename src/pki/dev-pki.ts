/**
 * A throwaway development PKI, in memory: one CA and member certificates for
 * a cluster of consecutive addresses. Keys are fresh on every call and never
 * leave the process unless the caller writes them out.
 *
 * Also the one import for the pieces (keys.ts, validity.ts, ca.ts, member.ts).
 */
import type { TrustConfig } from '../cluster/auth/trust.js';
import { formatIpv4, parseIpv4 } from '../lib/ipv4.js';
import { makeCa, trustOf, type CaBundle } from './ca.js';
import type { KeyType } from './keys.js';
import { issueMember, type MemberBundle } from './member.js';
import type { Validity } from './validity.js';

export * from './keys.js';
export * from './validity.js';
export * from './ca.js';
export * from './member.js';
export * from './endpoint.js';

/** RFC 2544 benchmarking space: never routed, so a dev cluster cannot collide with a real one. */
export const DEV_FIRST_MEMBER_IP = '198.18.0.1';

export interface DevClusterOptions extends Validity {
  /** Members to issue: member-1..member-count. */
  count: number;
  /** Address of member-1; member-i gets the i-1'th address after it. Default 198.18.0.1. */
  firstIp?: string;
  /** Default "Shoal Dev CA". */
  caName?: string;
  /** For the CA and every member; default EC P-256. */
  keyType?: KeyType;
}

export interface DevCluster {
  ca: CaBundle;
  /** Index i is member-(i+1). */
  members: MemberBundle[];
  /** The CA, no allowed list, nothing revoked. */
  trust: TrustConfig;
}

export async function makeDevCluster(opts: DevClusterOptions): Promise<DevCluster> {
  if (!Number.isInteger(opts.count) || opts.count < 0) throw new RangeError(`member count must be a whole number ≥ 0, not ${opts.count}`);
  const first = parseIpv4(opts.firstIp ?? DEV_FIRST_MEMBER_IP);
  if (first + opts.count - 1 > 0xffff_ffff) throw new RangeError('member addresses run past 255.255.255.255');
  const validity = { notBefore: opts.notBefore, notAfter: opts.notAfter };
  const ca = await makeCa({ ...validity, name: opts.caName ?? 'Shoal Dev CA', keyType: opts.keyType });
  const members = await Promise.all(
    Array.from({ length: opts.count }, (_, i) =>
      issueMember(ca, { ...validity, cn: `member-${i + 1}`, ip: formatIpv4(first + i), keyType: opts.keyType }),
    ),
  );
  return { ca, members, trust: trustOf(ca) };
}
