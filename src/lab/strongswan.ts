/**
 * strongSwan as a real IKEv2 peer (the lab's client, the interop tests): one charon-systemd
 * daemon per instance, started inside a network namespace the caller made,
 * fully isolated from the machine's own strongSwan (if any) and from other
 * instances running at the same time:
 *
 * - its own STRONGSWAN_CONF (strongswan.conf in the instance directory) with
 *   its own vici socket, its own log file and an explicit `load =` plug-in
 *   list (kernel-libipsec: this kernel has no ESP, so ESP runs in userspace
 *   on a TUN `ipsec0` and must be UDP-encapsulated: `encap = yes`);
 * - its own SWANCTL_DIR (x509/, x509ca/, private/, pubkey/ and swanctl.conf).
 *
 * swanctl runs outside the namespace: it only talks to the daemon's vici
 * socket, a file path. Every swanctl failure throws with the command, its
 * output and the tail of the charon log; a missing binary throws too
 * (never a skip).
 *
 * SA state is read with `swanctl --list-sas --raw` and parsed by parseVici()
 * below: the raw form is the vici message tree printed as `key=value`,
 * `key{...}` and `key[...]`, stable across versions (it is the wire
 * structure, not a human layout), unlike the default pretty listing.
 *
 * What strongSwan 5.9.8 checks in the certificates (tried with src/pki's
 * member certificates, ECDSA P-256 and RSA 2048):
 * - an identity (`id =`) must be a subjectAltName (DNS or IP) of the
 *   certificate or its full subject DN; the CN alone is refused
 *   (AUTHENTICATION_FAILED, "no trusted … public key found for '<id>'");
 * - the leaf needs keyUsage digitalSignature (or nonRepudiation): "rejecting
 *   certificate without digitalSignature or nonRepudiation keyUsage flags";
 * - no extendedKeyUsage is required; AUTH uses RFC 7427 signatures
 *   (ECDSA_WITH_SHA256_DER, RSA_EMSA_PKCS1_SHA2_256), and an ECDSA leaf
 *   under an RSA CA is fine;
 * - without `remote.id` the initiator accepts any identity the CA certified.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NodeCommandRunner } from '../ports/command-node.js';
import type { CommandRunner } from '../ports/command.js';

export const CHARON_BIN = '/usr/sbin/charon-systemd';
export const SWANCTL_BIN = '/usr/sbin/swanctl';

/**
 * The daemon's plug-ins. Debian's own list (in /etc/strongswan.d) leaves
 * kernel-libipsec out; an explicit list overrides it. chapoly is needed for
 * chacha20poly1305 proposals, curve25519 for x25519, openssl for ECDSA/RSA
 * signatures and the MODP/ECP groups, attr for the responder's pools.
 */
export const CHARON_PLUGINS = [
  'random', 'nonce', 'openssl', 'pem', 'pkcs1', 'pkcs8', 'x509', 'pubkey', 'constraints',
  'aes', 'sha1', 'sha2', 'hmac', 'gcm', 'chapoly', 'curve25519', 'kdf', 'attr',
  'kernel-libipsec', 'kernel-netlink', 'socket-default', 'vici',
] as const;

/** What swanctl itself needs to parse the credentials it loads. */
const SWANCTL_PLUGINS = ['pem', 'pkcs1', 'pkcs8', 'x509', 'openssl'] as const;

export interface StrongSwanOptions {
  /** The namespace to run charon in (the caller creates and deletes it). */
  ns: string;
  /** A fresh directory for this instance's files; created if missing. */
  dir: string;
  /** A label for errors and the log. */
  name: string;
  runner?: CommandRunner;
  /** Default 10 s. */
  readyTimeoutMs?: number;
}

export interface Credentials {
  /** PEM of the CA that issued the peer's certificate (written to x509ca/). */
  caPem: string;
  /** PEM of this instance's certificate (x509/<certFile>). */
  certPem: string;
  /** PKCS#8 PEM of its private key (private/<keyFile>). */
  keyPem: string;
  /** Default "ca.pem". */
  caFile?: string;
  /** Default "local.pem": the file name swanctl.conf's `certs =` names. */
  certFile?: string;
  /** Default "local.key". */
  keyFile?: string;
}

/** One CHILD_SA as `--list-sas` reports it. */
export interface ChildSa {
  name: string;
  uniqueId: string;
  state: string;
  protocol: string;
  encap: boolean;
  spiIn: string;
  spiOut: string;
  encrAlg: string;
  encrKeysize: string;
  integAlg: string | undefined;
  dhGroup: string | undefined;
  localTs: string[];
  remoteTs: string[];
  bytesIn: number;
  bytesOut: number;
  packetsIn: number;
  packetsOut: number;
}

/** One IKE_SA as `--list-sas` reports it. */
export interface IkeSa {
  name: string;
  uniqueId: string;
  state: string;
  localHost: string;
  localPort: number;
  remoteHost: string;
  remotePort: number;
  localId: string;
  remoteId: string;
  initiatorSpi: string;
  responderSpi: string;
  encrAlg: string;
  encrKeysize: string;
  integAlg: string | undefined;
  prfAlg: string;
  dhGroup: string;
  natAny: boolean;
  /** The virtual addresses this side got (an initiator) or handed out (a responder). */
  localVips: string[];
  remoteVips: string[];
  children: ChildSa[];
}

/** A vici message tree: sections, values and lists. */
export type ViciValue = string | string[] | ViciSection;
export interface ViciSection {
  [key: string]: ViciValue;
}

/**
 * Parse swanctl's --raw output: one line per message, e.g.
 * `list-sa event {home {uniqueid=1 state=ESTABLISHED local-vips=[198.18.102.1] child-sas {home-1 {...}}}}`
 * (sections `key {…}`, lists `key=[a b]`, values `key=v`). A value runs to
 * the next ` key=` / ` key {` or closing brace, so values with spaces
 * (distinguished names) survive; list items never contain spaces.
 * Returns one tree per line (the "list-sa event" prefix dropped).
 */
export function parseVici(raw: string): ViciSection[] {
  const out: ViciSection[] = [];
  for (const line of raw.split('\n')) {
    const open = line.indexOf('{');
    if (open < 0) continue;
    const p = new ViciParser(line, open + 1);
    out.push(p.section());
  }
  return out;
}

class ViciParser {
  constructor(
    private readonly s: string,
    private i: number,
  ) {}

  section(): ViciSection {
    const sec: ViciSection = {};
    for (;;) {
      this.skipSpace();
      if (this.i >= this.s.length) return sec;
      if (this.s[this.i] === '}') {
        this.i++;
        return sec;
      }
      const key = this.key();
      const c = this.s[this.i];
      this.i++;
      if (c === '{') sec[key] = this.section();
      else if (c === '[') sec[key] = this.list();
      else if (c === '=' && this.s[this.i] === '[') {
        this.i++;
        sec[key] = this.list();
      } else if (c === '=') sec[key] = this.value();
      else throw new Error(`vici parse: unexpected ${JSON.stringify(c)} after ${key} at ${this.i} in ${this.s}`);
    }
  }

  private skipSpace(): void {
    while (this.s[this.i] === ' ') this.i++;
  }

  private key(): string {
    const m = /^[^\s={[\]}]+/.exec(this.s.slice(this.i));
    if (m === null) throw new Error(`vici parse: no key at ${this.i} in ${this.s}`);
    this.i += m[0].length;
    this.skipSpace();
    return m[0];
  }

  private list(): string[] {
    const items: string[] = [];
    for (;;) {
      this.skipSpace();
      if (this.i >= this.s.length) return items;
      if (this.s[this.i] === ']') {
        this.i++;
        return items;
      }
      const m = /^[^\s\]]+/.exec(this.s.slice(this.i));
      if (m === null) throw new Error(`vici parse: bad list at ${this.i} in ${this.s}`);
      items.push(m[0]);
      this.i += m[0].length;
    }
  }

  /**
   * A value ends before ` key=`, ` key {`, or the `}` that closes the section;
   * vici keys are lower-case words, and the `, ` in front of a distinguished
   * name's next RDN (`C=XX, O=Shoal, CN=vpn`) is not a key boundary.
   */
  private value(): string {
    const rest = this.s.slice(this.i);
    const end = /((?<!,) [a-z][a-z0-9_-]* ?[={])|(\s*\})/.exec(rest);
    const v = end === null ? rest : rest.slice(0, end.index);
    this.i += v.length;
    return v;
  }
}

function str(sec: ViciSection, key: string): string | undefined {
  const v = sec[key];
  return typeof v === 'string' ? v : undefined;
}
function req(sec: ViciSection, key: string): string {
  return str(sec, key) ?? '';
}
function list(sec: ViciSection, key: string): string[] {
  const v = sec[key];
  return Array.isArray(v) ? v : [];
}
function sub(sec: ViciSection, key: string): ViciSection {
  const v = sec[key];
  return v !== undefined && typeof v === 'object' && !Array.isArray(v) ? v : {};
}

/** The IKE_SAs (with their CHILD_SAs) of a `swanctl --list-sas --raw` listing. */
export function parseListSas(raw: string): IkeSa[] {
  const sas: IkeSa[] = [];
  for (const event of parseVici(raw)) {
    for (const [name, v] of Object.entries(event)) {
      if (typeof v !== 'object' || Array.isArray(v)) continue;
      const children = Object.entries(sub(v, 'child-sas')).flatMap(([key, c]): ChildSa[] =>
        typeof c === 'object' && !Array.isArray(c)
          ? [
              {
                name: str(c, 'name') ?? key,
                uniqueId: req(c, 'uniqueid'),
                state: req(c, 'state'),
                protocol: req(c, 'protocol'),
                encap: str(c, 'encap') === 'yes',
                spiIn: req(c, 'spi-in'),
                spiOut: req(c, 'spi-out'),
                encrAlg: req(c, 'encr-alg'),
                encrKeysize: req(c, 'encr-keysize'),
                integAlg: str(c, 'integ-alg'),
                dhGroup: str(c, 'dh-group'),
                localTs: list(c, 'local-ts'),
                remoteTs: list(c, 'remote-ts'),
                bytesIn: Number(str(c, 'bytes-in') ?? 0),
                bytesOut: Number(str(c, 'bytes-out') ?? 0),
                packetsIn: Number(str(c, 'packets-in') ?? 0),
                packetsOut: Number(str(c, 'packets-out') ?? 0),
              },
            ]
          : [],
      );
      sas.push({
        name,
        uniqueId: req(v, 'uniqueid'),
        state: req(v, 'state'),
        localHost: req(v, 'local-host'),
        localPort: Number(str(v, 'local-port') ?? 0),
        remoteHost: req(v, 'remote-host'),
        remotePort: Number(str(v, 'remote-port') ?? 0),
        localId: req(v, 'local-id'),
        remoteId: req(v, 'remote-id'),
        initiatorSpi: req(v, 'initiator-spi'),
        responderSpi: req(v, 'responder-spi'),
        encrAlg: req(v, 'encr-alg'),
        encrKeysize: req(v, 'encr-keysize'),
        integAlg: str(v, 'integ-alg'),
        prfAlg: req(v, 'prf-alg'),
        dhGroup: req(v, 'dh-group'),
        natAny: str(v, 'nat-any') === 'yes',
        localVips: list(v, 'local-vips'),
        remoteVips: list(v, 'remote-vips'),
        children,
      });
    }
  }
  return sas;
}

// ---------------------------------------------------------------- configuration

/** The initiator role: a road warrior asking for a virtual address. */
export interface ClientConnection {
  /** Connection and child name (swanctl --initiate --child <name>). Default "home". */
  name?: string;
  /** The responder's (later: the cluster's) address. */
  remoteAddr: string;
  /** IKE proposal, e.g. "aes256gcm16-prfsha256-ecp256". */
  proposals: string;
  /** ESP proposal, e.g. "aes256gcm16". */
  espProposals: string;
  /** This side's identity: must be a subjectAltName (or the subject DN) of its certificate. */
  localId: string;
  /**
   * The identity the responder must prove (a subjectAltName of its
   * certificate, or its full subject DN). Omitted: %any, i.e. any identity
   * the CA certified.
   */
  remoteId?: string;
  /** What to tunnel, e.g. "198.18.101.0/24". */
  remoteTs: string;
  /** Default "local.pem". */
  certFile?: string;
  /** Default "ca.pem". */
  caFile?: string;
  /**
   * Pre-shared key authentication instead of certificates: both sides prove
   * themselves with this secret (local and remote `auth = psk`), and
   * swanctl.conf gets a `secrets` section binding it to `localId`.
   */
  psk?: string;
  /** Bind IKE to this local address (`local_addrs`), e.g. one of the client's extra addresses. */
  localAddrs?: string;
}

/** The responder role (a stand-in for Shoal's until it exists). */
export interface ResponderConnection {
  /** Default "rw". */
  name?: string;
  /** The address IKE listens on for this connection. */
  localAddr: string;
  /** Accepted IKE proposals (comma-separated lists allowed). */
  proposals: string;
  espProposals: string;
  localId: string;
  /** The protected network behind the responder. */
  localTs: string;
  /** Virtual addresses handed to clients, e.g. "198.18.102.0/24". */
  pool: string;
  certFile?: string;
  caFile?: string;
}

/** swanctl.conf for the initiator: `encap = yes` (ESP in UDP 4500: libipsec and Shoal both need it), `vips = 0.0.0.0`. */
export function clientSwanctlConf(c: ClientConnection): string {
  return clientSwanctlConfMany([c]);
}

/** One swanctl.conf with several initiator connections (distinct `name`s), and the secrets of those that use a PSK. */
export function clientSwanctlConfMany(cs: readonly ClientConnection[]): string {
  const secrets = cs.flatMap((c, k) => (c.psk === undefined ? [] : [`  ike-${k} {\n    id = ${c.localId}\n    secret = "${c.psk}"\n  }\n`]));
  return `connections {\n${cs.map(clientConnection).join('')}}\n${secrets.length === 0 ? '' : `secrets {\n${secrets.join('')}}\n`}`;
}

function clientConnection(c: ClientConnection): string {
  const name = c.name ?? 'home';
  const local =
    c.psk === undefined
      ? `      auth = pubkey
      certs = ${c.certFile ?? 'local.pem'}
      id = ${c.localId}`
      : `      auth = psk
      id = ${c.localId}`;
  const remote =
    c.psk === undefined
      ? `      auth = pubkey${c.remoteId === undefined ? '' : `
      id = ${c.remoteId}`}
      cacerts = ${c.caFile ?? 'ca.pem'}`
      : `      auth = psk${c.remoteId === undefined ? '' : `
      id = ${c.remoteId}`}`;
  return `  ${name} {
    version = 2
    remote_addrs = ${c.remoteAddr}${c.localAddrs === undefined ? '' : `
    local_addrs = ${c.localAddrs}`}
    vips = 0.0.0.0
    encap = yes
    mobike = no
    proposals = ${c.proposals}
    local {
${local}
    }
    remote {
${remote}
    }
    children {
      ${name} {
        remote_ts = ${c.remoteTs}
        esp_proposals = ${c.espProposals}
        start_action = none
      }
    }
  }
`;
}

/** swanctl.conf for the responder: a pool of virtual addresses and a protected local_ts. */
export function responderSwanctlConf(r: ResponderConnection): string {
  const name = r.name ?? 'rw';
  return `connections {
  ${name} {
    version = 2
    local_addrs = ${r.localAddr}
    encap = yes
    mobike = no
    pools = ${name}-pool
    proposals = ${r.proposals}
    send_cert = always
    local {
      auth = pubkey
      certs = ${r.certFile ?? 'local.pem'}
      id = ${r.localId}
    }
    remote {
      auth = pubkey
      cacerts = ${r.caFile ?? 'ca.pem'}
    }
    children {
      ${name} {
        local_ts = ${r.localTs}
        esp_proposals = ${r.espProposals}
      }
    }
  }
}
pools {
  ${name}-pool {
    addrs = ${r.pool}
  }
}
`;
}

function strongswanConf(vici: string, log: string): string {
  const uri = `unix://${vici}`;
  return `# generated by test/support/strongswan.ts: one isolated charon instance
charon {
  load = ${CHARON_PLUGINS.join(' ')}
  plugins {
    vici { socket = ${uri} }
    kernel-libipsec { allow_peer_ts = no }
  }
  install_routes = yes
  retransmit_tries = 3
  filelog {
    test {
      path = ${log}
      time_format = %T
      default = 1
      ike = 2
      knl = 2
      cfg = 2
      esp = 1
      append = no
      flush_line = yes
    }
    stderr { default = 0 }
  }
  syslog { daemon { default = -1 } auth { default = -1 } }
}
swanctl {
  socket = ${uri}
  load = ${SWANCTL_PLUGINS.join(' ')}
}
`;
}

// ---------------------------------------------------------------- the daemon

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class StrongSwan {
  readonly ns: string;
  readonly name: string;
  readonly dir: string;
  readonly conf: string;
  readonly swanctlDir: string;
  readonly vici: string;
  readonly log: string;
  private readonly runner: CommandRunner;
  private child: ChildProcess | null = null;
  private exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private output = '';

  private constructor(opts: StrongSwanOptions) {
    this.ns = opts.ns;
    this.name = opts.name;
    this.dir = opts.dir;
    this.conf = join(opts.dir, 'strongswan.conf');
    this.swanctlDir = join(opts.dir, 'swanctl');
    this.vici = join(opts.dir, 'run', 'charon.vici');
    this.log = join(opts.dir, 'charon.log');
    this.runner = opts.runner ?? new NodeCommandRunner();
  }

  /**
   * Lay out the instance directory and start charon-systemd in `opts.ns`;
   * resolves when the daemon answers on its vici socket. Throws (with the log
   * tail) when the binary is missing, the daemon exits, or it is not ready in time.
   */
  static async start(opts: StrongSwanOptions): Promise<StrongSwan> {
    for (const bin of [CHARON_BIN, SWANCTL_BIN]) {
      if (!existsSync(bin)) throw new Error(`${bin} not found: install charon-systemd and strongswan-swanctl (see .ci/run)`);
    }
    const s = new StrongSwan(opts);
    for (const d of ['x509', 'x509ca', 'private', 'pubkey']) mkdirSync(join(s.swanctlDir, d), { recursive: true });
    mkdirSync(join(s.dir, 'run'), { recursive: true });
    writeFileSync(s.conf, strongswanConf(s.vici, s.log));
    if (!existsSync(join(s.swanctlDir, 'swanctl.conf'))) writeFileSync(join(s.swanctlDir, 'swanctl.conf'), '');
    // A stale socket makes swanctl talk to nothing (or to a dead daemon) and our readiness check lie.
    rmSync(s.vici, { force: true });
    rmSync(s.log, { force: true });
    await s.spawn(opts.readyTimeoutMs ?? 10_000);
    return s;
  }

  private async spawn(timeoutMs: number): Promise<void> {
    const child = spawn('ip', ['netns', 'exec', this.ns, 'env', `STRONGSWAN_CONF=${this.conf}`, `SWANCTL_DIR=${this.swanctlDir}`, CHARON_BIN], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const keep = (d: string): void => {
      this.output = (this.output + d).slice(-4000);
    };
    child.stdout?.setEncoding('utf8').on('data', keep);
    child.stderr?.setEncoding('utf8').on('data', keep);
    child.on('exit', (code, signal) => (this.exited = { code, signal }));
    child.on('error', (e) => {
      this.exited = { code: null, signal: null };
      keep(String(e));
    });
    const t0 = performance.now();
    for (;;) {
      if (this.exited !== null) throw this.failure(`charon exited during start-up (${JSON.stringify(this.exited)})`);
      if (existsSync(this.vici)) {
        const r = await this.swanctlRaw(['--stats']);
        if (r.code === 0) return;
      }
      if (performance.now() - t0 > timeoutMs) throw this.failure(`charon not ready on ${this.vici} within ${timeoutMs} ms`);
      await sleep(20);
    }
  }

  /** The daemon's PID (charon itself: `ip netns exec` execs it). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== null && this.exited === null;
  }

  /** The last `lines` lines of the charon log (and the daemon's own output). */
  logTail(lines = 40): string {
    let log = '';
    try {
      log = readFileSync(this.log, 'utf8');
    } catch {
      log = '(no charon log)';
    }
    const tail = log.trimEnd().split('\n').slice(-lines).join('\n');
    return this.output.trim() === '' ? tail : `${tail}\n--- charon stdout/stderr ---\n${this.output.trim()}`;
  }

  private failure(what: string): Error {
    return new Error(`strongSwan ${this.name} (netns ${this.ns}): ${what}\n--- tail of ${this.log} ---\n${this.logTail()}`);
  }

  /** Write the CA, this instance's certificate and key into SWANCTL_DIR. */
  writeCredentials(c: Credentials): void {
    writeFileSync(join(this.swanctlDir, 'x509ca', c.caFile ?? 'ca.pem'), c.caPem);
    writeFileSync(join(this.swanctlDir, 'x509', c.certFile ?? 'local.pem'), c.certPem);
    writeFileSync(join(this.swanctlDir, 'private', c.keyFile ?? 'local.key'), c.keyPem, { mode: 0o600 });
  }

  /** Replace swanctl.conf (see clientSwanctlConf / responderSwanctlConf). */
  writeConfig(swanctlConf: string): void {
    writeFileSync(join(this.swanctlDir, 'swanctl.conf'), swanctlConf);
  }

  private swanctlRaw(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return this.runner.run([
      'env',
      `STRONGSWAN_CONF=${this.conf}`,
      `SWANCTL_DIR=${this.swanctlDir}`,
      SWANCTL_BIN,
      ...args,
      '--uri',
      `unix://${this.vici}`,
    ]);
  }

  /** Run swanctl against this instance; throws with its output and the log tail on a non-zero exit. */
  async swanctl(...args: string[]): Promise<string> {
    const r = await this.swanctlRaw(args);
    if (r.code !== 0) {
      throw this.failure(`swanctl ${args.join(' ')}: exit ${r.code}\n${(r.stdout + r.stderr).trim()}`);
    }
    return r.stdout;
  }

  /** `swanctl --load-all`: credentials, connections and pools. Throws when anything failed to load. */
  async load(): Promise<string> {
    const out = await this.swanctl('--load-all', '--noprompt');
    if (/failed|error/i.test(out.split('\n').filter((l) => !/^(opening directory|loading .* failed: .*No such)/.test(l)).join('\n'))) {
      throw this.failure(`swanctl --load-all reported a failure:\n${out}`);
    }
    return out;
  }

  async initiate(child: string, timeoutS = 10): Promise<string> {
    return this.swanctl('--initiate', '--child', child, '--timeout', String(timeoutS));
  }

  async listSas(): Promise<IkeSa[]> {
    return parseListSas(await this.swanctl('--list-sas', '--raw'));
  }

  async rekeyChild(child: string): Promise<string> {
    return this.swanctl('--rekey', '--child', child);
  }

  async rekeyIke(ike: string): Promise<string> {
    return this.swanctl('--rekey', '--ike', ike);
  }

  async terminate(ike: string, timeoutS = 5): Promise<string> {
    return this.swanctl('--terminate', '--ike', ike, '--timeout', String(timeoutS));
  }

  /** Poll listSas() until `done` holds; throws with the last listing and log tail on timeout. */
  async waitForSas(what: string, done: (sas: IkeSa[]) => boolean, timeoutMs = 10_000): Promise<IkeSa[]> {
    const t0 = performance.now();
    for (;;) {
      const sas = await this.listSas();
      if (done(sas)) return sas;
      if (performance.now() - t0 > timeoutMs) throw this.failure(`${what}: not within ${timeoutMs} ms; SAs: ${JSON.stringify(sas)}`);
      await sleep(50);
    }
  }

  /** SIGTERM the daemon (by its PID), SIGKILL after `graceMs`; removes the socket. Safe to call twice. */
  async stop(graceMs = 3000): Promise<void> {
    const child = this.child;
    if (child === null || this.exited !== null) {
      rmSync(this.vici, { force: true });
      return;
    }
    const gone = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await gone;
    clearTimeout(timer);
    rmSync(this.vici, { force: true });
  }
}
