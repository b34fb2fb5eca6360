/**
 * IKE_SA establishments per second (each with one CHILD_SA and a virtual
 * address), the server's CPU per establishment and its memory per
 * established IKE_SA, against a one-member Shoal lab and strongSwan's own
 * responder on the same machine (bench/support/responders.ts).
 *
 *   client ns: charon + strongSwan's load-tester plug-in (fake kernel: no ESP,
 *              no addresses on the client)                               [CLIENT_CPU]
 *     ── control socket "10 0" per batch, 4 batches in flight ──► IKE_SA_INIT + IKE_AUTH
 *   responder: member daemon | charon (kernel-libipsec, pool 198.19.0.0/16) [SERVER_CPU]
 *
 * Per run, side and suite (ECDSA P-256 certificates + ecp256; PSK + x25519):
 * a fresh responder process, a fresh load-tester, 50 SAs to warm up, then
 * RSS and CPU of the server, 1,000 SAs (unique identities `lt<n>.shoal.test`
 * with certificates the plug-in issues from the lab CA on demand; for PSK
 * both responders are given these identities with the lab secret, since
 * charon reuses an IKE_SA for a second SA with the same identities), CPU
 * and, 1 s later, RSS
 * again. Figures: established SAs per wall second, server CPU ms per SA,
 * server RSS growth per SA.
 *
 * The load-tester plug-in is not in Debian's packages: build it once with
 * bench/support/build-load-tester.sh (see bench/README.md); the bench loads
 * it from a private mount namespace and fails loudly when it is missing.
 *
 * Usage: node dist/bench/ipsec-handshakes.js [--runs 3] [--sas 1000] [--suites ecdsa,psk]
 *          [--batch 10] [--in-flight 4] [--plugins /var/tmp/shoal-load-tester/plugins] [--log-level 0]
 */
import { existsSync, mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { LAB_IPSEC } from '../src/lab/ipsec-pki.js';
import { flagValue, loadAverage1m, sleep } from './lab-bench.js';
import { BASE_PLUGINS, Charon, CHARON_BIN, charonConf, SWANCTL_BIN } from './support/charon.js';
import { requireTools } from './support/netns.js';
import { cpuSecondsOf, pinProcess, rssBytesOf, udpRcvbufErrors } from './support/proc.js';
import { formatTable, saveSideBySide, summarize, type SideBySideRow } from './support/report.js';
import { CLIENT_CPU, PROTECTED, SERVER_ID, withSides, type Side, type SideKind } from './support/responders.js';

export interface HandshakeOptions {
  runs: number;
  sas: number;
  pluginDir: string;
  /** Which suites (keys of SUITES), default all. */
  suites: readonly string[];
  /** The load-tester's log level (its log is shown on a failure); 0 keeps it cheap. */
  logLevel: number;
  /** SAs per control-socket request, and requests outstanding at once. */
  batch: number;
  inFlight: number;
}

export const DEFAULT_PLUGIN_DIR = '/var/tmp/shoal-load-tester/plugins';
export const HANDSHAKE_DEFAULTS: HandshakeOptions = { runs: 3, sas: 1000, pluginDir: DEFAULT_PLUGIN_DIR, suites: ['ecdsa', 'psk'], logLevel: 0, batch: 10, inFlight: 4 };

const WARM_UP = 50;
const BATCH_TIMEOUT_MS = 120_000;

interface Suite {
  key: 'ecdsa' | 'psk';
  label: string;
  ike: string;
  esp: string;
  auth: 'pubkey' | 'psk';
  initiatorId: string;
}

const SUITES: readonly Suite[] = [
  { key: 'ecdsa', label: 'ECDSA P-256 + ecp256', ike: 'aes256gcm16-prfsha256-ecp256', esp: 'aes256gcm16', auth: 'pubkey', initiatorId: 'lt%d.shoal.test' },
  { key: 'psk', label: 'PSK + x25519', ike: 'aes128gcm16-prfsha256-x25519', esp: 'aes256gcm16', auth: 'psk', initiatorId: 'lt%d.shoal.test' },
];

function loadTesterSection(s: Suite, pkiDir: string, socket: string): string {
  return `    load-tester {
      enable = yes
      initiators = 0
      iterations = 0
      fake_kernel = yes
      version = 2
      initiator = 0.0.0.0
      responder = 198.18.1.10
      encap = yes
      proposal = ${s.ike}
      esp = ${s.esp}
      initiator_auth = ${s.auth}
      responder_auth = ${s.auth}
      initiator_id = ${s.initiatorId}
      responder_id = ${SERVER_ID}
      issuer_cert = ${join(pkiDir, 'ca.pem')}
      issuer_key = ${join(pkiDir, 'ca.key')}
      digest = sha256
      preshared_key = ${LAB_IPSEC.pskSecret}
      request_virtual_ip = yes
      initiator_tsr = ${PROTECTED}
      socket = unix://${socket}
    }`;
}

/** Ask the load-tester for `count` IKE_SAs and wait for all of them: established ('+') and failed ('-'). */
function batch(socket: string, count: number): Promise<{ ok: number; failed: number }> {
  return new Promise((resolve, reject) => {
    let out = '';
    const c = connect(socket);
    const timer = setTimeout(() => c.destroy(new Error(`load-tester: ${count} SAs not done within ${BATCH_TIMEOUT_MS} ms (got ${out})`)), BATCH_TIMEOUT_MS);
    c.setEncoding('utf8');
    c.on('connect', () => c.write(`${count} 0\n`));
    c.on('data', (d: string) => (out += d));
    c.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    c.on('close', () => {
      clearTimeout(timer);
      const ok = (out.match(/\+/g) ?? []).length;
      const failed = (out.match(/[-!]/g) ?? []).length;
      if (ok + failed < count) reject(new Error(`load-tester closed after ${ok + failed} of ${count} SAs: ${out}`));
      else resolve({ ok, failed });
    });
  });
}

/**
 * `total` SAs in batches of `size` with `inFlight` batches outstanding. Each
 * batch is initiated back to back: too many at once overflow strongSwan's
 * IKE socket receive buffer (kernel default, it has no setting for it), and a
 * dropped IKE_SA_INIT costs a 4 s retransmission.
 */
async function establish(socket: string, total: number, size: number, inFlight: number): Promise<{ ok: number; failed: number }> {
  let left = total;
  let ok = 0;
  let failed = 0;
  const worker = async (): Promise<void> => {
    while (left > 0) {
      const n = Math.min(size, left);
      left -= n;
      const r = await batch(socket, n);
      ok += r.ok;
      failed += r.failed;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return { ok, failed };
}

interface Sample {
  perSecond: number;
  cpuMsPerSa: number;
  rssKbPerSa: number;
}

async function oneRun(side: Side, suite: Suite, o: HandshakeOptions, pkiDir: string, dir: string, track: (c: Charon | null) => void): Promise<Sample> {
  // The load-tester numbers its identities from 1: lt1 … lt<warm-up + SAs>.shoal.test.
  const identities = Array.from({ length: WARM_UP + o.sas }, (_, k) => `lt${k + 1}.shoal.test`);
  await side.restart(suite.auth === 'psk' ? { kind: 'psk', identities } : { kind: 'cert' });
  mkdirSync(dir, { recursive: true });
  const socket = join(dir, 'run', 'load-tester.sock');
  const lt = await Charon.start({
    ns: side.clientNs,
    dir,
    name: `load-tester against ${side.kind}`,
    pluginDir: o.pluginDir,
    conf: (vici, log) =>
      charonConf(vici, log, {
        // load-tester before kernel-netlink: its fake kernel interface must win.
        plugins: [...BASE_PLUGINS, 'load-tester', 'kernel-netlink', 'socket-default', 'vici'],
        charon: '  install_virtual_ip = no\n  ikesa_table_size = 4096\n  ikesa_table_segments = 16\n  init_limit_half_open = 0',
        plugins_: loadTesterSection(suite, pkiDir, socket),
        logLevel: o.logLevel,
      }),
  });
  track(lt);
  try {
    await pinProcess(lt.pid, CLIENT_CPU);
    const attempt = (n: number): Promise<{ ok: number; failed: number }> =>
      establish(socket, n, o.batch, o.inFlight).catch((e: unknown) => {
        throw lt.failure(`against ${side.kind}: ${e instanceof Error ? e.message : String(e)}`);
      });
    const warm = await attempt(WARM_UP);
    if (warm.ok !== WARM_UP) throw lt.failure(`warm-up against ${side.kind}: ${warm.ok} of ${WARM_UP} SAs established`);
    const pids = side.serverPids();
    await sleep(500);
    const rss0 = rssBytesOf(pids);
    const drops0 = await udpRcvbufErrors(side.serverNs);
    const clientDrops0 = await udpRcvbufErrors(side.clientNs);
    const cpu0 = cpuSecondsOf(pids);
    const t0 = performance.now();
    const r = await attempt(o.sas);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = cpuSecondsOf(pids) - cpu0;
    const drops = (await udpRcvbufErrors(side.serverNs)) - drops0;
    const clientDrops = (await udpRcvbufErrors(side.clientNs)) - clientDrops0;
    await sleep(1000);
    const rss = rssBytesOf(pids) - rss0;
    if (r.ok === 0) throw lt.failure(`no SA established against ${side.kind}`);
    const sample = { perSecond: r.ok / seconds, cpuMsPerSa: (cpu * 1000) / r.ok, rssKbPerSa: rss / 1024 / r.ok };
    console.log(
      `  ${side.kind} ${suite.label}: ${r.ok}/${o.sas} established (${r.failed} failed) in ${seconds.toFixed(2)} s = ${sample.perSecond.toFixed(0)} SA/s; ` +
        `server ${sample.cpuMsPerSa.toFixed(2)} ms CPU/SA, RSS +${(rss / 1024).toFixed(0)} kB = ${sample.rssKbPerSa.toFixed(1)} kB/SA; ` +
        `UDP receive buffer drops: ${drops} at the server, ${clientDrops} at the client`,
    );
    return sample;
  } finally {
    await lt.stop();
    track(null);
  }
}

export async function run(o: HandshakeOptions = HANDSHAKE_DEFAULTS): Promise<SideBySideRow[]> {
  requireTools([CHARON_BIN, SWANCTL_BIN, '/usr/bin/taskset', '/usr/bin/unshare']);
  if (!existsSync(join(o.pluginDir, 'libstrongswan-load-tester.so'))) {
    throw new Error(
      `strongSwan's load-tester plug-in is not at ${o.pluginDir}/libstrongswan-load-tester.so: build it with ` +
        `'sh bench/support/build-load-tester.sh ${o.pluginDir.replace(/\/plugins$/, '')}' (Debian ships no binary; see bench/README.md), or pass --plugins <dir>`,
    );
  }
  const t0 = performance.now();
  const load0 = loadAverage1m();
  const data = new Map<string, Sample[]>();
  const key = (k: SideKind, s: Suite): string => `${k}/${s.key}`;
  await withSides('bh', async (s) => {
    let current: Charon | null = null;
    const removeHook = s.onCleanup(() => {
      if (current !== null) current.stop(0).catch(() => undefined);
    });
    try {
      let n = 0;
      for (let r = 0; r < o.runs; r++) {
        for (const suite of SUITES.filter((x) => o.suites.includes(x.key))) {
          const order = r % 2 === 0 ? [s.shoal, s.strongswan] : [s.strongswan, s.shoal];
          for (const side of order) {
            console.log(`# run ${r + 1}/${o.runs}: ${side.kind}, ${suite.label}`);
            const sample = await oneRun(side, suite, o, s.pkiDir, join(s.work, `lt-${++n}`), (c) => (current = c));
            data.set(key(side.kind, suite), [...(data.get(key(side.kind, suite)) ?? []), sample]);
          }
        }
      }
    } finally {
      removeHook();
    }
  });
  const rows: SideBySideRow[] = SUITES.filter((x) => o.suites.includes(x.key)).flatMap((suite) => {
    const get = (k: SideKind, f: keyof Sample): number[] => (data.get(key(k, suite)) ?? []).map((x) => x[f]);
    return [
      { figure: `IKE_SA establishments, ${suite.label}`, unit: 'SA/s', lowerIsBetter: false, shoal: get('shoal', 'perSecond'), strongswan: get('strongswan', 'perSecond') },
      { figure: `server CPU per establishment, ${suite.label}`, unit: 'ms', lowerIsBetter: true, shoal: get('shoal', 'cpuMsPerSa'), strongswan: get('strongswan', 'cpuMsPerSa') },
      { figure: `server RSS per IKE_SA (${o.sas} SAs), ${suite.label}`, unit: 'kB', lowerIsBetter: true, shoal: get('shoal', 'rssKbPerSa'), strongswan: get('strongswan', 'rssKbPerSa') },
    ];
  });
  const summary = summarize(rows);
  console.log(formatTable(summary));
  const conditions = {
    runs: o.runs,
    sas: o.sas,
    warmUp: WARM_UP,
    initiator: `strongSwan load-tester plug-in (5.9.8, fake kernel), batches of ${o.batch}, ${o.inFlight} in flight`,
    pinning: `initiator on cpu ${CLIENT_CPU}, server on the other`,
    loadavgStart: load0,
    loadavgEnd: loadAverage1m(),
    seconds: Math.round((performance.now() - t0) / 1000),
  };
  console.log(`wrote ${saveSideBySide('handshakes', summary, conditions)}`);
  return rows;
}

function numberFlag(argv: readonly string[], flag: string, fallback: number): number {
  const v = flagValue(argv, flag);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${flag} wants a positive integer, got '${v}'`);
  return n;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const argv = process.argv.slice(2);
  await run({
    runs: numberFlag(argv, '--runs', HANDSHAKE_DEFAULTS.runs),
    sas: numberFlag(argv, '--sas', HANDSHAKE_DEFAULTS.sas),
    pluginDir: flagValue(argv, '--plugins') ?? DEFAULT_PLUGIN_DIR,
    suites: (flagValue(argv, '--suites') ?? HANDSHAKE_DEFAULTS.suites.join(',')).split(','),
    logLevel: Number(flagValue(argv, '--log-level') ?? 0),
    batch: numberFlag(argv, '--batch', HANDSHAKE_DEFAULTS.batch),
    inFlight: numberFlag(argv, '--in-flight', HANDSHAKE_DEFAULTS.inFlight),
  });
}
