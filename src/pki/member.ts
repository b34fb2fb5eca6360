/**
 * Member certificates: a leaf for one cluster member, whose iPAddress
 * subjectAltName is the member's interconnect address (its MemberId), marked
 * with the member ExtendedKeyUsage (cluster/auth/member-purpose.ts).
 */
import { KeyObject } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { MEMBER_EKU } from '../cluster/auth/member-purpose.js';
import { normaliseSerial, type MemberCredentials } from '../cluster/auth/trust.js';
import type { MemberId } from '../cluster/types.js';
import { parseIpv4 } from '../lib/ipv4.js';
import { signByCa, type CaBundle } from './ca.js';
import { DEFAULT_KEY_TYPE, checkKeyType, derOf, generateKeyPair, randomSerial, type AnyKeyType } from './keys.js';
import type { Validity } from './validity.js';

export const DEFAULT_DNS_DOMAIN = 'shoal.test';

/** A member certificate chain with its keys, ready to hand to a member as credentials. */
export interface MemberBundle {
  cn: string;
  ip: string;
  memberId: MemberId;
  /** The leaf's serial, normalised (see normaliseSerial). */
  serial: string;
  /** Leaf first, then intermediates; the root only with includeRoot. */
  chain: Uint8Array[];
  privateKey: KeyObject;
  publicKey: KeyObject;
  credentials: MemberCredentials;
}

export interface MemberOptions extends Validity {
  cn: string;
  /** Dotted IPv4: becomes the iPAddress subjectAltName (and memberId). */
  ip: string;
  /** Subject O. Default: the issuing CA's. */
  organization?: string;
  /** The DNS subjectAltName is `${cn}.${dnsDomain}`. Default "shoal.test". */
  dnsDomain?: string;
  /** Default EC P-256. */
  keyType?: AnyKeyType;
  /** Let keyType be one members refuse (negative tests only). */
  allowUnsupportedKey?: boolean;
  /** Serial number, hex; default 8 random bytes. */
  serial?: string;
  keyUsage?: 'normal' | 'no-digital-signature';
  /** Issue from this intermediate (made with makeIntermediate from `ca`) instead of the root. */
  intermediate?: CaBundle;
  /** Put the root certificate at the end of the chain too. */
  includeRoot?: boolean;
  /** false: a DNS subjectAltName only, no IP. Default true. */
  ipSan?: boolean;
  /** The ExtendedKeyUsage: the member mark (default); 'none' or 'client' (clientAuth) make refused certificates for negative tests. */
  purpose?: 'member' | 'none' | 'client';
}

/** A member certificate for `cn` at `ip`, issued by `ca` or by opts.intermediate. */
export async function issueMember(ca: CaBundle, opts: MemberOptions): Promise<MemberBundle> {
  const keyType = opts.keyType ?? DEFAULT_KEY_TYPE;
  checkKeyType(keyType, opts.allowUnsupportedKey);
  const memberId = parseIpv4(opts.ip);
  const issuer = opts.intermediate ?? ca;
  const keys = await generateKeyPair(keyType);
  const serial = opts.serial ?? randomSerial();
  const encipher = keyType.startsWith('rsa') ? x509.KeyUsageFlags.keyEncipherment : x509.KeyUsageFlags.keyAgreement;
  const usages = opts.keyUsage === 'no-digital-signature' ? encipher : x509.KeyUsageFlags.digitalSignature | encipher;
  const san: x509.JsonGeneralNames = [{ type: 'dns', value: `${opts.cn}.${opts.dnsDomain ?? DEFAULT_DNS_DOMAIN}` }];
  if (opts.ipSan ?? true) san.push({ type: 'ip', value: opts.ip });
  const cert = await signByCa(issuer, {
    serial,
    commonName: opts.cn,
    organization: opts.organization ?? issuer.organization,
    notBefore: opts.notBefore,
    notAfter: opts.notAfter,
    publicKey: keys.publicKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(usages, true),
      // The member mark the join check requires (and nothing else, so it is no client's or server's certificate).
      ...(opts.purpose === 'none' ? [] : [new x509.ExtendedKeyUsageExtension([opts.purpose === 'client' ? x509.ExtendedKeyUsage.clientAuth : MEMBER_EKU])]),
      new x509.SubjectAlternativeNameExtension(san),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(issuer.keys.publicKey),
    ],
  });
  const chain = [derOf(cert), ...issuer.chainAboveLeaf, ...(opts.includeRoot === true ? [ca.rootDer] : [])];
  const privateKey = KeyObject.from(keys.privateKey);
  return {
    cn: opts.cn,
    ip: opts.ip,
    memberId,
    serial: normaliseSerial(serial),
    chain,
    privateKey,
    publicKey: KeyObject.from(keys.publicKey),
    credentials: { chain, privateKey },
  };
}
