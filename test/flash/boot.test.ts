/**
 * Booting a member from its flash personality (src/flash/boot.ts): build →
 * sign → install → boot → the real daemon started from the materialised
 * configuration; and every refusal — a flipped byte in each section, a
 * truncated image, a wrong key, a wrong software digest, a future format
 * version, a missing section, a broken policy — stops the boot with a
 * message naming what failed and writes nothing.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDaemonConfig, startDaemon } from '../../src/daemon/daemon.js';
import { bootPersonality } from '../../src/flash/boot.js';
import { buildPersonality } from '../../src/flash/build.js';
import { installPersonality } from '../../src/flash/device.js';
import { MemoryMedium } from '../../src/flash/medium-memory.js';
import { parsePolicy } from '../../src/flash/policy.js';
import { parseTrustRoot, signImage } from '../../src/flash/signing.js';
import { slotFile } from '../../src/flash/slots.js';
import { ShoalError } from '../../src/lib/errors.js';
import { askMember } from '../../src/mgmt/admin/client.js';
import type { StatusView } from '../../src/mgmt/admin/views.js';
import { jsonLogger } from '../../src/mgmt/log.js';
import { issueMember } from '../../src/pki/dev-pki.js';
import { certificatePem, privateKeyPem } from '../../src/pki/pem.js';
import { ByteWriter } from '../../src/wire/byte-writer.js';
import { encodeImage, encodeSections, FORMAT_VERSION, HEADER_BYTES, MAGIC, readFrame, sectionName, SECTION, type Personality } from '../../src/wire/flash-image.js';
import { adminKey, developmentCa, PSK_SECRET, VALIDITY, writeMember } from './member-fixture.js';
import { signedMember, SOFTWARE, type Signed } from './personalities.js';

const scratch = mkdtempSync(join(tmpdir(), 'shoal-boot-'));
let s: Signed;
let n = 0;
/** A fresh path under the scratch directory; created when `make`. */
const newDir = (name: string, make = false): string => {
  const d = join(scratch, `${name}-${n++}`);
  if (make) mkdirSync(d);
  return d;
};
beforeAll(async () => {
  s = await signedMember(newDir('member', true));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const mode = (path: string): number => statSync(path).mode & 0o777;

/** A device holding `image` in slot a (written behind install's back, as a corrupted card would). */
async function deviceHolding(image: Uint8Array): Promise<MemoryMedium> {
  const m = new MemoryMedium();
  await installPersonality(m, s.image, s.root);
  await m.write(slotFile('a'), image);
  return m;
}

async function refusedBoot(image: Uint8Array, o: { software?: Uint8Array; root?: ReturnType<typeof parseTrustRoot> } = {}): Promise<string> {
  const runtimeDir = newDir('run');
  try {
    await bootPersonality({ device: await deviceHolding(image), trustRoot: o.root ?? s.root, softwareDigest: o.software ?? SOFTWARE, runtimeDir });
  } catch (e) {
    if (!(e instanceof ShoalError)) throw e;
    expect(existsSync(runtimeDir), 'nothing written').toBe(false);
    expect(readdirSync(scratch).filter((f) => f.startsWith(`.run-`)), 'no staging left').toEqual([]);
    return e.message;
  }
  throw new Error('booted');
}

const signed = (p: Personality): Uint8Array => signImage(encodeImage(p), s.admin.privateKey);

describe('boot from a personality', () => {
  it('builds, signs, installs and boots a control-plane member, and the daemon runs from it', async () => {
    const dir = newDir('cp', true);
    const port = 20000 + Math.floor(Math.random() * 20000);
    const member = await writeMember(dir, { controlPlaneOnly: true, port, crl: true });
    const admin = adminKey('ed25519');
    const root = parseTrustRoot(admin.publicPem);
    const image = signImage(encodeImage(buildPersonality({ configPath: member.configPath, softwareDigest: SOFTWARE })), admin.privateKey);
    const device = join(dir, 'flash');
    await installPersonality(device, image, root);
    const runtimeDir = join(dir, 'run', 'personality');
    const booted = await bootPersonality({ device, trustRoot: root, softwareDigest: SOFTWARE, runtimeDir });
    expect([booted.slot, booted.configVersion, booted.trial]).toEqual(['a', 1, false]);
    expect(booted.configPath).toBe(join(runtimeDir, 'config.json'));
    expect(readFileSync(join(runtimeDir, 'member-crl-0.crl'))).toEqual(readFileSync(join(dir, 'members.crl')));
    expect(readDaemonConfig(booted.configPath).crlPaths).toEqual([join(runtimeDir, 'member-crl-0.crl')]);
    const lines: string[] = [];
    const daemon = await startDaemon(booted.configPath, jsonLogger((l) => lines.push(l), 'warn'));
    try {
      await booted.markGood();
      const status = (await askMember(join(runtimeDir, 'm1.sock'), 'status')) as StatusView;
      expect(status).toMatchObject({ cluster: 'flash-test', self: '127.0.0.1', configVersion: 1 });
    } finally {
      await daemon.stop();
    }
  });

  it('materialises a lab member with IPsec: fixed names, member lists, every file, private modes', async () => {
    const runtimeDir = newDir('run');
    const device = new MemoryMedium();
    await installPersonality(device, s.image, s.root);
    const booted = await bootPersonality({ device, trustRoot: s.root, softwareDigest: SOFTWARE, runtimeDir });
    expect(readdirSync(runtimeDir).sort()).toEqual(['config.json', 'ipsec-certificate.pem', 'ipsec-client-ca-0.pem', 'ipsec-key.pem', 'member.key', 'member.pem', 'trusted-cas.pem']);
    expect(mode(runtimeDir)).toBe(0o700);
    for (const f of ['config.json', 'member.key', 'ipsec-key.pem']) expect(mode(join(runtimeDir, f)), f).toBe(0o600);
    const doc = JSON.parse(readFileSync(booted.configPath, 'utf8')) as Record<string, Record<string, unknown>>;
    expect(doc.member).toEqual({ address: '198.18.3.11', certificate: 'member.pem', key: 'member.key' });
    expect(doc.trust).toEqual({ ca: ['trusted-cas.pem'], allowedMembers: ['member-1', 'member-2'], revokedSerials: ['0badc0de'] });
    expect(doc.ipsec).toMatchObject({ certificate: 'ipsec-certificate.pem', key: 'ipsec-key.pem', clientCa: ['ipsec-client-ca-0.pem'], psk: [{ identity: 'fqdn:psk1.shoal.test', secret: PSK_SECRET }] });
    expect(readFileSync(join(runtimeDir, 'ipsec-certificate.pem'))).toEqual(readFileSync(join(s.member.dir, 'vpn.pem')));
    expect(readFileSync(join(runtimeDir, 'ipsec-key.pem'), 'utf8')).toBe(s.member.vpnKeyPem);
    expect(readFileSync(join(runtimeDir, 'member.key'), 'utf8')).toBe(s.member.memberKeyPem);
    const cfg = readDaemonConfig(booted.configPath);
    expect([cfg.configVersion, cfg.ipsec?.certificatePath, cfg.keyPath]).toEqual([1, join(runtimeDir, 'ipsec-certificate.pem'), join(runtimeDir, 'member.key')]);
    expect(booted.logArea).toEqual({ path: '/var/lib/shoal/error-log', offset: 0, length: 1048576 });
  });

  it('replaces an earlier runtime directory whole, and leaves it alone when a boot is refused', async () => {
    const runtimeDir = newDir('run');
    const device = new MemoryMedium();
    await installPersonality(device, s.image, s.root);
    await bootPersonality({ device, trustRoot: s.root, softwareDigest: SOFTWARE, runtimeDir });
    writeFileSync(join(runtimeDir, 'leftover'), 'x');
    await bootPersonality({ device, trustRoot: s.root, softwareDigest: SOFTWARE, runtimeDir });
    expect(existsSync(join(runtimeDir, 'leftover'))).toBe(false);
    writeFileSync(join(runtimeDir, 'leftover'), 'x');
    await expect(bootPersonality({ device, trustRoot: s.root, softwareDigest: new Uint8Array(32), runtimeDir })).rejects.toThrow(/software digest mismatch/);
    expect(existsSync(join(runtimeDir, 'leftover'))).toBe(true);
  });
  it('rolls back a slot whose files the daemon loaders refuse (a broken member CRL), leaving no staging behind', async () => {
    const doc = JSON.parse(s.personality.configText) as { trust: Record<string, unknown> };
    doc.trust.crl = ['member-crl-0.crl'];
    const broken = signed({ ...s.personality, configText: JSON.stringify(doc), files: [...s.personality.files, { name: 'member-crl-0.crl', secret: false, data: new Uint8Array([0x30, 0x03, 1, 2, 3]) }] });
    const device = new MemoryMedium();
    await installPersonality(device, s.image, s.root);
    await installPersonality(device, broken, s.root); // install checks signature and personality, not the loaders
    const runtimeDir = newDir('run');
    const booted = await bootPersonality({ device, trustRoot: s.root, softwareDigest: SOFTWARE, runtimeDir });
    expect(booted.slot).toBe('a');
    expect(booted.rolledBack?.reason).toMatch(/^slot b refused: personality: .*member-crl-0\.crl/);
    expect(readdirSync(runtimeDir)).not.toContain('member-crl-0.crl');
    expect(readdirSync(scratch).filter((f) => f.startsWith('.run-'))).toEqual([]);
  });
});

describe('boot refuses, naming what failed', () => {
  it('a flipped byte in every section', async () => {
    const frame = readFrame(s.image);
    for (const sec of frame.sections) {
      const bad = s.image.slice();
      const at = sec.body.byteOffset - s.image.byteOffset + (sec.body.length >> 1);
      bad[at] = (bad[at] ?? 0) ^ 0x01;
      expect(await refusedBoot(bad), sectionName(sec.type)).toMatch(/^flash image: signature does not verify with trusted key sha256:[0-9a-f]{16}: the image was altered after signing$/);
    }
    const sig = s.image.slice();
    sig[sig.length - 10] = (sig[sig.length - 10] ?? 0) ^ 0x01;
    expect(await refusedBoot(sig)).toMatch(/signature does not verify/);
  });

  it('a truncated image', async () => {
    expect(await refusedBoot(s.image.subarray(0, s.image.length - 1))).toBe(`flash image: truncated: header says ${s.image.length} bytes, only ${s.image.length - 1} present`);
    expect(await refusedBoot(s.image.subarray(0, 5))).toBe('flash image: truncated: 5 bytes, shorter than the 16-byte header');
  });

  it('an image signed by another key', async () => {
    const other = signImage(s.image, adminKey().privateKey);
    expect(await refusedBoot(other)).toMatch(/^flash image: signed by key sha256:[0-9a-f]{16}, which this box does not trust/);
    expect(await refusedBoot(s.image, { root: parseTrustRoot(adminKey('ed25519').publicPem) })).toMatch(/which this box does not trust/);
  });

  it('a software digest that does not match, naming both', async () => {
    const running = new Uint8Array(32).fill(0x11);
    expect(await refusedBoot(s.image, { software: running })).toBe(
      `software digest mismatch: the personality requires sha256:${'5a'.repeat(32)}, this software is sha256:${'11'.repeat(32)}`,
    );
  });

  it('a future format version', async () => {
    const future = s.image.slice();
    future[9] = FORMAT_VERSION + 1;
    expect(await refusedBoot(future)).toBe('flash image: unknown format version 2 (this software reads version 1)');
  });

  it('a missing section, even when properly signed', async () => {
    const sections = encodeSections(s.personality).filter((x) => x.type !== SECTION.LOG_AREA);
    const length = HEADER_BYTES + sections.reduce((k, x) => k + 8 + x.body.length, 0);
    const w = new ByteWriter().bytes(MAGIC).u16(FORMAT_VERSION).u16(0).u32(length);
    for (const x of sections) w.u16(x.type).u16(1).u32(x.body.length).bytes(x.body);
    expect(await refusedBoot(signImage(w.finish(), s.admin.privateKey))).toBe('flash image: missing section log-area');
  });

  it('a missing configuration field, a version that disagrees, a file the image lacks', async () => {
    const doc = JSON.parse(s.personality.configText) as { member: Record<string, unknown>; ipsec: Record<string, unknown> };
    delete doc.member.address;
    expect(await refusedBoot(signed({ ...s.personality, configText: JSON.stringify(doc) }))).toBe('personality: config: member.address: must be a non-empty string');
    expect(await refusedBoot(signed({ ...s.personality, configVersion: 5 }))).toBe("personality: config-version section says 5 but the configuration's cluster.configVersion is 1");
    expect(await refusedBoot(signed({ ...s.personality, files: s.personality.files.filter((f) => f.name !== 'ipsec-key.pem') }))).toBe(
      "personality: configuration ipsec.key names 'ipsec-key.pem', which the image does not carry",
    );
    expect(await refusedBoot(signed({ ...s.personality, memberKey: new Uint8Array(privateKeyPemDer()) }))).toMatch(/^personality: member key does not belong to the member certificate/);
  });

  it('a configuration the security policy forbids', async () => {
    const doc = JSON.parse(s.personality.configText) as { ipsec: Record<string, unknown> };
    doc.ipsec.espProposals = ['aes256gcm16', 'null-sha256'];
    expect(await refusedBoot(signed({ ...s.personality, configText: JSON.stringify(doc) }))).toBe(
      "security policy: ipsec.espProposals[1] 'null-sha256' has no encryption (null), but the policy requires encryption",
    );
    const strict = parsePolicy({ ikeAlgorithms: ['aes256gcm16', 'prfsha256', 'ecp256'] });
    expect(await refusedBoot(signed({ ...s.personality, policy: strict }))).toBe(
      "security policy: ipsec.ikeProposals[1] 'aes128gcm16-prfsha256-x25519' (a default) uses aes128gcm16, which the policy does not allow",
    );
    expect(await refusedBoot(signed({ ...s.personality, policy: { ...strict, protocols: ['l2tp'] } }))).toBe('security policy: tunnel protocol ipsec is configured but not allowed');
  });
});

/** Some other valid private key, as PKCS#8 DER. */
function privateKeyPemDer(): Buffer {
  return adminKey().privateKey.export({ type: 'pkcs8', format: 'der' });
}

describe('build refuses', () => {
  it('development certificates (OU=Shoal development), naming them', async () => {
    const dir = newDir('dev', true);
    const ca = await developmentCa();
    const m = await writeMember(dir, { ca });
    expect(() => buildPersonality({ configPath: m.configPath, softwareDigest: SOFTWARE })).toThrow(
      /^development certificates \(OU=Shoal development\) cannot go into a personality image: member-chain\[0\] .*CN=member-1.*; trusted-cas\[0\] .*CN=Shoal Lab Dev CA/,
    );
    // A production member chain with only the VPN certificate from the development CA is refused too.
    const prod = await writeMember(newDir('mixed', true));
    const vpn = await issueMember(ca, { ...VALIDITY, cn: 'vpn', ip: '198.18.1.10' });
    writeFileSync(join(prod.dir, 'vpn.pem'), vpn.chain.map(certificatePem).join(''));
    writeFileSync(join(prod.dir, 'vpn.key'), privateKeyPem(vpn.privateKey));
    expect(() => buildPersonality({ configPath: prod.configPath, softwareDigest: SOFTWARE })).toThrow(/file ipsec-certificate.pem\[0\]/);
  });

  it('a configuration the policy forbids, and the debugging key dump', async () => {
    expect(() => buildPersonality({ configPath: s.member.configPath, softwareDigest: SOFTWARE, policy: parsePolicy({ espAlgorithms: ['aes256gcm16'] }) })).toThrow(
      "security policy: ipsec.espProposals[1] 'aes128gcm16' (a default) uses aes128gcm16, which the policy does not allow",
    );
    const m = await writeMember(newDir('keys', true), { ipsec: { espKeysFile: 'esp_sa' } });
    expect(() => buildPersonality({ configPath: m.configPath, softwareDigest: SOFTWARE })).toThrow(/espKeysFile .* has no place in a personality/);
  });

  it('a member CRL the daemon could not read, as the daemon would say it', async () => {
    const m = await writeMember(newDir('crl', true), { crl: true });
    writeFileSync(join(m.dir, 'members.crl'), 'not a CRL');
    expect(() => buildPersonality({ configPath: m.configPath, softwareDigest: SOFTWARE })).toThrow(/members\.crl/);
  });
});
