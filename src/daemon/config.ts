/**
 * The member daemon's configuration file (JSON), validated into the values
 * the composition root needs. Every problem is reported as one line naming
 * the field, before anything starts: nothing runs half-configured.
 *
 *   {
 *     "cluster":  { "name": "lab", "configVersion": 1 },
 *     "member":   { "address": "198.18.3.11", "certificate": "m1.pem", "key": "m1.key" },
 *     "trust":    { "ca": ["ca.pem"], "allowedMembers": ["member-1"], "revokedSerials": [], "crl": ["crl.pem"] },
 *     "interconnect": { "group": "239.255.83.72", "port": 5400 },
 *     "admin":    { "socket": "/run/shoal/m1.sock" },
 *     "log":      { "level": "info" },
 *     "metrics":  { "listen": "127.0.0.1:9105", "bearerTokenFile": "metrics.token" },
 *     "timing":   { "watchdogMs": 200 },
 *     "outer":    { "tap": "tapo", "mode": "unicast", "address": "198.18.1.10",
 *                   "subnet": "198.18.1.0/24", "gateway": "198.18.1.1", "mtu": 1500 },
 *     "inner":    { "tap": "tapi", "address": "198.18.2.1", "subnet": "198.18.2.0/24",
 *                   "gateway": "198.18.2.254", "routes": ["10.0.0.0/8"], "mtu": 1500 },
 *     "ipsec":    { "certificate": "vpn.pem", "key": "vpn.key", "clientCa": ["ca.pem"], … }
 *   }
 * Without "outer" the member runs the control plane only; without "inner" it
 * serves the outer cluster address but routes nothing. The inner side uses the
 * outer side's delivery mode; its gateway and routes are optional.
 * Relative paths are relative to the configuration file. In forwarding mode
 * the interconnect also uses port + 1, for forwarded packets only.
 */
import { createHash } from 'node:crypto';
import { parseIpsecSection, type IpsecFileConfig } from '../apps/ipsec/config-file.js';
import { DEFAULT_TIMING, type MembershipTiming } from '../cluster/membership/config.js';
import { ShoalError } from '../lib/errors.js';
import { parseIpv4 } from '../lib/ipv4.js';
import type { LogLevel } from '../mgmt/log.js';
import { isLoopback } from '../mgmt/metrics/bearer.js';
import { DELIVERY_MODES, type DeliveryMode } from '../stack/delivery-mode.js';

export interface DaemonConfig {
  clusterName: string;
  clusterId: number;
  configVersion: number;
  memberAddress: string;
  certificatePath: string;
  keyPath: string;
  caPaths: string[];
  allowedMembers?: string[];
  revokedSerials: string[];
  /** trust.crl: CRL files of the cluster CA, re-read when they change (src/daemon/member-revocation.ts). */
  crlPaths: string[];
  group: string;
  port: number;
  adminSocket: string;
  logLevel: LogLevel;
  /** Where Prometheus metrics are served (GET /metrics); none when absent. */
  metrics?: MetricsConfig;
  timing: MembershipTiming;
  outer?: OuterConfig;
  inner?: InnerConfig;
  /** The IPsec tunnel handler (src/apps/ipsec/config-file.ts); needs both sides. */
  ipsec?: IpsecFileConfig;
}

export interface MetricsConfig {
  host: string;
  port: number;
  /** The file holding the bearer token every scrape must send; required off loopback. */
  bearerTokenFile?: string;
}

export interface OuterConfig {
  tap: string;
  mode: DeliveryMode;
  clusterIp: number;
  subnet: { base: number; prefixLen: number };
  gateway: number;
  mtu: number;
}

export interface InnerConfig {
  tap: string;
  address: number;
  subnet: { base: number; prefixLen: number };
  gateway: number | null;
  /** Networks beyond the inside LAN, reached through `gateway`. */
  routes: { base: number; prefixLen: number }[];
  mtu: number;
}

export const DEFAULT_GROUP = '239.255.83.72';
export const DEFAULT_CONTROL_PORT = 5400;
export const DEFAULT_ADMIN_SOCKET = '/run/shoal/shoal.sock';

function bad(field: string, why: string): never {
  throw new ShoalError('BAD_CONFIG', `config: ${field}: ${why}`);
}

type Obj = Record<string, unknown>;

function obj(v: unknown, field: string, optional = false): Obj {
  if (v === undefined && optional) return {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(field, 'must be an object');
  return v as Obj;
}

function str(o: Obj, key: string, field: string, fallback?: string): string {
  const v = o[key] ?? fallback;
  if (typeof v !== 'string' || v.length === 0) bad(`${field}.${key}`, 'must be a non-empty string');
  return v;
}

function int(o: Obj, key: string, field: string, min: number, max: number, fallback?: number): number {
  const v = o[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) bad(`${field}.${key}`, `must be a whole number from ${min} to ${max}`);
  return v;
}

function strings(o: Obj, key: string, field: string, optional: boolean): string[] | undefined {
  const v = o[key];
  if (v === undefined && optional) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) bad(`${field}.${key}`, 'must be a list of strings');
  return v as string[];
}

function ipv4(o: Obj, key: string, field: string, fallback?: string): string {
  const v = str(o, key, field, fallback);
  try {
    parseIpv4(v);
  } catch {
    bad(`${field}.${key}`, `'${v}' is not an IPv4 address`);
  }
  return v;
}

/** The cluster id on the wire: a stable hash of the cluster name, so two clusters on one LAN ignore each other. */
export function clusterIdOf(name: string): number {
  return createHash('sha256').update(`shoal cluster ${name}`).digest().readUInt32BE(0);
}

const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/** The trust section's settings: any other key is a typo that would silently drop a restriction (allowedMember …). */
const TRUST_KEYS: readonly string[] = ['ca', 'allowedMembers', 'revokedSerials', 'crl'];

/** What `shoal pki issue-member` accepts as a name, which becomes the certificate's CN (src/pki/store-files.ts). */
const MEMBER_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/;

/**
 * trust.allowedMembers lists certificate CNs; the join check compares them
 * exactly, so an entry with a stray space or a doubled entry is a typo that
 * would refuse (or was meant to admit) a member without a word at start-up.
 */
function checkAllowedMembers(list: readonly string[]): void {
  if (list.length === 0) bad('trust.allowedMembers', 'is empty, so no member could join: list the members\' certificate names, or leave the setting out to allow every member the CA issued');
  const seen = new Set<string>();
  list.forEach((name, i) => {
    if (!MEMBER_NAME.test(name)) bad(`trust.allowedMembers[${i}]`, `'${name}' is not a member certificate name (letters, digits and . _ @ -, starting with a letter or digit, as \`shoal pki issue-member\` names them)`);
    if (seen.has(name)) bad(`trust.allowedMembers[${i}]`, `'${name}' is listed twice`);
    seen.add(name);
  });
}

export function parseDaemonConfig(raw: unknown, resolvePath: (p: string) => string): DaemonConfig {
  const root = obj(raw, 'config');
  const cluster = obj(root.cluster, 'cluster');
  const member = obj(root.member, 'member');
  const trust = obj(root.trust, 'trust');
  const ic = obj(root.interconnect, 'interconnect', true);
  const admin = obj(root.admin, 'admin', true);
  const log = obj(root.log, 'log', true);
  const timing = obj(root.timing, 'timing', true);
  const metrics = root.metrics === undefined ? undefined : parseMetrics(obj(root.metrics, 'metrics'), resolvePath);

  const group = ipv4(ic, 'group', 'interconnect', DEFAULT_GROUP);
  const first = parseIpv4(group) >>> 24;
  if (first < 224 || first > 239) bad('interconnect.group', `'${group}' is not a multicast address`);
  const level = log.level ?? 'info';
  if (typeof level !== 'string' || !LEVELS.includes(level as LogLevel)) bad('log.level', `must be one of ${LEVELS.join(', ')}`);
  for (const key of Object.keys(trust)) if (!TRUST_KEYS.includes(key)) bad(`trust.${key}`, `unknown setting (known: ${TRUST_KEYS.join(', ')})`);
  const ca = strings(trust, 'ca', 'trust', false) ?? [];
  if (ca.length === 0) bad('trust.ca', 'name at least one CA certificate');
  const allowedMembers = strings(trust, 'allowedMembers', 'trust', true);
  if (allowedMembers) checkAllowedMembers(allowedMembers);
  const revokedSerials = strings(trust, 'revokedSerials', 'trust', true) ?? [];
  revokedSerials.forEach((s, i) => {
    if (!/^[0-9A-Fa-f]{1,40}$/.test(s)) bad(`trust.revokedSerials[${i}]`, `'${s}' is not a serial number in hex (as \`shoal pki list\` prints it)`);
  });

  const t: MembershipTiming = { ...DEFAULT_TIMING };
  for (const key of Object.keys(timing)) {
    if (!(key in DEFAULT_TIMING)) bad(`timing.${key}`, `unknown setting (known: ${Object.keys(DEFAULT_TIMING).join(', ')})`);
    t[key as keyof MembershipTiming] = int(timing, key, 'timing', 10, 600_000);
  }

  const name = str(cluster, 'name', 'cluster');
  const outer = root.outer === undefined ? undefined : parseOuter(obj(root.outer, 'outer'));
  const inner = root.inner === undefined ? undefined : parseInner(obj(root.inner, 'inner'));
  if (inner && !outer) bad('inner', 'needs an "outer" section too (the inside gateway routes to and from it)');
  if (inner && outer && inner.address === outer.clusterIp) bad('inner.address', 'must differ from outer.address');
  // One TAP for both sides would hand the internet's frames to the inside router and back.
  if (inner && outer && inner.tap === outer.tap) bad('inner.tap', `'${inner.tap}' is also outer.tap: the outer and inner sides need a TAP each`);
  const ipsec = root.ipsec === undefined ? undefined : parseIpsecSection(root.ipsec, resolvePath);
  if (ipsec && !inner) bad('ipsec', 'needs "outer" and "inner" sections (tunnels end on the inside)');
  return {
    ...(metrics ? { metrics } : {}),
    ...(ipsec ? { ipsec } : {}),
    ...(outer ? { outer } : {}),
    ...(inner ? { inner } : {}),
    clusterName: name,
    clusterId: clusterIdOf(name),
    configVersion: int(cluster, 'configVersion', 'cluster', 0, 0xffffffff, 1),
    memberAddress: ipv4(member, 'address', 'member'),
    certificatePath: resolvePath(str(member, 'certificate', 'member')),
    keyPath: resolvePath(str(member, 'key', 'member')),
    caPaths: ca.map(resolvePath),
    ...(allowedMembers ? { allowedMembers } : {}),
    revokedSerials,
    crlPaths: (strings(trust, 'crl', 'trust', true) ?? []).map(resolvePath),
    group,
    // Forwarding mode carries forwarded packets on port + 1 (daemon.ts): keep room for it.
    port: int(ic, 'port', 'interconnect', 1, 65534, DEFAULT_CONTROL_PORT),
    adminSocket: resolvePath(str(admin, 'socket', 'admin', DEFAULT_ADMIN_SOCKET)),
    logLevel: level as LogLevel,
    timing: t,
  };
}

/**
 * `metrics.listen`: "address:port" on an IPv4 address of this box; off loopback it needs
 * `metrics.bearerTokenFile` (the metrics name tunnels, members and traffic: not for anyone on the network).
 */
function parseMetrics(o: Obj, resolvePath: (p: string) => string): MetricsConfig {
  for (const key of Object.keys(o)) if (key !== 'listen' && key !== 'bearerTokenFile') bad(`metrics.${key}`, 'unknown setting (known: listen, bearerTokenFile)');
  const listen = str(o, 'listen', 'metrics');
  const m = /^(.+):(\d{1,5})$/.exec(listen);
  const host = m?.[1] ?? '';
  const port = Number(m?.[2]);
  if (!m || port < 1 || port > 65535) bad('metrics.listen', `'${listen}' is not an address:port like 127.0.0.1:9105`);
  try {
    parseIpv4(host);
  } catch {
    bad('metrics.listen', `'${host}' is not an IPv4 address`);
  }
  if (o.bearerTokenFile === undefined) {
    if (!isLoopback(host)) bad('metrics.listen', `'${host}' is not a loopback address: set metrics.bearerTokenFile (a file holding the token scrapers send), or listen on 127.0.0.1`);
    return { host, port };
  }
  return { host, port, bearerTokenFile: resolvePath(str(o, 'bearerTokenFile', 'metrics')) };
}

function prefix(text: unknown, field: string, maxLen: number): { base: number; prefixLen: number } {
  const m = typeof text === 'string' ? /^(.+)\/(\d{1,2})$/.exec(text) : null;
  const prefixLen = Number(m?.[2]);
  if (!m || prefixLen > maxLen) bad(field, `'${String(text)}' is not an IPv4 prefix like 198.18.1.0/24`);
  return { base: parseIpv4(ipv4({ base: m[1] }, 'base', field)), prefixLen };
}

function parseOuter(o: Obj): OuterConfig {
  const mode = str(o, 'mode', 'outer', 'unicast');
  if (!DELIVERY_MODES.includes(mode as DeliveryMode)) bad('outer.mode', `must be one of ${DELIVERY_MODES.join(', ')}`);
  return {
    tap: str(o, 'tap', 'outer'),
    mode: mode as DeliveryMode,
    clusterIp: parseIpv4(ipv4(o, 'address', 'outer')),
    subnet: prefix(str(o, 'subnet', 'outer'), 'outer.subnet', 30),
    gateway: parseIpv4(ipv4(o, 'gateway', 'outer')),
    mtu: int(o, 'mtu', 'outer', 576, 9000, 1500),
  };
}

function parseInner(o: Obj): InnerConfig {
  const routes = strings(o, 'routes', 'inner', true) ?? [];
  const gateway = o.gateway === undefined ? null : parseIpv4(ipv4(o, 'gateway', 'inner'));
  if (routes.length > 0 && gateway === null) bad('inner.routes', 'need an inner.gateway to reach them');
  return {
    tap: str(o, 'tap', 'inner'),
    address: parseIpv4(ipv4(o, 'address', 'inner')),
    subnet: prefix(str(o, 'subnet', 'inner'), 'inner.subnet', 30),
    gateway,
    routes: routes.map((r, i) => prefix(r, `inner.routes[${i}]`, 32)),
    mtu: int(o, 'mtu', 'inner', 576, 9000, 1500),
  };
}
