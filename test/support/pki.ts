/**
 * Throwaway PKI for tests, on top of src/pki: the defaults tests rely on (a
 * "Shoal Test" CA valid 2026-01-01..2030-01-01, which covers the simulator's
 * wall clock) and standardFixtures(), the usual set built once per process
 * (each vitest file runs in its own fork). Keys are fresh per process, so
 * nothing secret is checked in.
 */
import type { TrustConfig } from '../../src/cluster/auth/trust.js';
import { DEFAULT_TIMING, type MemberConfig } from '../../src/cluster/membership/config.js';
import * as pki from '../../src/pki/dev-pki.js';
import { trustOf, type AnyKeyType, type CaBundle, type MemberBundle } from '../../src/pki/dev-pki.js';

export { trustOf };

/** The simulator's wall clock starts here (ManualClock's default). */
export const WALL_NOW = Date.UTC(2026, 10, 28);
export const DEFAULT_NOT_BEFORE = new Date(Date.UTC(2026, 0, 1));
export const DEFAULT_NOT_AFTER = new Date(Date.UTC(2030, 0, 1));

/** ec-p521 and rsa-1024 exist to exercise the verifier's 'unsupported-key'. */
export type TestKeyType = AnyKeyType;
export type TestCa = CaBundle;
export type TestMember = MemberBundle;

type Dated<T extends pki.Validity> = Omit<T, keyof pki.Validity> & Partial<pki.Validity>;
export type CaOptions = Dated<pki.CaOptions>;
export type MemberOptions = Dated<pki.MemberOptions>;

/** Test defaults: fixed dates, O=Shoal Test, and any key type (negative tests need the refused ones). */
function dated<T extends Partial<pki.Validity>>(opts: T): T & pki.Validity & { allowUnsupportedKey: true } {
  return {
    ...opts,
    notBefore: opts.notBefore ?? DEFAULT_NOT_BEFORE,
    notAfter: opts.notAfter ?? DEFAULT_NOT_AFTER,
    allowUnsupportedKey: true,
  };
}

/** A self-signed root. Default: EC P-256, "Shoal Test CA", valid 2026-01-01..2030-01-01. */
export function makeCa(opts: CaOptions = {}): Promise<TestCa> {
  return pki.makeCa(dated({ name: 'Shoal Test CA', organization: 'Shoal Test', ...opts }));
}

/** A CA issued by `parent` (a root or another intermediate). */
export function makeIntermediate(parent: TestCa, opts: CaOptions = {}): Promise<TestCa> {
  return pki.makeIntermediate(parent, dated(opts));
}

/** A member certificate for `cn` at `ip`, issued by `ca` or by opts.intermediate. */
export function issueMember(ca: TestCa, opts: MemberOptions): Promise<TestMember> {
  return pki.issueMember(ca, dated(opts));
}

export interface StandardFixtures {
  ca: TestCa;
  /** member-1..member-9 at 198.18.0.1..198.18.0.9, index i = member-(i+1). */
  members: TestMember[];
  /** A different CA, and a member it issued for 198.18.0.1 (CN member-1): a cluster impostor. */
  foreignCa: TestCa;
  foreignMember: TestMember;
  /** CN member-expired, 198.18.0.11, valid 2024-01-01..2025-01-01. */
  expired: TestMember;
  /** CN member-future, 198.18.0.12, valid from 2027-06-01. */
  notYetValid: TestMember;
  /** CN intruder, 198.18.0.10: issued by the CA but not on `allowedMembers`. */
  intruder: TestMember;
  /** CN member-nosig, 198.18.0.13, KeyUsage without digitalSignature. */
  noDigitalSignature: TestMember;
  /** Every CN above except "intruder". */
  allowedMembers: string[];
  /** The CA, nothing revoked, no allowed list. */
  trust: TrustConfig;
  /** The CA, nothing revoked, allowedMembers set. */
  restrictedTrust: TrustConfig;
}

let standard: Promise<StandardFixtures> | undefined;

/** The shared set (EC P-256 throughout), built on first use and then reused within the process. */
export function standardFixtures(): Promise<StandardFixtures> {
  standard ??= buildStandard();
  return standard;
}

async function buildStandard(): Promise<StandardFixtures> {
  const ca = await makeCa();
  const members = await Promise.all(
    Array.from({ length: 9 }, (_, i) => issueMember(ca, { cn: `member-${i + 1}`, ip: `198.18.0.${i + 1}` })),
  );
  const foreignCa = await makeCa({ name: 'Foreign CA' });
  const [foreignMember, expired, notYetValid, intruder, noDigitalSignature] = await Promise.all([
    issueMember(foreignCa, { cn: 'member-1', ip: '198.18.0.1' }),
    issueMember(ca, {
      cn: 'member-expired',
      ip: '198.18.0.11',
      notBefore: new Date(Date.UTC(2024, 0, 1)),
      notAfter: new Date(Date.UTC(2025, 0, 1)),
    }),
    issueMember(ca, { cn: 'member-future', ip: '198.18.0.12', notBefore: new Date(Date.UTC(2027, 5, 1)) }),
    issueMember(ca, { cn: 'intruder', ip: '198.18.0.10' }),
    issueMember(ca, { cn: 'member-nosig', ip: '198.18.0.13', keyUsage: 'no-digital-signature' }),
  ]);
  const allowedMembers = [...members.map((m) => m.cn), 'member-expired', 'member-future', 'member-nosig'];
  return {
    ca,
    members,
    foreignCa,
    foreignMember,
    expired,
    notYetValid,
    intruder,
    noDigitalSignature,
    allowedMembers,
    trust: trustOf(ca),
    restrictedTrust: trustOf(ca, { allowedMembers }),
  };
}

/** A membership configuration for `self` with the credentials of `fx.members[index]` and the cluster CA as trust. */
export function fixtureMemberConfig(fx: StandardFixtures, self: number, overrides: Partial<MemberConfig> = {}, index = 0): MemberConfig {
  const m = fx.members[index];
  if (!m) throw new Error(`no fixture member ${index}`);
  return {
    self,
    clusterId: 1,
    configVersion: 1,
    incarnation: 1,
    credentials: { chain: m.chain, privateKey: m.privateKey },
    trust: fx.trust,
    timing: DEFAULT_TIMING,
    maxSkewMs: 30_000,
    ...overrides,
  };
}
