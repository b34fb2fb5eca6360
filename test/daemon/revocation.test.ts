/**
 * Revocation without a restart: certificates from the CA store (what
 * `shoal pki` calls), the daemon's configuration and credential loading
 * (trust.crl, ipsec.crl), and the CRL files re-read when they change.
 *
 *   issue ─► the join check / the IKE client check accept ─► revoke (crl.pem
 *   re-signed) ─► the member's copy of crl.pem replaced ─► refused at the next
 *   join (simulated cluster, the membership core unchanged) / the next IKE_AUTH
 *
 * A CRL that no trusted CA signed is refused: at start-up with an error
 * naming the file, later with a log line while the previous CRL stays in force.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyClientChain } from '../../src/apps/ipsec/ike/peer-auth/client-cert.js';
import type { TrustConfig } from '../../src/cluster/auth/trust.js';
import { ChainVerifier } from '../../src/cluster/auth/verify-chain.js';
import { NakReason } from '../../src/cluster/messages.js';
import { ReloadingClientTrust } from '../../src/daemon/client-trust-reload.js';
import { parseDaemonConfig } from '../../src/daemon/config.js';
import { certificatesFromPem, loadCredentials, readPrivateKey } from '../../src/daemon/credentials.js';
import { crlDerOf } from '../../src/daemon/crl-watch.js';
import { MemberRevocation } from '../../src/daemon/member-revocation.js';
import { parseIpv4 } from '../../src/lib/ipv4.js';
import { ShoalError } from '../../src/lib/errors.js';
import { initCa, revokeCertificate } from '../../src/pki/store.js';
import { issueClientCert, issueMemberCert, type Issued } from '../../src/pki/store-issue.js';
import { Simulation } from '../../src/sim/simulation.js';
import { converged } from '../../src/sim/invariants.js';

/** The simulator's wall clock starts here (ManualClock's default): the certificates are issued then. */
const SIM_WALL = Date.UTC(2026, 10, 28);
const NOW = new Date(SIM_WALL);
const work = mkdtempSync(join(tmpdir(), 'shoal-revocation-'));
const caDir = join(work, 'ca');
const otherCaDir = join(work, 'other-ca');
/** The members' copy of the CRL (what an operator copies crl.pem to). */
const memberCrl = join(work, 'member', 'crl.pem');
const members: Issued[] = [];
let client: Issued;

const der = (file: string): Uint8Array[] => certificatesFromPem(readFileSync(file, 'utf8'), file);
const publish = (): void => copyFileSync(join(caDir, 'crl.pem'), memberCrl);

function logSink(): { lines: { level: string; event: string; fields: Record<string, unknown> }[]; log: (level: string, event: string, fields: Record<string, unknown>) => void } {
  const lines: { level: string; event: string; fields: Record<string, unknown> }[] = [];
  return { lines, log: (level, event, fields) => lines.push({ level, event, fields }) };
}

/** A member's configuration as the daemon reads it, trust.crl naming the members' copy. */
function daemonConfig(i: number, extra: object = {}): ReturnType<typeof parseDaemonConfig> {
  const raw = {
    cluster: { name: 'revocation', configVersion: 1 },
    member: { address: `198.18.0.${i}`, certificate: members[i - 1]?.certFile, key: members[i - 1]?.keyFile },
    trust: { ca: [join(caDir, 'ca.pem')], crl: [memberCrl], ...extra },
  };
  return parseDaemonConfig(raw, (p) => p);
}

beforeAll(async () => {
  await initCa(caDir, { now: NOW, keyType: 'ecdsa-p256' });
  await initCa(otherCaDir, { now: NOW, keyType: 'ecdsa-p256' });
  for (let i = 1; i <= 4; i++) members.push(await issueMemberCert(caDir, { now: NOW, name: `member-${i}`, address: `198.18.0.${i}`, keyType: i === 4 ? 'rsa-2048' : 'ecdsa-p256' }));
  client = await issueClientCert(caDir, { now: NOW, identity: 'client1.shoal.test', keyType: 'rsa-2048' });
  mkdirSync(join(work, 'member'));
  publish();
}, 60_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('daemon configuration', () => {
  it('trust.crl is optional; with it the loaded trust carries a revocation source, without it none', () => {
    const withCrl = loadCredentials(daemonConfig(1));
    expect(withCrl.trust.revocation).toBeInstanceOf(MemberRevocation);
    expect(daemonConfig(1).crlPaths).toEqual([memberCrl]);
    const raw = { cluster: { name: 'x' }, member: { address: '198.18.0.1', certificate: members[0]?.certFile, key: members[0]?.keyFile }, trust: { ca: [join(caDir, 'ca.pem')] } };
    const plain = parseDaemonConfig(raw, (p) => p);
    expect(plain.crlPaths).toEqual([]);
    expect(loadCredentials(plain).trust.revocation).toBeUndefined();
    expect(() => parseDaemonConfig({ ...raw, trust: { ca: ['ca.pem'], crl: 'crl.pem' } }, (p) => p)).toThrow(/trust\.crl: must be a list of strings/);
  });

  it("a CRL file no trusted CA signed stops the daemon's credential loading with the file named", () => {
    const forged = join(work, 'forged-crl.pem');
    copyFileSync(join(otherCaDir, 'crl.pem'), forged);
    const cfg = { ...daemonConfig(1), crlPaths: [forged] };
    let err: unknown;
    try {
      loadCredentials(cfg);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ShoalError);
    expect((err as ShoalError).code).toBe('BAD_CREDENTIALS');
    expect((err as ShoalError).message).toContain(`${forged}: not signed by any trusted cluster CA`);
    expect(() => loadCredentials({ ...cfg, crlPaths: [join(work, 'absent.pem')] })).toThrow(/cannot read CRL .*absent\.pem/);
  });
});

// The tests below run in order and share the CA: member-2 is revoked in the first, member-4 in the third.
describe('the join check with trust.crl', () => {
  it('accepts a store-issued member, then refuses it (even a remembered chain) once the changed CRL is seen, at most a second later', async () => {
    const m = members[1];
    if (!m) throw new Error('fixture');
    const sink = logSink();
    const { trust } = loadCredentials(daemonConfig(2), sink.log);
    const verifier = new ChainVerifier(trust);
    const id = parseIpv4('198.18.0.2');
    const t0 = SIM_WALL + 10_000;
    expect(verifier.verify(der(m.certFile), id, t0).ok).toBe(true);
    await revokeCertificate(caDir, 'member-2', 'key-compromise', new Date(SIM_WALL + 5_000));
    // Revoked in the CA directory, but the members' copy is the old one.
    expect(verifier.verify(der(m.certFile), id, t0 + 2000).ok).toBe(true);
    publish();
    // Within a second of the last look the file is not stat'ed again.
    expect(verifier.verify(der(m.certFile), id, t0 + 2500).ok).toBe(true);
    const r = verifier.verify(der(m.certFile), id, t0 + 3100);
    expect(r.ok ? 'ok' : `${r.problem}: ${r.detail}`).toMatch(/^revoked: member-2 \(serial [0-9a-f]+\) is revoked by its CA's CRL$/);
    expect(sink.lines.map((l) => l.event)).toEqual(['crl.reloaded']);
    // Another member is unaffected.
    expect(verifier.verify(der(members[0]?.certFile ?? ''), parseIpv4('198.18.0.1'), t0 + 3200).ok).toBe(true);
  });

  it('a forged CRL copied over the good one is refused with one log line; the previous CRL stays in force', async () => {
    const good = readFileSync(memberCrl);
    const sink = logSink();
    const revocation = new MemberRevocation([der(join(caDir, 'ca.pem'))[0] ?? new Uint8Array()], [memberCrl], sink.log, 0);
    const caDer = der(join(caDir, 'ca.pem'))[0] ?? new Uint8Array();
    const revokedSerial = members[1]?.entry.serial ?? '';
    expect(revocation.isRevoked(revokedSerial, caDer, 1)).toBe(true);
    writeFileSync(memberCrl, readFileSync(join(otherCaDir, 'crl.pem')));
    expect(revocation.isRevoked(revokedSerial, caDer, 2)).toBe(true);
    expect(revocation.isRevoked(revokedSerial, caDer, 3)).toBe(true);
    expect(sink.lines).toHaveLength(1);
    expect(sink.lines[0]).toMatchObject({ level: 'warn', event: 'crl.refused' });
    expect(String(sink.lines[0]?.fields.error)).toMatch(/not signed by any trusted cluster CA/);
    writeFileSync(memberCrl, good);
    expect(revocation.isRevoked(revokedSerial, caDer, 4)).toBe(true);
    expect(sink.lines.map((l) => l.event)).toEqual(['crl.refused', 'crl.reloaded']);
    // The serial is revoked only for the CA whose CRL says so.
    expect(revocation.isRevoked(revokedSerial, der(join(otherCaDir, 'ca.pem'))[0] ?? new Uint8Array(), 5)).toBe(false);
  });

  it('a cluster CRL past its nextUpdate is logged once at error level and stays in force; members are not refused on a date', () => {
    const sink = logSink();
    const caDer = der(join(caDir, 'ca.pem'))[0] ?? new Uint8Array();
    const revocation = new MemberRevocation([caDer], [memberCrl], sink.log, 0);
    const revokedSerial = members[1]?.entry.serial ?? '';
    const fine = members[0]?.entry.serial ?? '';
    const late = SIM_WALL + 400 * 24 * 3600 * 1000; // the store signs CRLs for 30 days
    expect(revocation.isRevoked(fine, caDer, SIM_WALL + 60_000)).toBe(false);
    expect(sink.lines).toEqual([]);
    expect(revocation.isRevoked(revokedSerial, caDer, late)).toBe(true);
    expect(revocation.isRevoked(fine, caDer, late + 1)).toBe(false);
    expect(sink.lines).toEqual([
      {
        level: 'error',
        event: 'crl-stale',
        fields: {
          purpose: 'cluster trust',
          ca: expect.stringContaining('CN=') as string,
          nextUpdate: expect.stringMatching(/^2026-12-\d\dT/) as string,
          action: 'still in force; members are not refused (re-sign it: shoal pki crl, then copy crl.pem to every member)',
        },
      },
    ]);
  });

  it('in a simulated cluster: member-4 joins; after revoke + a copied crl.pem its next join is refused as revoked', async () => {
    // member-2 was revoked above: the cluster here is 1, 3 and 4.
    const { trust } = loadCredentials(daemonConfig(1));
    const sim = new Simulation({ seed: 21, trust: trust satisfies TrustConfig });
    const spec = (i: number): Parameters<Simulation['addMember']>[0] => {
      const m = members[i - 1];
      if (!m) throw new Error(`no member ${i}`);
      return { id: parseIpv4(`198.18.0.${i}`), credentials: { chain: der(m.certFile), privateKey: readPrivateKey(m.keyFile) } };
    };
    sim.addMember(spec(1));
    sim.addMember(spec(3));
    expect(sim.runUntilTrue(() => converged(sim).ok, 3000)).toBe(true);
    sim.addMember(spec(4));
    sim.runFor(2000);
    const four = parseIpv4('198.18.0.4');
    expect(sim.nodes.get(four)?.role).toBe('member');

    await revokeCertificate(caDir, 'member-4', 'cessation-of-operation', new Date(SIM_WALL + 60_000));
    publish();
    sim.runFor(1100); // the master looks at the file at most once a second
    sim.restart(four);
    sim.runFor(3000);
    const node = sim.nodes.get(four);
    expect(node?.role).toBe('refused');
    expect(node?.refusal?.reason).toBe(NakReason.BadCertificate);
    expect(node?.refusal?.detail).toMatch(/^revoked: member-4 \(serial [0-9a-f]+\) is revoked by its CA's CRL/);
    const masters = sim.masters();
    expect(masters).toHaveLength(1);
    expect(masters[0]?.core.ctx.members).toHaveLength(2);
  });

  it('in a simulated cluster: a joined member is removed once its revocation reaches the copied crl.pem, without a restart', async () => {
    const { trust } = loadCredentials(daemonConfig(1));
    const sim = new Simulation({ seed: 22, trust });
    const spec = (i: number): Parameters<Simulation['addMember']>[0] => {
      const m = members[i - 1];
      if (!m) throw new Error(`no member ${i}`);
      return { id: parseIpv4(`198.18.0.${i}`), credentials: { chain: der(m.certFile), privateKey: readPrivateKey(m.keyFile) } };
    };
    sim.addMember(spec(1));
    sim.addMember(spec(3));
    expect(sim.runUntilTrue(() => converged(sim).ok, 3000)).toBe(true);
    sim.runFor(2500);
    const three = sim.nodes.get(parseIpv4('198.18.0.3'));
    const one = sim.nodes.get(parseIpv4('198.18.0.1'));
    expect(three?.core.servedUnits().length).toBeGreaterThan(0);
    await revokeCertificate(caDir, 'member-3', 'key-compromise', new Date(SIM_WALL + 200_000));
    publish();
    // The CRL file is looked at once a second at most, and every member's certificate checked once a second.
    sim.runFor(2500);
    // Whichever was master: member-1 ends master alone, member-3 refused and serving nothing.
    expect(three?.role).toBe('refused');
    expect(three?.core.servedUnits()).toEqual([]);
    expect(three?.refusal?.detail).toMatch(/^revoked: member-3 \(serial [0-9a-f]+\) is revoked by its CA's CRL/);
    expect(one?.role).toBe('master');
    expect(one?.core.ctx.members).toEqual([one?.id]);
  });
});

describe('the IKE client check with ipsec.crl', () => {
  it('is rebuilt on the next IKE_AUTH after the CRL file changed: a store-issued client is refused once revoked', async () => {
    const crlFile = join(work, 'clients-crl.pem');
    copyFileSync(join(caDir, 'crl.pem'), crlFile);
    const sink = logSink();
    const trust = new ReloadingClientTrust({ caCertificates: der(join(caDir, 'ca.pem')) }, [crlFile], sink.log);
    const chain = der(client.certFile);
    const at = SIM_WALL + 120_000;
    expect(trust.verify(chain, at).ok).toBe(true);
    await revokeCertificate(caDir, 'client1.shoal.test', 'privilege-withdrawn', new Date(SIM_WALL + 100_000));
    copyFileSync(join(caDir, 'crl.pem'), crlFile);
    const r = trust.verify(chain, at);
    expect(r.ok ? 'ok' : r.problem).toBe('revoked');
    expect(sink.lines.map((l) => l.event)).toEqual(['crl.reloaded']);
    // The one-off check agrees, from the same file.
    expect(verifyClientChain(chain, { caCertificates: der(join(caDir, 'ca.pem')), crls: crlDerOf(readFileSync(crlFile)) }, at).ok).toBe(false);
  });
});
