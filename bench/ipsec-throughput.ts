/**
 * Tunnel throughput through a one-member Shoal lab and through strongSwan's
 * own responder (charon-systemd, kernel-libipsec, `encap = yes`) on the same
 * machine with the same client (bench/support/responders.ts), and what it
 * costs the server: CPU seconds (utime + stime of the server process) per GB
 * the receiver got.
 *
 *   client ns: charon (kernel-libipsec, ipsec0 MTU 1400) + iperf3 -c   [CLIENT_CPU]
 *        ── IKEv2 + ESP-in-UDP ──► responder (member daemon | charon)  [SERVER_CPU]
 *        ── plain IP ──► app host 198.18.2.100: iperf3 -s              [CLIENT_CPU]
 *
 * Per run and side: iperf3 TCP with aes256gcm16 and with aes128-sha256
 * (client → app host), then UDP datagrams of 1400 bytes on the wire inside
 * the tunnel (1372 bytes of payload) at the highest offered rate that loses
 * < 1%, found by binary search over -b. Sides alternate which goes first.
 * The client side (one core for charon and both iperf3 ends) limits the raw
 * rates, so the server CPU per GB is the figure to compare.
 *
 * Usage: node dist/bench/ipsec-throughput.js [--runs 3] [--seconds 10] [--udp-seconds 4] [--udp-steps 6]
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LAB_IPSEC } from '../src/lab/ipsec-pki.js';
import { flagValue, loadAverage1m } from './lab-bench.js';
import { BASE_PLUGINS, Charon, CHARON_BIN, charonConf, SWANCTL_BIN } from './support/charon.js';
import { iperfClient, iperfServer, IPERF3_BIN, type Background, type IperfRun } from './support/iperf.js';
import { requireTools } from './support/netns.js';
import { cpuSecondsOf, pinProcess, udpRcvbufErrors } from './support/proc.js';
import { formatTable, saveSideBySide, summarize, type SideBySideRow } from './support/report.js';
import { APP_HOST, CLIENT_CPU, PROTECTED, SERVER_ID, withSides, type Side, type SideKind } from './support/responders.js';

export interface ThroughputOptions {
  runs: number;
  seconds: number;
  udpSeconds: number;
  udpSteps: number;
}

export const THROUGHPUT_DEFAULTS: ThroughputOptions = { runs: 3, seconds: 10, udpSeconds: 4, udpSteps: 6 };

const PORT = 5201;
/** 1400-byte IP datagrams inside the tunnel: 1400 − 20 (IPv4) − 8 (UDP). */
const UDP_PAYLOAD = 1372;
const MAX_LOSS_PERCENT = 1;
const UDP_WINDOW = '4M';
const CLIENT = LAB_IPSEC.clients[0];

interface Suite {
  label: string;
  ike: string;
  esp: string;
}
const GCM: Suite = { label: 'aes256gcm16', ike: 'aes256gcm16-prfsha256-ecp256', esp: 'aes256gcm16' };
const CBC: Suite = { label: 'aes128-sha256', ike: 'aes128-sha256-x25519', esp: 'aes128-sha256' };

function clientSwanctl(s: Suite): string {
  return `connections {
  home {
    version = 2
    remote_addrs = 198.18.1.10
    vips = 0.0.0.0
    encap = yes
    mobike = no
    proposals = ${s.ike}
    local {
      auth = pubkey
      certs = ${CLIENT.cert}
      id = ${CLIENT.name}
    }
    remote {
      auth = pubkey
      id = ${SERVER_ID}
      cacerts = ca.pem
    }
    children {
      home {
        remote_ts = ${PROTECTED}
        esp_proposals = ${s.esp}
        start_action = none
      }
    }
  }
}
`;
}

interface Measured {
  run: IperfRun;
  cpuPerGb: number;
}

/** One iperf3 client run, the server's CPU read around it. */
async function measure(side: Side, vip: string, seconds: number, udpRate?: number): Promise<Measured> {
  const pids = side.serverPids();
  const c0 = cpuSecondsOf(pids);
  const run = await iperfClient({
    ns: side.clientNs,
    server: APP_HOST,
    port: PORT,
    bind: vip,
    seconds,
    cpu: CLIENT_CPU,
    ...(udpRate === undefined ? {} : { udp: { bitsPerSecond: udpRate, length: UDP_PAYLOAD }, window: UDP_WINDOW }),
  });
  const cpu = cpuSecondsOf(pids) - c0;
  return { run, cpuPerGb: cpu / (run.bytes / 1e9) };
}

/** The highest offered UDP rate with < 1% loss: binary search between 0 and twice the TCP goodput. */
async function udpSearch(side: Side, vip: string, o: ThroughputOptions, tcpBps: number): Promise<Measured | null> {
  let lo = 0;
  let hi = Math.max(2 * tcpBps, 100e6);
  let best: Measured | null = null;
  for (let step = 0; step < o.udpSteps; step++) {
    const rate = best === null && step === 0 ? tcpBps : (lo + hi) / 2;
    const drops0 = await udpRcvbufErrors(side.serverNs);
    const m = await measure(side, vip, o.udpSeconds, rate);
    const drops = (await udpRcvbufErrors(side.serverNs)) - drops0;
    const ok = m.run.lossPercent < MAX_LOSS_PERCENT;
    console.log(
      `  ${side.kind} UDP -b ${(rate / 1e6).toFixed(0)}M: ${(m.run.bitsPerSecond / 1e6).toFixed(0)} Mbit/s received, ${m.run.lossPercent.toFixed(2)}% lost ` +
        `(${drops} datagrams dropped at the responder's UDP receive buffer)`,
    );
    if (ok) {
      lo = rate;
      if (best === null || m.run.bitsPerSecond > best.run.bitsPerSecond) best = m;
    } else hi = rate;
  }
  return best;
}

type Key = 'tcpGcm' | 'tcpGcmCpu' | 'tcpCbc' | 'tcpCbcCpu' | 'udp' | 'udpCpu';
const ROWS: { key: Key; figure: string; unit: string; lowerIsBetter: boolean }[] = [
  { key: 'tcpGcm', figure: 'iperf3 TCP, aes256gcm16', unit: 'Mbit/s', lowerIsBetter: false },
  { key: 'tcpGcmCpu', figure: 'server CPU per GB, TCP aes256gcm16', unit: 's/GB', lowerIsBetter: true },
  { key: 'tcpCbc', figure: 'iperf3 TCP, aes128-sha256', unit: 'Mbit/s', lowerIsBetter: false },
  { key: 'tcpCbcCpu', figure: 'server CPU per GB, TCP aes128-sha256', unit: 's/GB', lowerIsBetter: true },
  { key: 'udp', figure: 'iperf3 UDP 1400-byte datagrams, aes256gcm16, < 1% loss', unit: 'Mbit/s', lowerIsBetter: false },
  { key: 'udpCpu', figure: 'server CPU per GB, UDP aes256gcm16', unit: 's/GB', lowerIsBetter: true },
];

async function oneSide(side: Side, client: Charon, o: ThroughputOptions, into: Record<Key, number[]>): Promise<void> {
  const connect = async (s: Suite): Promise<string> => {
    await client.terminateAll('home');
    client.writeSwanctlConf(clientSwanctl(s));
    await client.load();
    return client.initiate('home');
  };
  let vip = await connect(GCM);
  const gcm = await measure(side, vip, o.seconds);
  console.log(`  ${side.kind} TCP aes256gcm16: ${(gcm.run.bitsPerSecond / 1e6).toFixed(0)} Mbit/s, ${gcm.cpuPerGb.toFixed(2)} s CPU/GB, ${gcm.run.retransmits} retransmits`);
  into.tcpGcm.push(gcm.run.bitsPerSecond / 1e6);
  into.tcpGcmCpu.push(gcm.cpuPerGb);
  const udp = await udpSearch(side, vip, o, gcm.run.bitsPerSecond);
  if (udp === null) console.log(`  ${side.kind} UDP: no rate below ${MAX_LOSS_PERCENT}% loss found`);
  else {
    into.udp.push(udp.run.bitsPerSecond / 1e6);
    into.udpCpu.push(udp.cpuPerGb);
  }
  vip = await connect(CBC);
  const cbc = await measure(side, vip, o.seconds);
  console.log(`  ${side.kind} TCP aes128-sha256: ${(cbc.run.bitsPerSecond / 1e6).toFixed(0)} Mbit/s, ${cbc.cpuPerGb.toFixed(2)} s CPU/GB, ${cbc.run.retransmits} retransmits`);
  into.tcpCbc.push(cbc.run.bitsPerSecond / 1e6);
  into.tcpCbcCpu.push(cbc.cpuPerGb);
  await client.terminateAll('home');
}

export async function run(o: ThroughputOptions = THROUGHPUT_DEFAULTS): Promise<SideBySideRow[]> {
  requireTools([CHARON_BIN, SWANCTL_BIN, IPERF3_BIN, '/usr/bin/taskset']);
  const t0 = performance.now();
  const load0 = loadAverage1m();
  const data: Record<SideKind, Record<Key, number[]>> = {
    shoal: { tcpGcm: [], tcpGcmCpu: [], tcpCbc: [], tcpCbcCpu: [], udp: [], udpCpu: [] },
    strongswan: { tcpGcm: [], tcpGcmCpu: [], tcpCbc: [], tcpCbcCpu: [], udp: [], udpCpu: [] },
  };
  await withSides('bt', async (s) => {
    const started: (Charon | Background)[] = [];
    const removeHook = s.onCleanup(() => {
      for (const p of started) if (p instanceof Charon) p.stop(0).catch(() => undefined);
      else p.killNow();
    });
    try {
      const clients = new Map<SideKind, Charon>();
      for (const side of [s.shoal, s.strongswan]) {
        const dir = join(s.work, `client-${side.kind}`);
        mkdirSync(dir, { recursive: true });
        const pem = (f: string): string => readFileSync(join(s.pkiDir, f), 'utf8');
        const c = await Charon.start({
          ns: side.clientNs,
          dir,
          name: `client of ${side.kind}`,
          conf: (vici, log) => charonConf(vici, log, { plugins: [...BASE_PLUGINS, 'kernel-libipsec', 'kernel-netlink', 'socket-default', 'vici'] }),
          files: { 'x509ca/ca.pem': pem('ca.pem'), [`x509/${CLIENT.cert}`]: pem(CLIENT.cert), [`private/${CLIENT.key}`]: pem(CLIENT.key) },
        });
        started.push(c);
        await pinProcess(c.pid, CLIENT_CPU);
        clients.set(side.kind, c);
        started.push(await iperfServer(side.appNs, PORT, CLIENT_CPU));
      }
      for (let r = 0; r < o.runs; r++) {
        const order = r % 2 === 0 ? [s.shoal, s.strongswan] : [s.strongswan, s.shoal];
        for (const side of order) {
          console.log(`# run ${r + 1}/${o.runs}: ${side.kind}`);
          await oneSide(side, clients.get(side.kind)!, o, data[side.kind]);
        }
      }
    } finally {
      for (const p of started.reverse()) await p.stop();
      removeHook();
    }
  });
  const rows = ROWS.map((r) => ({ figure: r.figure, unit: r.unit, lowerIsBetter: r.lowerIsBetter, shoal: data.shoal[r.key], strongswan: data.strongswan[r.key] }));
  const summary = summarize(rows);
  console.log(formatTable(summary));
  const conditions = {
    runs: o.runs,
    tcpSeconds: o.seconds,
    udpSeconds: o.udpSeconds,
    udpSteps: o.udpSteps,
    tunnelMtu: 1400,
    udpPayload: UDP_PAYLOAD,
    pinning: `client side (charon, iperf3 both ends) on cpu ${CLIENT_CPU}, server on the other`,
    loadavgStart: load0,
    loadavgEnd: loadAverage1m(),
    seconds: Math.round((performance.now() - t0) / 1000),
  };
  console.log(`wrote ${saveSideBySide('throughput', summary, conditions)}`);
  return rows;
}

function numberFlag(argv: readonly string[], flag: string, fallback: number): number {
  const v = flagValue(argv, flag);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag} wants a positive number, got '${v}'`);
  return n;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const argv = process.argv.slice(2);
  await run({
    runs: numberFlag(argv, '--runs', THROUGHPUT_DEFAULTS.runs),
    seconds: numberFlag(argv, '--seconds', THROUGHPUT_DEFAULTS.seconds),
    udpSeconds: numberFlag(argv, '--udp-seconds', THROUGHPUT_DEFAULTS.udpSeconds),
    udpSteps: numberFlag(argv, '--udp-steps', THROUGHPUT_DEFAULTS.udpSteps),
  });
}
