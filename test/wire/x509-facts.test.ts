import fc from 'fast-check';
import * as x509 from '@peculiar/x509';
import { describe, expect, it } from 'vitest';
import { makeCa, makeIntermediate } from '../../src/pki/ca.js';
import { issueEndpoint } from '../../src/pki/endpoint.js';
import { x509Facts } from '../../src/wire/x509-facts.js';

const dates = { notBefore: new Date(Date.UTC(2026, 0, 1, 12, 30, 15)), notAfter: new Date(Date.UTC(2051, 5, 30, 23, 59, 59)) };

/** The same facts as @peculiar/x509 (a full schema parser) reads them. */
function reference(der: Uint8Array) {
  const c = new x509.X509Certificate(der);
  const bc = c.getExtension(x509.BasicConstraintsExtension);
  const ku = c.getExtension(x509.KeyUsagesExtension);
  const san = c.getExtension(x509.SubjectAlternativeNameExtension)?.names.items ?? [];
  return {
    notBefore: c.notBefore.getTime(),
    notAfter: c.notAfter.getTime(),
    keyUsage: ku?.usages,
    isCa: bc?.ca ?? false,
    pathLength: bc?.pathLength,
    dnsNames: san.filter((n) => n.type === 'dns').map((n) => n.value),
    ipAddresses: san.filter((n) => n.type === 'ip').map((n) => n.value),
    emails: san.filter((n) => n.type === 'email').map((n) => n.value),
    cn: c.subjectName.getField('CN')[0],
  };
}

describe('x509Facts (direct DER walk)', () => {
  it('reads what a schema parser reads, for CAs, intermediates and end entities', async () => {
    const ca = await makeCa({ ...dates, name: 'Facts Root' });
    const mid = await makeIntermediate(ca, { ...dates, name: 'Facts Mid' });
    const leaves = [
      await issueEndpoint(ca, { ...dates, commonName: 'vpn', dnsNames: ['vpn.shoal.test', 'b.shoal.test'], ipAddresses: ['198.18.1.10', '2001:db8::1'], emails: ['ops@shoal.test'] }),
      await issueEndpoint(ca, { ...dates, commonName: 'rsa', dnsNames: ['r.shoal.test'], keyType: 'rsa', intermediate: mid }),
      await issueEndpoint(ca, { ...dates, commonName: 'noku', keyUsage: 'key-encipherment-only' }),
    ];
    for (const der of [ca.rootDer, mid.der, ...leaves.map((l) => l.certDer)]) {
      const f = x509Facts(der);
      if (typeof f === 'string') throw new Error(f);
      const { subjectDer: _s, ...mine } = f;
      expect(mine).toEqual(reference(der));
    }
  });

  it('refuses truncated and random input with a reason, never throwing', async () => {
    const ca = await makeCa({ ...dates, name: 'Facts Root 2' });
    for (let i = 0; i < ca.rootDer.length; i += 13) expect(typeof x509Facts(ca.rootDer.subarray(0, i))).toBe('string');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (junk) => {
        expect(['string', 'object']).toContain(typeof x509Facts(junk));
      }),
    );
  });
});
