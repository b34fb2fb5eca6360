/**
 * Trust roots and administrator keys (src/flash/signing.ts), the software
 * digest (src/flash/software-digest.ts) and the policy document parser.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultPolicy, parsePolicy } from '../../src/flash/policy.js';
import { generateAdminKey, keyIdOf, parseTrustRoot } from '../../src/flash/signing.js';
import { parseDigest, softwareDigest, softwareFiles } from '../../src/flash/software-digest.js';
import { makeCa } from '../../src/pki/dev-pki.js';
import { certificatePem } from '../../src/pki/pem.js';
import { VALIDITY } from './member-fixture.js';

const scratch = mkdtempSync(join(tmpdir(), 'shoal-sign-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('trust roots', () => {
  it('takes a public key or a certificate; the key id is the SHA-256 of the SPKI', async () => {
    const k = generateAdminKey('ed25519');
    const root = parseTrustRoot(k.publicKeyPem);
    expect(root.keys.map((x) => [x.type, x.label])).toEqual([['ed25519', 'public key']]);
    const spki = Buffer.from(k.publicKeyPem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    expect(Buffer.from(root.keys[0]?.keyId ?? []).toString('hex')).toBe(createHash('sha256').update(spki).digest('hex'));
    const ca = await makeCa({ ...VALIDITY, name: 'Shoal Admin' });
    const fromCert = parseTrustRoot(certificatePem(ca.rootDer) + k.publicKeyPem);
    expect(fromCert.keys.map((x) => x.type)).toEqual(['ecdsa-p256', 'ed25519']);
    expect(fromCert.keys[0]?.label).toMatch(/^certificate CN=Shoal Admin/);
  });

  it('refuses a private key, a non-administrator key type, and a file without keys', () => {
    const ec = generateAdminKey('ecdsa-p256');
    expect(() => parseTrustRoot(ec.privateKeyPem, 'admin.key')).toThrow('trust root admin.key: holds a private key; provision the public key (shoal flash keygen writes it as .pub)');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(() => parseTrustRoot(rsa, 'rsa.pub')).toThrow(/public key is a rsa key; an administrator key is ECDSA P-256 or Ed25519/);
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(() => parseTrustRoot(p384)).toThrow(/an administrator key is ECDSA P-256 or Ed25519/);
    expect(() => parseTrustRoot('hello')).toThrow('trust root (text): holds no PEM public key or certificate');
  });

  it('keyIdOf gives the same id for the private and the public half', () => {
    const k = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(keyIdOf(k.privateKey)).toEqual(keyIdOf(k.publicKey));
  });
});

describe('software digest', () => {
  function tree(name: string, files: Record<string, string>): string {
    const root = join(scratch, name);
    for (const [rel, text] of Object.entries(files)) {
      mkdirSync(join(root, rel, '..'), { recursive: true });
      writeFileSync(join(root, rel), text);
    }
    return root;
  }
  const base = { 'package.json': '{}', 'dist/src/a.js': 'a', 'dist/src/x/b.js': 'b', 'build/Release/n.node': 'native' };

  it('covers package.json, dist/src/**/*.js and build/Release/*.node, in sorted order', () => {
    const root = tree('t1', { ...base, 'dist/test/t.js': 'test', 'dist/src/a.js.map': 'map', 'node_modules/x/index.js': 'dep' });
    expect(softwareFiles(root)).toEqual(['build/Release/n.node', 'dist/src/a.js', 'dist/src/x/b.js', 'package.json']);
  });

  it('is the same for the same files wherever they are, and changes with any content or name', () => {
    const d = softwareDigest(tree('t2', base));
    expect(softwareDigest(tree('t3', { ...base, 'dist/test/ignored.js': 'x' }))).toEqual(d);
    expect(softwareDigest(tree('t4', { ...base, 'dist/src/a.js': 'A' }))).not.toEqual(d);
    expect(softwareDigest(tree('t5', { ...base, 'dist/src/a.js': '', 'dist/src/x/b.js': 'ab' }))).not.toEqual(d);
    const renamed: Record<string, string> = { 'package.json': '{}', 'dist/src/c.js': 'a', 'dist/src/x/b.js': 'b', 'build/Release/n.node': 'native' };
    expect(softwareDigest(tree('t6', renamed))).not.toEqual(d);
    expect(d).toHaveLength(32);
  });

  it('refuses a tree with no built program, and parses digests', () => {
    expect(() => softwareDigest(tree('t7', { 'package.json': '{}' }))).toThrow(/no built software under/);
    expect(parseDigest(`sha256:${'ab'.repeat(32)}`)).toEqual(new Uint8Array(32).fill(0xab));
    expect(() => parseDigest('abc')).toThrow("'abc' is not a SHA-256 digest (64 hex digits)");
  });
});

describe('policy documents', () => {
  it('fills what is missing from the default and checks every name', () => {
    expect(parsePolicy({})).toEqual(defaultPolicy());
    expect(parsePolicy({ protocols: ['pptp', 'ipsec'], requireEncryption: false, espAlgorithms: ['AES256GCM16', 'null'] })).toMatchObject({
      protocols: ['ipsec', 'pptp'],
      requireEncryption: false,
      espAlgorithms: ['aes256gcm16', 'null'],
    });
    expect(() => parsePolicy({ protocols: ['gre'] })).toThrow('policy: protocols: must be a list of ipsec, l2tp, pptp');
    expect(() => parsePolicy({ ikeAlgorithms: ['des'] })).toThrow(/policy: ikeAlgorithms: unknown algorithm 'des'/);
    expect(() => parsePolicy({ requireEncrypton: true })).toThrow(/policy: requireEncrypton: unknown setting/);
  });
});
