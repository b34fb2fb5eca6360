/**
 * The "ipsec" section of the daemon's configuration, checked field by field
 * before anything starts (one line naming the field per problem). Files are
 * only named here; the composition root reads them.
 *
 *   "ipsec": {
 *     "certificate": "vpn.pem",          our certificate (then intermediates), PEM
 *     "key": "vpn.key",                  its private key, PKCS#8 PEM
 *     "identity": "fqdn:vpn.shoal.test", default: the certificate's first DNS name
 *     "clientCa": ["ca.pem"],            CAs the clients' certificates chain to
 *     "crl": ["clients.crl"],            optional revocation lists (DER or PEM)
 *     "revokedSerials": [],              optional, hex
 *     "allowedIdentities": ["*"],        client identities let in
 *     "psk": [{ "identity": "fqdn:road1.shoal.test", "secret": "…" }],
 *     "ikeProposals": [...], "espProposals": [...],   strongSwan-style names
 *     "pool": "198.19.0.0/16", "dns": ["198.18.2.53"],
 *     "protectedNetworks": ["198.18.2.0/24"],        default: the inner side's LAN and routes
 *     "cookieThreshold": 64, "fragmentSize": 1280,
 *     "ikeLifetimeS": 21600, "childLifetimeS": 10800, "childLifetimeBytes": 0 (none),
 *     "limits": { "halfOpen": 4096, "halfOpenPerSource": 16, "childSas": 16, "virtualAddressesPerIdentity": 64 },
 *     "espKeysFile": "esp_sa"            debug: keys for tshark (never in production)
 *   }
 */
import { ShoalError } from '../../lib/errors.js';
import { parseIpv4 } from '../../lib/ipv4.js';
import { parseIkeSuite, type IkeSuite } from './crypto/transforms.js';
import { IPSEC_DEFAULTS, IPSEC_LIMITS, type IpsecLimits, type Prefix4 } from './config.js';
import { MAX_NARROWED_SELECTORS } from './ike/negotiation/traffic-selectors.js';
import { MAX_RECORD_CHILDREN } from './replication/sa-record.js';
import { parseEspSuite, type EspSuite } from './ike/negotiation/esp-proposal.js';
import { identityPayload } from './ike/peer-auth/identity.js';

export interface IpsecFileConfig {
  certificatePath: string;
  keyPath: string;
  identity: string | undefined;
  clientCaPaths: string[];
  crlPaths: string[];
  revokedSerials: string[];
  allowedIdentities: string[] | undefined;
  psk: { identity: string; secret: Uint8Array }[];
  ikeProposals: IkeSuite[];
  espProposals: EspSuite[];
  pool: Prefix4;
  dns: number[];
  protectedNetworks: Prefix4[] | undefined;
  cookieThreshold: number;
  fragmentSize: number;
  ikeLifetimeS: number;
  childLifetimeS: number;
  childLifetimeBytes: number | undefined;
  espKeysFile: string | undefined;
  limits: IpsecLimits;
}

/** The proposals the interoperability matrix needs, strongest first. */
export const DEFAULT_IKE_PROPOSALS = [
  'aes256gcm16-prfsha256-ecp256',
  'aes128gcm16-prfsha256-x25519',
  'chacha20poly1305-prfsha256-x25519',
  'aes256gcm16-prfsha384-ecp384',
  'aes256-sha256-modp2048',
  'aes256-sha256-ecp256',
  'aes128-sha256-x25519',
  'aes256-sha384-ecp384',
  'aes256-sha512-modp2048',
];
export const DEFAULT_ESP_PROPOSALS = ['aes256gcm16', 'aes128gcm16', 'chacha20poly1305', 'aes256-sha256', 'aes128-sha256', 'aes256-sha384', 'aes256-sha512'];

type Obj = Record<string, unknown>;

function bad(field: string, why: string): never {
  throw new ShoalError('BAD_CONFIG', `config: ipsec.${field}: ${why}`);
}

function str(o: Obj, key: string, fallback?: string): string {
  const v = o[key] ?? fallback;
  if (typeof v !== 'string' || v.length === 0) bad(key, 'must be a non-empty string');
  return v;
}

function optStr(o: Obj, key: string): string | undefined {
  return o[key] === undefined ? undefined : str(o, key);
}

function list(o: Obj, key: string, fallback?: string[]): string[] {
  const v = o[key] ?? fallback;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || x.length === 0)) bad(key, 'must be a list of non-empty strings');
  return v as string[];
}

function int(o: Obj, key: string, min: number, max: number, fallback: number): number {
  const v = o[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) bad(key, `must be a whole number from ${min} to ${max}`);
  return v;
}

export function parsePrefix4(text: string, field: string): Prefix4 {
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d{1,2})$/.exec(text);
  if (!m || Number(m[2]) > 32) bad(field, `'${text}' is not an IPv4 prefix like 198.19.0.0/16`);
  try {
    return { address: parseIpv4(m[1]!), prefixLength: Number(m[2]) };
  } catch {
    bad(field, `'${text}' is not an IPv4 prefix`);
  }
}

/**
 * Shortest pre-shared key taken. AUTH under a PSK can be checked offline
 * against a guess by anyone who sees one exchange, so a short key falls to
 * a dictionary; libreswan warns below the PRF's key size (32 bytes for
 * SHA-512 in FIPS mode). 16 bytes is the floor; use 32 random ones.
 */
export const MIN_PSK_BYTES = 16;

/** A secret as text, or as hex after "0x"; refused (naming its identity) when shorter than MIN_PSK_BYTES. */
function secretBytes(text: string, field: string, identity: string): Uint8Array {
  let bytes: Uint8Array;
  if (/^0x/i.test(text)) {
    const hex = text.slice(2);
    if (hex.length < 2 || hex.length % 2 !== 0 || !/^[0-9a-f]+$/i.test(hex)) bad(field, 'hex secret needs an even number of hex digits');
    bytes = new Uint8Array(Buffer.from(hex, 'hex'));
  } else {
    bytes = new Uint8Array(Buffer.from(text, 'utf8'));
  }
  if (bytes.length < MIN_PSK_BYTES) bad(field, `the pre-shared key of ${identity} is ${bytes.length} bytes, at least ${MIN_PSK_BYTES} are needed (e.g. 0x + 64 hex digits from 'openssl rand -hex 32')`);
  return bytes;
}

export function parseIpsecSection(raw: unknown, resolvePath: (p: string) => string): IpsecFileConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ShoalError('BAD_CONFIG', 'config: ipsec: must be an object');
  const o = raw as Obj;
  const known = new Set([
    'certificate', 'key', 'identity', 'clientCa', 'crl', 'revokedSerials', 'allowedIdentities', 'psk', 'ikeProposals', 'espProposals',
    'pool', 'dns', 'protectedNetworks', 'cookieThreshold', 'fragmentSize', 'ikeLifetimeS', 'childLifetimeS', 'childLifetimeBytes', 'espKeysFile',
    'limits',
  ]);
  for (const k of Object.keys(o)) if (!known.has(k)) bad(k, `unknown setting (known: ${[...known].join(', ')})`);
  const identity = optStr(o, 'identity');
  if (identity !== undefined) {
    try {
      identityPayload(identity);
    } catch (e) {
      bad('identity', e instanceof Error ? e.message : String(e));
    }
  }
  const ikeProposals = list(o, 'ikeProposals', DEFAULT_IKE_PROPOSALS).map((name, i) => {
    const s = parseIkeSuite(name);
    if (!s.ok) bad(`ikeProposals[${i}]`, s.error.message);
    return s.value;
  });
  const espProposals = list(o, 'espProposals', DEFAULT_ESP_PROPOSALS).map((name, i) => {
    try {
      return parseEspSuite(name);
    } catch (e) {
      bad(`espProposals[${i}]`, e instanceof Error ? e.message : String(e));
    }
  });
  const pskRaw = o.psk ?? [];
  if (!Array.isArray(pskRaw)) bad('psk', 'must be a list of { identity, secret }');
  const psk = pskRaw.map((e: unknown, i) => {
    if (typeof e !== 'object' || e === null) bad(`psk[${i}]`, 'must be { identity, secret }');
    const entry = e as Obj;
    const id = str(entry, 'identity');
    try {
      identityPayload(id);
    } catch (err) {
      bad(`psk[${i}].identity`, err instanceof Error ? err.message : String(err));
    }
    return { identity: id, secret: secretBytes(str(entry, 'secret'), `psk[${i}].secret`, id) };
  });
  const pool = parsePrefix4(str(o, 'pool', '198.19.0.0/16'), 'pool');
  if (pool.prefixLength > 22) bad('pool', 'needs at least a /22: addresses are shared out over 1024 work units');
  const dns = list(o, 'dns', []).map((d, i) => {
    try {
      return parseIpv4(d);
    } catch {
      bad(`dns[${i}]`, `'${d}' is not an IPv4 address`);
    }
  });
  const protectedNetworks = o.protectedNetworks === undefined ? undefined : list(o, 'protectedNetworks').map((p, i) => parsePrefix4(p, `protectedNetworks[${i}]`));
  // Each network is one TSr selector; narrowing refuses more than the cap (TS_UNACCEPTABLE).
  if (protectedNetworks && protectedNetworks.length > MAX_NARROWED_SELECTORS) bad('protectedNetworks', `at most ${MAX_NARROWED_SELECTORS} networks`);
  return {
    certificatePath: resolvePath(str(o, 'certificate')),
    keyPath: resolvePath(str(o, 'key')),
    identity,
    clientCaPaths: list(o, 'clientCa').map(resolvePath),
    crlPaths: list(o, 'crl', []).map(resolvePath),
    revokedSerials: list(o, 'revokedSerials', []),
    allowedIdentities: o.allowedIdentities === undefined ? undefined : list(o, 'allowedIdentities'),
    psk,
    ikeProposals,
    espProposals,
    pool,
    dns,
    protectedNetworks,
    cookieThreshold: int(o, 'cookieThreshold', 0, 1_000_000, IPSEC_DEFAULTS.cookieThreshold),
    fragmentSize: int(o, 'fragmentSize', 576, 9000, IPSEC_DEFAULTS.fragmentSize),
    ikeLifetimeS: int(o, 'ikeLifetimeS', 60, 7 * 86400, IPSEC_DEFAULTS.ikeLifetimeS),
    childLifetimeS: int(o, 'childLifetimeS', 60, 7 * 86400, IPSEC_DEFAULTS.childLifetimeS),
    childLifetimeBytes: o.childLifetimeBytes === undefined || o.childLifetimeBytes === 0 ? undefined : int(o, 'childLifetimeBytes', 1_000_000, Number.MAX_SAFE_INTEGER, 0),
    espKeysFile: o.espKeysFile === undefined ? undefined : resolvePath(str(o, 'espKeysFile')),
    limits: parseLimits(o.limits),
  };
}

function parseLimits(raw: unknown): IpsecLimits {
  if (raw === undefined) return { ...IPSEC_LIMITS };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) bad('limits', 'must be an object');
  const o = raw as Obj;
  const known = Object.keys(IPSEC_LIMITS);
  for (const k of Object.keys(o)) if (!known.includes(k)) bad(`limits.${k}`, `unknown setting (known: ${known.join(', ')})`);
  const n = (key: keyof IpsecLimits, max: number): number => {
    const v = o[key] ?? IPSEC_LIMITS[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) bad(`limits.${key}`, `must be a whole number from 1 to ${max}`);
    return v;
  };
  return {
    halfOpen: n('halfOpen', 1_000_000),
    halfOpenPerSource: n('halfOpenPerSource', 1_000_000),
    // A rekey may hold one child more; the record counts children in a byte.
    childSas: n('childSas', MAX_RECORD_CHILDREN - 1),
    virtualAddressesPerIdentity: n('virtualAddressesPerIdentity', 65_536),
  };
}
