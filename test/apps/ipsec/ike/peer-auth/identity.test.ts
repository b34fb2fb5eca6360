import { Name } from '@peculiar/x509';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ClientLeaf } from '../../../../../src/apps/ipsec/ike/peer-auth/client-cert.js';
import {
  formatIdentity,
  identityFromText,
  identityMatches,
  identityPayload,
} from '../../../../../src/apps/ipsec/ike/peer-auth/identity.js';
import { ID_TYPE, type IdPayload } from '../../../../../src/wire/ike/id.js';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const dnDer = (s: string): Uint8Array => new Uint8Array(new Name(s).toArrayBuffer());

function id(idType: number, data: Uint8Array | string): IdPayload {
  return { idType, data: typeof data === 'string' ? text(data) : data };
}

describe('identityPayload', () => {
  it.each([
    ['fqdn:client1.shoal.test', id(ID_TYPE.FQDN, 'client1.shoal.test')],
    ['dns:vpn.shoal.test', id(ID_TYPE.FQDN, 'vpn.shoal.test')],
    ['client1.shoal.test', id(ID_TYPE.FQDN, 'client1.shoal.test')],
    ['@vpn.shoal.test', id(ID_TYPE.FQDN, 'vpn.shoal.test')],
    ['email:alice@shoal.test', id(ID_TYPE.RFC822_ADDR, 'alice@shoal.test')],
    ['rfc822:alice@shoal.test', id(ID_TYPE.RFC822_ADDR, 'alice@shoal.test')],
    ['userfqdn:alice@shoal.test', id(ID_TYPE.RFC822_ADDR, 'alice@shoal.test')],
    ['alice@shoal.test', id(ID_TYPE.RFC822_ADDR, 'alice@shoal.test')],
    ['@@alice@shoal.test', id(ID_TYPE.RFC822_ADDR, 'alice@shoal.test')],
    ['ipv4:198.18.0.5', id(ID_TYPE.IPV4_ADDR, Uint8Array.of(198, 18, 0, 5))],
    ['198.18.0.5', id(ID_TYPE.IPV4_ADDR, Uint8Array.of(198, 18, 0, 5))],
    ['2001:db8::1', id(ID_TYPE.IPV6_ADDR, Uint8Array.of(0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1))],
    ['keyid:#0a0B', id(ID_TYPE.KEY_ID, Uint8Array.of(10, 11))],
    ['@#0a0b', id(ID_TYPE.KEY_ID, Uint8Array.of(10, 11))],
    ['keyid:abc', id(ID_TYPE.KEY_ID, 'abc')],
    ['fqdn:#41', id(ID_TYPE.FQDN, 'A')],
    ['CN=client1, O=Shoal', id(ID_TYPE.DER_ASN1_DN, dnDer('CN=client1, O=Shoal'))],
    ['dn:CN=client1, O=Shoal', id(ID_TYPE.DER_ASN1_DN, dnDer('CN=client1, O=Shoal'))],
    ['asn1dn:C=CH, O=strongSwan, CN=moon', id(ID_TYPE.DER_ASN1_DN, dnDer('C=CH, O=strongSwan, CN=moon'))],
    ['  fqdn:spaced.example  ', id(ID_TYPE.FQDN, 'spaced.example')],
  ])('%s', (input, expected) => {
    expect(identityPayload(input)).toEqual(expected);
    expect(identityFromText(input)).toEqual(expected);
  });

  it.each([
    '',
    '   ',
    '%any',
    'ipv4:300.1.1.1',
    'ipv4:client1',
    '300.1.1.1',
    '010.1.1.1',
    'ipv6:1::2::3',
    'fqdn:has space.example',
    'two words',
    'fqdn:',
    'email:@shoal.test',
    'alice@',
    'keyid:#abc',
    'keyid:#zz',
    'dn:garbage',
    'CN=a, XX=b',
    'asn1gn:text',
  ])('refuses %j', (input) => {
    expect(() => identityPayload(input)).toThrow(RangeError);
  });
});

describe('formatIdentity', () => {
  it.each([
    [id(ID_TYPE.FQDN, 'client1.shoal.test'), 'fqdn:client1.shoal.test'],
    [id(ID_TYPE.RFC822_ADDR, 'alice@shoal.test'), 'email:alice@shoal.test'],
    [id(ID_TYPE.IPV4_ADDR, Uint8Array.of(198, 18, 0, 5)), 'ipv4:198.18.0.5'],
    [id(ID_TYPE.IPV6_ADDR, Uint8Array.of(0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1)), 'ipv6:2001:db8::1'],
    [id(ID_TYPE.DER_ASN1_DN, dnDer('CN=client1, O=Shoal')), 'dn:CN=client1, O=Shoal'],
    [id(ID_TYPE.KEY_ID, Uint8Array.of(0xde, 0xad)), 'keyid:#dead'],
    [id(ID_TYPE.IPV4_ADDR, Uint8Array.of(1, 2, 3)), 'ipv4:#010203'],
    [id(ID_TYPE.FQDN, Uint8Array.of(0x41, 0x0a)), 'fqdn:#410a'],
    [id(ID_TYPE.DER_ASN1_DN, Uint8Array.of(0x30, 0x03)), 'dn:#3003'],
    [id(77, Uint8Array.of(1)), 'id77:#01'],
  ])('%j → %s', (payload, expected) => {
    expect(formatIdentity(payload)).toBe(expected);
  });

  const label = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,10}$/).filter((l) => !l.endsWith('-'));
  const host = fc.tuple(label, fc.array(label, { minLength: 1, maxLength: 3 })).map(([h, rest]) => [h, ...rest].join('.'))
    .filter((h) => !/^[\d.]+$/.test(h));
  const identities = fc.oneof(
    host.map((h) => id(ID_TYPE.FQDN, h)),
    fc.tuple(label, host).map(([u, h]) => id(ID_TYPE.RFC822_ADDR, `${u}@${h}`)),
    fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => id(ID_TYPE.IPV4_ADDR, b)),
    fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => id(ID_TYPE.IPV6_ADDR, b)),
    fc.uint8Array({ minLength: 1, maxLength: 20 }).map((b) => id(ID_TYPE.KEY_ID, b)),
    fc.tuple(label, label).map(([cn, o]) => id(ID_TYPE.DER_ASN1_DN, dnDer(`CN=${cn}, O=${o}`))),
    // Arbitrary bytes fall back to "#hex", which still parses back.
    fc.tuple(fc.constantFrom(ID_TYPE.FQDN, ID_TYPE.RFC822_ADDR, ID_TYPE.DER_ASN1_DN), fc.uint8Array({ minLength: 1, maxLength: 30 }))
      .map(([t, b]) => id(t, b)),
  );

  it('parses back to the same payload', () => {
    fc.assert(
      fc.property(identities, (p) => {
        expect(identityPayload(formatIdentity(p))).toEqual(p);
      }),
      { numRuns: 500 },
    );
  });

  it('never throws', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 40 }), (t, d) => {
      formatIdentity({ idType: t, data: d });
    }));
  });
});

describe('identityMatches', () => {
  const leaf: ClientLeaf = {
    publicKey: undefined as never,
    subjectDn: 'CN=client1, O=Shoal',
    subjectDer: dnDer('CN=client1, O=Shoal'),
    dnsNames: ['Client1.Shoal.test', 'alt.shoal.test'],
    ipAddresses: ['198.18.0.5', '2001:db8::5'],
    emails: ['client1@shoal.test'],
    serial: '1',
    keyType: 'ec-p256',
  };

  it.each([
    ['fqdn:client1.shoal.test', true],
    ['fqdn:CLIENT1.shoal.TEST', true],
    ['fqdn:alt.shoal.test', true],
    ['fqdn:client1', false],
    ['fqdn:other.shoal.test', false],
    ['email:client1@shoal.test', true],
    ['email:Client1@Shoal.Test', true],
    ['email:client2@shoal.test', false],
    ['ipv4:198.18.0.5', true],
    ['ipv4:198.18.0.6', false],
    ['ipv6:2001:db8:0::5', true],
    ['ipv6:2001:db8::6', false],
    ['dn:CN=client1, O=Shoal', true],
    ['dn:CN=client1, O=Other', false],
    ['dn:O=Shoal, CN=client1', false],
    ['keyid:#01', false],
  ] as const)('%s → %s', (input, expected) => {
    expect(identityMatches(identityPayload(input), leaf)).toBe(expected);
  });

  it('never matches the CN as an FQDN', () => {
    expect(identityMatches(identityPayload('fqdn:client1'), { ...leaf, subjectDn: 'CN=client1', dnsNames: [] })).toBe(false);
  });
});
