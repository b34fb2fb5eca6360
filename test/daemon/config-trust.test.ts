/**
 * The daemon configuration's "trust" section: a typo there used to be ignored
 * without a word (an unknown key such as "allowedMember" dropped the allowed
 * list altogether; an entry with a stray space refused its member only at
 * join). Each is now one line at load, naming the entry.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseDaemonConfig } from '../../src/daemon/config.js';
import { loadCredentials } from '../../src/daemon/credentials.js';
import { certificatePem, privateKeyPem } from '../../src/pki/pem.js';
import { standardFixtures } from '../support/pki.js';

const BASE = {
  cluster: { name: 'lab' },
  member: { address: '198.18.0.1', certificate: 'm1.pem', key: 'm1.key' },
  trust: { ca: ['ca.pem'] },
};

const parse = (trust: Record<string, unknown>) => parseDaemonConfig({ ...BASE, trust: { ca: ['ca.pem'], ...trust } }, (p) => p);
const refusal = (message: string) => expect.objectContaining({ code: 'BAD_CONFIG', message });

const work = mkdtempSync(join(tmpdir(), 'shoal-config-trust-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('config trust', () => {
  it('takes a clean allowed list and hex serials', () => {
    const c = parse({ allowedMembers: ['member-1', 'member-2'], revokedSerials: ['0BADc0de'] });
    expect(c.allowedMembers).toEqual(['member-1', 'member-2']);
    expect(c.revokedSerials).toEqual(['0BADc0de']);
    expect(parse({}).allowedMembers).toBeUndefined();
  });

  it('refuses an unknown trust setting (a misspelt allowedMembers would have allowed every member)', () => {
    expect(() => parse({ allowedMember: ['member-1'] })).toThrow(refusal('config: trust.allowedMember: unknown setting (known: ca, allowedMembers, revokedSerials, crl)'));
  });

  it('refuses an allowed entry that cannot be a certificate name, a doubled one and an empty list, naming the entry', () => {
    expect(() => parse({ allowedMembers: ['member-1', 'member-2 '] })).toThrow(
      refusal("config: trust.allowedMembers[1]: 'member-2 ' is not a member certificate name (letters, digits and . _ @ -, starting with a letter or digit, as `shoal pki issue-member` names them)"),
    );
    expect(() => parse({ allowedMembers: ['member-1', 'member-2', 'member-1'] })).toThrow(refusal("config: trust.allowedMembers[2]: 'member-1' is listed twice"));
    expect(() => parse({ allowedMembers: [] })).toThrow(/^config: trust\.allowedMembers: is empty, so no member could join/);
    expect(() => parse({ revokedSerials: ['0x1f'] })).toThrow(refusal("config: trust.revokedSerials[0]: '0x1f' is not a serial number in hex (as `shoal pki list` prints it)"));
  });

  it("refuses a list without this member's own certificate name when the credentials load", async () => {
    const fx = await standardFixtures();
    const m = fx.members[0];
    if (!m) throw new Error('fixture');
    writeFileSync(join(work, 'm1.pem'), m.chain.map(certificatePem).join(''));
    writeFileSync(join(work, 'm1.key'), privateKeyPem(m.privateKey));
    writeFileSync(join(work, 'ca.pem'), certificatePem(fx.ca.rootDer));
    const load = (allowedMembers: string[]) =>
      loadCredentials(parseDaemonConfig({ ...BASE, trust: { ca: ['ca.pem'], allowedMembers } }, (p) => join(work, p)));
    expect(load(['member-1', 'member-2']).trust.allowedMembers).toEqual(['member-1', 'member-2']);
    expect(() => load(['member-l', 'member-2'])).toThrow(
      refusal("config: trust.allowedMembers: does not list this member's own certificate name 'member-1' (listed: member-l, member-2)"),
    );
  });
});
