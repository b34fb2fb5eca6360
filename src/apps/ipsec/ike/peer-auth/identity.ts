/**
 * IKE identities (RFC 7296 §3.5) as text and against certificates:
 *
 *   config text ──identityPayload──► IdPayload ──formatIdentity──► "fqdn:client1.shoal.test"
 *   IDi payload + verified leaf ──identityMatches──► does the certificate vouch for it?
 *
 * The text syntax is strongSwan's `id =` (identification_create_from_string):
 * a "type:" prefix, or a plain form guessed from its shape, and "#hex" for raw
 * bytes. formatIdentity always writes the prefixed form, which parses back to
 * the same payload.
 */
import { Name } from '@peculiar/x509';
import { ID_TYPE, type IdPayload } from '../../../../wire/ike/id.js';
import type { ClientLeaf } from './cert-facts.js';
import { bytesEqual } from '../../../../wire/der.js';
import { formatIpv4Bytes, formatIpv6Bytes, ipv4Bytes, ipv6Bytes } from './ip-text.js';

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

/** Text for FQDN and RFC822 data, or undefined when it is not printable UTF-8 (then shown as hex). */
function printable(data: Uint8Array): string | undefined {
  try {
    const s = strictUtf8.decode(data);
    // No controls, spaces or '#' first: they would not parse back to the same bytes.
    return s !== '' && !/[\s\p{Cc}]/u.test(s) && !s.startsWith('#') ? s : undefined;
  } catch {
    return undefined;
  }
}

function dnText(der: Uint8Array): string | undefined {
  try {
    const text = new Name(der).toString();
    return text === '' ? undefined : text;
  } catch {
    return undefined;
  }
}

function rawForm(prefix: string, data: Uint8Array): string {
  return `${prefix}:#${hex(data)}`;
}

/** `prefix:text` when that parses back to exactly this payload, else the "#hex" form (which always does). */
function readable(prefix: string, textForm: string | undefined, id: IdPayload): string {
  if (textForm === undefined) return rawForm(prefix, id.data);
  const candidate = `${prefix}:${textForm}`;
  try {
    const back = identityPayload(candidate);
    if (back.idType === id.idType && bytesEqual(back.data, id.data)) return candidate;
  } catch {
    // Text the parser refuses (say "fqdn:$") is shown as hex instead.
  }
  return rawForm(prefix, id.data);
}

/** For logs and configuration: "fqdn:…", "email:…", "ipv4:…", "ipv6:…", "dn:…", "keyid:#hex"; never throws. */
export function formatIdentity(id: IdPayload): string {
  const d = id.data;
  switch (id.idType) {
    case ID_TYPE.IPV4_ADDR:
      return d.length === 4 ? `ipv4:${formatIpv4Bytes(d)}` : rawForm('ipv4', d);
    case ID_TYPE.IPV6_ADDR:
      return d.length === 16 ? `ipv6:${formatIpv6Bytes(d)}` : rawForm('ipv6', d);
    case ID_TYPE.FQDN:
      return readable('fqdn', printable(d), id);
    case ID_TYPE.RFC822_ADDR:
      return readable('email', printable(d), id);
    case ID_TYPE.DER_ASN1_DN:
      return readable('dn', dnText(d), id);
    case ID_TYPE.DER_ASN1_GN:
      return rawForm('asn1gn', d);
    case ID_TYPE.KEY_ID:
      // strongSwan's syntax: "keyid:" then '#' and hex; without '#' the text itself is the key id.
      return rawForm('keyid', d);
    default:
      return rawForm(`id${id.idType}`, d);
  }
}

/** The label rules of RFC 1123 §2.1, loosely: strongSwan takes any FQDN, but junk in config is a typo. */
const HOST = /^(?=.{1,253}\.?$)[A-Za-z0-9_*](?:[A-Za-z0-9_-]{0,62})?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})?)*\.?$/;
const ALL_NUMERIC = /^[\d.]+$/;
const LOCAL_PART = /^[^\s@]+$/;

function junk(text: string, why: string): never {
  throw new RangeError(`identity "${text}": ${why}`);
}

function fqdn(text: string, value: string): IdPayload {
  // "300.1.1.1" is a mistyped address, not a host name (a top-level label is never all digits).
  if (!HOST.test(value) || ALL_NUMERIC.test(value)) junk(text, 'not a host name');
  return { idType: ID_TYPE.FQDN, data: utf8.encode(value) };
}

function email(text: string, value: string): IdPayload {
  const at = value.lastIndexOf('@');
  if (at <= 0 || !LOCAL_PART.test(value.slice(0, at)) || !HOST.test(value.slice(at + 1))) junk(text, 'not an e-mail address');
  return { idType: ID_TYPE.RFC822_ADDR, data: utf8.encode(value) };
}

function dn(text: string, value: string): IdPayload {
  let der: Uint8Array;
  try {
    der = new Uint8Array(new Name(value).toArrayBuffer());
  } catch (err) {
    return junk(text, `not a distinguished name (${err instanceof Error ? err.message : String(err)})`);
  }
  // @peculiar/x509 quietly makes an empty Name out of text without attributes.
  if (new Name(der).toJSON().length === 0 || !value.includes('=')) junk(text, 'not a distinguished name');
  return { idType: ID_TYPE.DER_ASN1_DN, data: der };
}

function address(text: string, value: string, type: number): IdPayload {
  const data = type === ID_TYPE.IPV4_ADDR ? ipv4Bytes(value) : ipv6Bytes(value);
  if (data === undefined) junk(text, `not an IPv${type === ID_TYPE.IPV4_ADDR ? 4 : 6} address`);
  return { idType: type, data };
}

function hexData(text: string, digits: string): Uint8Array {
  if (digits === '' || digits.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(digits)) junk(text, 'bad hex after "#"');
  return new Uint8Array(Buffer.from(digits, 'hex'));
}

const PREFIXES: Record<string, number> = {
  ipv4: ID_TYPE.IPV4_ADDR,
  ipv6: ID_TYPE.IPV6_ADDR,
  fqdn: ID_TYPE.FQDN,
  dns: ID_TYPE.FQDN,
  email: ID_TYPE.RFC822_ADDR,
  rfc822: ID_TYPE.RFC822_ADDR,
  userfqdn: ID_TYPE.RFC822_ADDR,
  asn1dn: ID_TYPE.DER_ASN1_DN,
  dn: ID_TYPE.DER_ASN1_DN,
  asn1gn: ID_TYPE.DER_ASN1_GN,
  keyid: ID_TYPE.KEY_ID,
};

function typed(text: string, type: number, value: string): IdPayload {
  // strongSwan: "#" after the prefix means the bytes themselves, in hex.
  if (value.startsWith('#')) return { idType: type, data: hexData(text, value.slice(1)) };
  switch (type) {
    case ID_TYPE.IPV4_ADDR:
    case ID_TYPE.IPV6_ADDR:
      return address(text, value, type);
    case ID_TYPE.FQDN:
      return fqdn(text, value);
    case ID_TYPE.RFC822_ADDR:
      return email(text, value);
    case ID_TYPE.DER_ASN1_DN:
      return dn(text, value);
    case ID_TYPE.KEY_ID:
      if (value === '') junk(text, 'empty key id');
      return { idType: type, data: utf8.encode(value) };
    default:
      return junk(text, 'needs "#" and hex');
  }
}

/**
 * Parses an identity as written in configuration (strongSwan's `id =` forms):
 *   "fqdn:h", "dns:h", "email:u@h", "rfc822:…", "userfqdn:…", "ipv4:a", "ipv6:a",
 *   "dn:C=…", "asn1dn:…", "keyid:#hex", "keyid:text", any of them with "#hex";
 *   plain: "C=.., CN=.." (DN), "@h" (FQDN), "@@u@h" (e-mail), "@#hex" (key id),
 *   "u@h" (e-mail), an IPv4 or IPv6 literal, else a host name (FQDN).
 * Throws RangeError on text that is none of these (%any included: it is not one identity).
 */
export function identityPayload(text: string): IdPayload {
  const t = text.trim();
  if (t === '' || t === '%any' || t === '%any6') junk(text, 'not a single identity');
  const colon = t.indexOf(':');
  const prefix = colon > 0 ? PREFIXES[t.slice(0, colon).toLowerCase()] : undefined;
  if (prefix !== undefined) return typed(text, prefix, t.slice(colon + 1));
  if (t.includes('=')) return dn(text, t);
  if (t.startsWith('@#')) return { idType: ID_TYPE.KEY_ID, data: hexData(text, t.slice(2)) };
  if (t.startsWith('@@')) return email(text, t.slice(2));
  if (t.startsWith('@')) return fqdn(text, t.slice(1));
  if (t.includes('@')) return email(text, t);
  if (t.includes(':')) return address(text, t, ID_TYPE.IPV6_ADDR);
  if (ipv4Bytes(t) !== undefined) return address(text, t, ID_TYPE.IPV4_ADDR);
  return fqdn(text, t);
}

/** The same parser under the name the configuration layer looks for. */
export const identityFromText = identityPayload;

function sameText(data: Uint8Array, candidates: readonly string[]): boolean {
  const s = printable(data)?.toLowerCase();
  return s !== undefined && candidates.some((c) => c.toLowerCase() === s);
}

function sameAddress(data: Uint8Array, candidates: readonly string[]): boolean {
  return candidates.some((c) => {
    const b = c.includes(':') ? ipv6Bytes(c) : ipv4Bytes(c);
    return b !== undefined && bytesEqual(b, data);
  });
}

/**
 * Whether the certificate vouches for the identity the peer claimed (RFC 7296
 * §2.15: the ID must be bound to the key). FQDN and e-mail against the
 * subjectAltNames (case-insensitive, as strongSwan compares them), addresses
 * against iPAddress names, a DN against the subject bytes. Never the CN.
 */
export function identityMatches(id: IdPayload, leaf: ClientLeaf): boolean {
  switch (id.idType) {
    case ID_TYPE.FQDN:
      return sameText(id.data, leaf.dnsNames);
    case ID_TYPE.RFC822_ADDR:
      return sameText(id.data, leaf.emails);
    case ID_TYPE.IPV4_ADDR:
    case ID_TYPE.IPV6_ADDR:
      return sameAddress(id.data, leaf.ipAddresses);
    case ID_TYPE.DER_ASN1_DN:
      return bytesEqual(id.data, leaf.subjectDer);
    default:
      return false;
  }
}
