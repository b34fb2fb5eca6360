/**
 * Filter throughput on one core: classifications per second over a mix of
 * 64- and 1400-byte packets (UDP, TCP, ESP, ESP-in-UDP, ICMP, IKE, L2TP, GRE)
 * built in advance, so the loop measures only the filter. Target: >= 20 M/s
 * for classifyInbound.
 */
import { loadavg } from 'node:os';
import { classifyForward, classifyInbound, classifyToClient } from '../src/cluster/filter.js';
import { allocateId16, allocateIkeSpi, allocateSpi32 } from '../src/cluster/session-id.js';
import { SeededRandom } from '../src/lib/random.js';
import { PROTO, esp, greV1, icmpEcho, ike, ipv4, l2tp, nonEsp, tcp, udp } from '../test/support/packets.js';
import { measureRounds } from './measure.js';
import { type BenchResult, formatResult } from './result.js';

const PACKETS = 4096;
const SIZES = [64, 1400] as const;
const IP = 20;
const UDP = 8;

type Builder = (rng: SeededRandom, src: number, dst: number, size: number) => Uint8Array;

const unit = (rng: SeededRandom): number => rng.u32() & 1023;
const port = (rng: SeededRandom): number => 1024 + (rng.u32() % 64512);
const fill = (n: number): Uint8Array => new Uint8Array(Math.max(0, n));

const KINDS: Record<string, Builder> = {
  udp: (r, src, dst, size) => ipv4({ src, dst, protocol: PROTO.UDP, payload: udp(port(r), 53, fill(size - IP - UDP)) }),
  tcp: (r, src, dst, size) => ipv4({ src, dst, protocol: PROTO.TCP, payload: tcp(port(r), 443, fill(size - IP - 20)) }),
  esp: (r, src, dst, size) =>
    ipv4({ src, dst, protocol: PROTO.ESP, payload: esp(allocateSpi32(unit(r), r), 1, fill(size - IP - 8)) }),
  espInUdp: (r, src, dst, size) =>
    ipv4({ src, dst, protocol: PROTO.UDP, payload: udp(4500, 4500, esp(allocateSpi32(unit(r), r), 1, fill(size - IP - UDP - 8))) }),
  icmp: (_r, src, dst, size) => ipv4({ src, dst, protocol: PROTO.ICMP, payload: icmpEcho(1, 1, fill(size - IP - 8)) }),
  ike: (r, src, dst, size) => {
    const responderSpi = r.u32() & 1 ? allocateIkeSpi(unit(r), r) : new Uint8Array(8);
    const msg = ike({ initiatorSpi: r.bytes(8), responderSpi, body: fill(size - IP - UDP - 4 - 28) });
    return ipv4({ src, dst, protocol: PROTO.UDP, payload: udp(port(r), 4500, nonEsp(msg)) });
  },
  l2tp: (r, src, dst, size) => {
    const msg = l2tp({ tunnelId: allocateId16(unit(r), r), sessionId: r.u32() & 0xffff, payload: fill(size - IP - UDP - 6) });
    return ipv4({ src, dst, protocol: PROTO.UDP, payload: udp(1701, 1701, msg) });
  },
  gre: (r, src, dst, size) =>
    ipv4({ src, dst, protocol: PROTO.GRE, payload: greV1({ callId: allocateId16(unit(r), r), sequence: 1, payload: fill(size - IP - 12) }) }),
};

function buildMix(seed: number): Uint8Array[] {
  const rng = new SeededRandom(seed);
  const kinds = Object.values(KINDS);
  const out: Uint8Array[] = [];
  for (let i = 0; i < PACKETS; i++) {
    const build = kinds[i % kinds.length]!;
    out.push(build(rng, rng.u32(), rng.u32(), SIZES[rng.u32() & 1]!));
  }
  // Shuffle so the branch pattern is not periodic.
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.u32() % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

export async function run(): Promise<BenchResult[]> {
  const packets = buildMix(0xf117e4);
  const conditions = {
    packets: PACKETS,
    sizes: SIZES.join('+'),
    kinds: Object.keys(KINDS).join(','),
    node: process.version,
  };
  const results: BenchResult[] = [];
  for (const [name, f, seconds] of [
    ['filter/classifyInbound', classifyInbound, 1.5],
    ['filter/classifyForward', classifyForward, 0.75],
    ['filter/classifyToClient', classifyToClient, 0.75],
  ] as const) {
    const round = (): number => {
      let sink = 0;
      for (let i = 0; i < packets.length; i++) sink = (sink + f(packets[i]!)) | 0;
      return sink;
    };
    measureRounds(round, packets.length, 0.25); // warm up: let V8 optimise before timing
    const m = measureRounds(round, packets.length, seconds);
    results.push({
      name,
      figure: m.perSecond / 1e6,
      unit: 'M classifications/s',
      conditions: {
        ...conditions,
        seconds,
        perCpuSecondM: Math.round(m.perCpuSecond / 1e4) / 100,
        loadAverage1m: Math.round(loadavg()[0]! * 100) / 100,
        sink: m.sink,
      },
    });
  }
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await run()) console.log(formatResult(r));
}
