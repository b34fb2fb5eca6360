/**
 * The two responders the IPsec benches compare, side by side on one machine
 * and with the same client:
 *
 *   Shoal:      lab <name>: cl ── rt ── (switch) ── m1 (shoal run, 198.18.1.10) ── ap 198.18.2.100
 *   strongSwan: <p>cl ── <p>rt ── <p>rs (charon-systemd, kernel-libipsec, 198.18.1.10) ── <p>ap 198.18.2.100
 *
 * Both serve the lab PKI (server vpn.shoal.test, clients from the lab CA;
 * or PSK with the lab secret for a given list of identities) and the pool 198.19.0.0/16, with ESP in UDP
 * (`encap = yes`). The server process of each (the member daemon, charon) is
 * pinned to SERVER_CPU; whatever plays the client (charon, iperf3 at both
 * ends) goes to CLIENT_CPU. Both sides get the same DoS settings: no cookies
 * and no per-address limit (one client address makes all the load).
 *
 * withSides() builds both, runs the body and takes everything down — the
 * lab, the strongSwan namespaces, every process it started (by PID) — also
 * after an error or on SIGINT/SIGTERM (withLab's clean-up hook).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LAB_IPSEC } from '../../src/lab/ipsec-pki.js';
import { LAB_ADDRESSES } from '../../src/lab/plan.js';
import { settled, withLab, type BenchLab } from '../lab-bench.js';
import { BASE_PLUGINS, Charon, charonConf } from './charon.js';
import { ResponderNamespaces, STRONGSWAN_SIDE } from './netns.js';
import { pinProcess } from './proc.js';

export const CLIENT_CPU = 0;
export const SERVER_CPU = 1;
/** Half-open SAs before cookies are asked for: high on both sides (one client address makes all the load). */
export const COOKIE_THRESHOLD = 100_000;
export const APP_HOST = LAB_ADDRESSES.appHost;
export const PROTECTED = LAB_ADDRESSES.innerNetwork;
export const SERVER_ID = LAB_IPSEC.serverName;
export const PSK_ID = 'psk1.shoal.test';

/** What the strongSwan responder accepts: every proposal the benches use (Shoal's defaults include them). */
const RESPONDER_IKE = 'aes256gcm16-aes128gcm16-prfsha256-ecp256-x25519-modp2048, aes256-aes128-sha256-ecp256-x25519-modp2048';
const RESPONDER_ESP = 'aes256gcm16-aes128gcm16, aes256-aes128-sha256';

export type SideKind = 'shoal' | 'strongswan';

/**
 * What the responder accepts from clients: certificates from the lab CA, or
 * PSK authentication for these identities (FQDNs), each with the lab secret.
 * (strongSwan as an initiator reuses an IKE_SA to the same peer with the
 * same identities, so a handshake bench needs one identity per SA.)
 */
export type ResponderAuth = { kind: 'cert' } | { kind: 'psk'; identities: readonly string[] };
const CERT: ResponderAuth = { kind: 'cert' };

export interface Side {
  kind: SideKind;
  /** Where the client runs. */
  clientNs: string;
  /** Where the iperf3 server runs (198.18.2.100). */
  appNs: string;
  /** Where the responder runs (its UDP counters: /proc/net/snmp). */
  serverNs: string;
  /** The responder's server process(es): CPU and RSS are charged to these. */
  serverPids(): number[];
  /** A fresh responder process (empty SA table) that accepts `auth`, pinned, ready. */
  restart(auth?: ResponderAuth): Promise<void>;
}

export interface Sides {
  shoal: Side;
  strongswan: Side;
  /** Lab PKI (ca.pem/ca.key, vpn.*, client-ec.*, client-rsa.*). */
  pkiDir: string;
  /** A scratch directory for this run (removed at the end). */
  work: string;
  /** Register a synchronous last-resort clean-up (signal); returns its remover. */
  onCleanup(fn: () => void): () => void;
}

function responderSwanctl(auth: ResponderAuth): string {
  const children = `    children {
      rw {
        local_ts = ${PROTECTED}
        esp_proposals = ${RESPONDER_ESP}
      }
    }`;
  const ends =
    auth.kind === 'cert'
      ? `    send_cert = always
    local {
      auth = pubkey
      certs = vpn.pem
      id = ${SERVER_ID}
    }
    remote {
      auth = pubkey
      cacerts = ca.pem
    }`
      : `    local {
      auth = psk
      id = ${SERVER_ID}
    }
    remote {
      auth = psk
    }`;
  const secrets =
    auth.kind === 'cert'
      ? ''
      : `secrets {
  ike-psk {
    id-0 = ${SERVER_ID}
${auth.identities.map((id, k) => `    id-${k + 1} = ${id}`).join('\n')}
    secret = "${LAB_IPSEC.pskSecret}"
  }
}
`;
  return `connections {
  rw {
    version = 2
    local_addrs = ${STRONGSWAN_SIDE.responder}
    encap = yes
    mobike = no
    unique = never
    pools = pool
    proposals = ${RESPONDER_IKE}
${ends}
${children}
  }
}
pools {
  pool {
    addrs = ${LAB_IPSEC.pool}
  }
}
${secrets}`;
}

/** The strongSwan responder's tuning: a hashed SA table, the same (absent) DoS limits as Shoal's here (no cookies, also not per source address, whose default is 3 half-open SAs). */
const RESPONDER_CHARON = `  ikesa_table_size = 4096
  ikesa_table_segments = 16
  cookie_threshold = ${COOKIE_THRESHOLD}
  cookie_threshold_ip = ${COOKIE_THRESHOLD}
  block_threshold = ${COOKIE_THRESHOLD}
  init_limit_half_open = 0`;

/** Set the member's cookie threshold and PSK identities in its configuration (m1.json of this run's lab). */
function patchShoalConfig(l: BenchLab, auth: ResponderAuth): void {
  const file = l.members.files(l.name, 1).config;
  const c = JSON.parse(readFileSync(file, 'utf8')) as { ipsec: Record<string, unknown> };
  c.ipsec.cookieThreshold = COOKIE_THRESHOLD;
  c.ipsec.psk = [
    { identity: LAB_IPSEC.pskIdentity, secret: LAB_IPSEC.pskSecret },
    ...(auth.kind === 'psk' ? auth.identities.map((id) => ({ identity: `fqdn:${id}`, secret: LAB_IPSEC.pskSecret })) : []),
  ];
  writeFileSync(file, `${JSON.stringify(c, null, 2)}\n`, { mode: 0o600 });
}

function shoalPid(l: BenchLab): number {
  const d = l.members.daemon(l.name, 1);
  if (!d.running || d.pid === null) throw new Error(`member m1 of lab ${l.name} is not running: see ${l.members.files(l.name, 1).log}`);
  return d.pid;
}

/** Build both responders (Shoal lab with one member; strongSwan in its own namespaces), run `body`, take all down. */
export async function withSides<T>(tag: string, body: (s: Sides) => Promise<T>): Promise<T> {
  return withLab({ tag, members: 1, clientAddresses: 0, mode: 'unicast' }, async (l) => {
    const work = mkdtempSync(join(tmpdir(), `shoal-bench-${tag}-`));
    const pkiDir = l.members.pkiDir(l.name);
    const prefix = `shb${process.pid % 100000}${randomBytes(2).toString('hex')}-`;
    let nets: ResponderNamespaces | null = null;
    let charon: Charon | null = null;
    let generation = 0;
    const removeHook = l.onCleanup(() => {
      // Last resort on a signal: our charon by PID, then our namespaces.
      try {
        if (charon !== null) process.kill(charon.pid, 'SIGKILL');
      } catch {
        // gone
      }
      for (const ns of nets?.made ?? []) {
        try {
          execFileSync('ip', ['netns', 'del', ns]);
        } catch {
          // gone
        }
      }
      rmSync(work, { recursive: true, force: true });
    });
    const restartShoal = async (auth: ResponderAuth = CERT): Promise<void> => {
      await l.members.kill(l.name, 1, 'SIGTERM');
      patchShoalConfig(l, auth);
      await l.members.start(l.name, 1);
      await settled(l);
      await pinProcess(shoalPid(l), SERVER_CPU);
    };
    const restartStrongswan = async (auth: ResponderAuth = CERT): Promise<void> => {
      await charon?.stop();
      charon = null;
      const dir = join(work, `responder-${++generation}`);
      mkdirSync(dir, { recursive: true });
      const pem = (f: string): string => readFileSync(join(pkiDir, f), 'utf8');
      charon = await Charon.start({
        ns: nets!.ns('rs'),
        dir,
        name: 'responder',
        conf: (vici, log) => charonConf(vici, log, { plugins: [...BASE_PLUGINS, 'kernel-libipsec', 'kernel-netlink', 'socket-default', 'vici'], charon: RESPONDER_CHARON }),
        swanctlConf: responderSwanctl(auth),
        files: { 'x509ca/ca.pem': pem('ca.pem'), 'x509/vpn.pem': pem(LAB_IPSEC.serverCert), 'private/vpn.key': pem(LAB_IPSEC.serverKey) },
      });
      await charon.load();
      await pinProcess(charon.pid, SERVER_CPU);
    };
    try {
      nets = await ResponderNamespaces.up(prefix);
      await restartShoal();
      await restartStrongswan();
      const shoal: Side = { kind: 'shoal', clientNs: `${l.prefix}cl`, appNs: `${l.prefix}ap`, serverNs: `${l.prefix}m1`, serverPids: () => [shoalPid(l)], restart: restartShoal };
      const strongswan: Side = {
        kind: 'strongswan',
        clientNs: nets.ns('cl'),
        appNs: nets.ns('ap'),
        serverNs: nets.ns('rs'),
        serverPids: () => {
          if (charon === null) throw new Error('the strongSwan responder is not running');
          return [charon.pid];
        },
        restart: restartStrongswan,
      };
      return await body({ shoal, strongswan, pkiDir, work, onCleanup: (fn) => l.onCleanup(fn) });
    } finally {
      await (charon as Charon | null)?.stop();
      const errors = (await nets?.down()) ?? [];
      for (const e of errors) console.error(e);
      rmSync(work, { recursive: true, force: true });
      removeHook();
    }
  });
}
