/**
 * ESP throughput on one core, per transform and inner packet size (64 and
 * 1400 bytes): encapsulate and decapsulate, in packets/s and Gbit/s of inner
 * packets. Packets are built in advance; decapsulate runs each packet once
 * through a fresh inbound SA per round (the replay window would refuse a
 * second pass), so the figure includes the window and the padding check.
 */
import { loadavg } from 'node:os';
import { InboundEspSa, OutboundEspSa, type EspInboundConfig } from '../src/apps/ipsec/esp/sa.js';
import { SeededRandom } from '../src/lib/random.js';
import { TRANSFORM_NAMES, transformSpec } from '../test/apps/ipsec/esp/support.js';
import { measureRounds, type Measured } from './measure.js';
import { type BenchResult, formatResult } from './result.js';

const SIZES = [64, 1400] as const;
const PACKETS = 4096;
const SECONDS = 0.5;



function result(name: string, m: Measured, size: number, transform: string): BenchResult {
  return {
    name,
    figure: Math.round(m.perSecond / 100) / 10,
    unit: 'k packets/s',
    conditions: {
      transform,
      innerBytes: size,
      gbitPerSecond: Math.round(((m.perSecond * size * 8) / 1e9) * 1000) / 1000,
      perCpuSecondK: Math.round(m.perCpuSecond / 100) / 10,
      seconds: SECONDS,
      loadAverage1m: Math.round(loadavg()[0]! * 100) / 100,
      node: process.version,
      sink: m.sink,
    },
  };
}

export async function run(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  for (const name of TRANSFORM_NAMES) {
    for (const size of SIZES) {
      const rng = new SeededRandom(0xe5b);
      const config = { spi: 0x1000, transform: transformSpec(name, rng), esn: true };
      const inner = rng.bytes(size);
      inner[0] = 0x45;
      const out = new OutboundEspSa(0, { ...config, random: rng.fork() });
      const encapsulateRound = (): number => {
        let sink = 0;
        for (let i = 0; i < PACKETS; i++) {
          const r = out.encapsulate(0, inner);
          sink += typeof r === 'string' ? 1 : r.length;
        }
        return sink;
      };
      measureRounds(encapsulateRound, PACKETS, 0.1); // warm up
      results.push(result(`esp/encapsulate/${name}/${size}`, measureRounds(encapsulateRound, PACKETS, SECONDS), size, name));

      const sender = new OutboundEspSa(0, { ...config, random: rng.fork() });
      const packets: Uint8Array[] = [];
      for (let i = 0; i < PACKETS; i++) packets.push(sender.encapsulate(0, inner) as Uint8Array);
      const inboundConfig: EspInboundConfig = { ...config, replayWindow: 4096 };
      const decapsulateRound = (): number => {
        const sa = new InboundEspSa(0, inboundConfig);
        let sink = 0;
        for (let i = 0; i < PACKETS; i++) {
          const r = sa.decapsulate(0, packets[i]!);
          if (!r.ok) throw new Error(`bench packet dropped: ${r.reason}`);
          sink += r.packet.length;
        }
        return sink;
      };
      measureRounds(decapsulateRound, PACKETS, 0.1);
      results.push(result(`esp/decapsulate/${name}/${size}`, measureRounds(decapsulateRound, PACKETS, SECONDS), size, name));
    }
  }
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await run()) console.log(formatResult(r));
}
