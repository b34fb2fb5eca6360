/**
 * TAP throughput through our addon on one core: packets per second written
 * and read, 64- and 1400-byte frames, with each engine (io_uring: one
 * io_uring_enter per batch; syscalls: one read()/write() per frame), inside a
 * namespace made for the run and deleted after it (root needed).
 * Targets: ~1.1 M/s read, ~0.9 M/s write (64 B).
 *
 *   write:  writeBatch ──► tap w ─ingress─► tc drop            (the kernel counts every packet)
 *   read:   fill:  writeBatch ──► tap s ─ingress─► tc mirred ─egress─► tap r's queue (up to RING frames)
 *           drain: onReadable ──► readBatch … until the queue is empty   ← timed
 *   read while producing: a second process on the other core writes into s
 *           continuously while this one reads r
 *
 * Pre-filling the reader's queue and timing the drain measures the read path
 * alone; with a live sender the figure is the slower of sender and reader,
 * and on two cores the sender (write + tc mirred + wake-up, in its own
 * syscalls) is the slower. The drop sink is classic BPF in direct-action
 * mode because this kernel has no act_gact. Frames are IPv4/UDP inside
 * 198.18.0.0/15 and never leave the namespace.
 *
 * What limits the figures: with the syscalls engine, the syscall itself — on
 * a kernel with page-table isolation and no PCID a bare syscall costs about
 * 1 µs, so one read()/write() per frame caps near 0.55 M/s (a C loop gets the
 * same). With io_uring, the tun driver's per-frame work (skb build and
 * tc on write; ring pop, copy and skb free on read); JS costs one N-API call
 * per batch of 256.
 */
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { FrameBatch, type TapDevice } from '../src/ports/tap.js';
import { openLinuxTap, type LinuxTapDevice, type TapEngine } from '../src/ports/tap-linux.js';
import { ipBatch, runPrefix, sh } from '../test/support/netns.js';
import { PROTO, ipv4, udp } from '../test/support/packets.js';
import { type BenchResult, formatResult } from './result.js';

const SIZES = [64, 1400] as const;
const BATCH = 256;
const RING = 32_768;
const SECONDS = 1.5;
const ACCEPT_ALL = "bpf bytecode '1,6 0 0 4294967295,'"; // classic BPF "accept": matches every frame
const DROP_ALL = "bpf da bytecode '1,6 0 0 2,'"; // classic BPF returning TC_ACT_SHOT (no act_gact needed)

interface Trio {
  i: number;
  writer: LinuxTapDevice;
  source: LinuxTapDevice;
  reader: LinuxTapDevice;
}

/** `count` Ethernet+IPv4+UDP frames of `size` bytes, flows 198.18.20.x:p → 198.18.21.1:9. */
function frames(size: number, count: number): FrameBatch {
  const batch = new FrameBatch(count, count * size);
  for (let i = 0; i < count; i++) {
    const packet = ipv4({ src: 0xc6121400 + (i & 0xff), dst: 0xc6121501, protocol: PROTO.UDP, payload: udp(10_000 + i, 9, new Uint8Array(size - 42)) });
    batch.push(Uint8Array.from([0x02, 0, 0, 0, 0, 0xb0, 0x02, 0, 0, 0, 0, 0xa0, 0x08, 0x00, ...packet]));
  }
  return batch;
}

interface Rate {
  packets: number;
  perSecond: number;
  perCpuSecond: number;
}

function rate(packets: number, wallMs: number, cpu: NodeJS.CpuUsage): Rate {
  return { packets, perSecond: packets / (wallMs / 1000), perCpuSecond: packets / ((cpu.user + cpu.system) / 1e6) };
}

function linkStats(ns: string, dev: string): { rx: number; tx: number; txDropped: number } {
  const [link] = JSON.parse(sh(['ip', '-n', ns, '-j', '-s', 'link', 'show', 'dev', dev])) as {
    stats64: { rx: { packets: number }; tx: { packets: number; dropped: number } };
  }[];
  return { rx: link!.stats64.rx.packets, tx: link!.stats64.tx.packets, txDropped: link!.stats64.tx.dropped };
}

/** Write the same batch over and over for `seconds`: one write op (one packet) per frame. */
function measureWrite(device: TapDevice, batch: FrameBatch, seconds: number): Rate {
  let sent = 0;
  const cpu = process.cpuUsage();
  const start = performance.now();
  const deadline = start + seconds * 1000;
  let now = start;
  while (now < deadline) {
    for (let k = 0; k < 16; k++) sent += device.writeBatch(batch);
    now = performance.now();
  }
  return rate(sent, now - start, process.cpuUsage(cpu));
}

/** Fill the reader's queue with `count` frames, then time draining it through onReadable + readBatch. */
async function measureDrain(source: TapDevice, reader: TapDevice, payload: FrameBatch, count: number): Promise<{ read: number; ms: number; cpu: NodeJS.CpuUsage }> {
  for (let queued = 0; queued < count; ) {
    const sent = source.writeBatch(payload, Math.max(0, payload.count - (count - queued)));
    if (sent === 0) throw new Error(`bench: the source tap refuses frames (${source.stats().lastError ?? '?'})`);
    queued += sent;
  }
  const batch = new FrameBatch(BATCH);
  let read = 0;
  const cpu = process.cpuUsage();
  const start = performance.now();
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`bench: read ${read} of ${count} queued frames`)), 10_000);
    reader.onReadable(() => {
      let n;
      do read += n = reader.readBatch(batch);
      while (n === batch.capacity); // a batch that is not full found the queue empty
      if (read >= count) {
        clearTimeout(timer);
        resolve();
      }
    });
  }).finally(() => reader.onReadable(undefined));
  const ms = performance.now() - start;
  return { read, ms, cpu: process.cpuUsage(cpu) };
}

async function measureRead(source: TapDevice, reader: TapDevice, payload: FrameBatch, seconds: number): Promise<Rate> {
  await measureDrain(source, reader, payload, RING / 4); // warm up
  let read = 0;
  let ms = 0;
  const cpu = { user: 0, system: 0 };
  while (ms < seconds * 1000) {
    const round = await measureDrain(source, reader, payload, RING);
    read += round.read;
    ms += round.ms;
    cpu.user += round.cpu.user;
    cpu.system += round.cpu.system;
  }
  return rate(read, ms, cpu);
}

/** Read while a producer process on the other core writes into the source tap. */
async function measureReadWhileProducing(nsPath: string, source: string, reader: TapDevice, size: number, seconds: number): Promise<Rate & { produced: number }> {
  const child = spawn('taskset', ['-c', '1', process.execPath, fileURLToPath(import.meta.url), '--source', nsPath, source, String(size), String(seconds + 0.5)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const batch = new FrameBatch(BATCH);
  let read = 0;
  let counting = false;
  reader.onReadable(() => {
    let n;
    do {
      n = reader.readBatch(batch);
      if (counting) read += n;
    } while (n === batch.capacity);
  });
  await new Promise((r) => setTimeout(r, 250)); // producer started and running
  counting = true;
  const cpu = process.cpuUsage();
  const start = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  counting = false;
  const result = rate(read, performance.now() - start, process.cpuUsage(cpu));
  await exited;
  reader.onReadable(undefined);
  return { ...result, produced: Number(output.trim()) / (seconds + 0.5) };
}

/** The producer: attach a queue to the source tap and write for `seconds`; prints frames written. */
function produce(nsPath: string, name: string, size: number, seconds: number): void {
  const device = openLinuxTap({ name, netns: nsPath });
  console.log(measureWrite(device, frames(size, BATCH), seconds).packets);
  device.close();
}

export async function run(): Promise<BenchResult[]> {
  const ns = `${runPrefix('tapb')}ns`;
  const nsPath = `/run/netns/${ns}`;
  const devices: TapDevice[] = [];
  const results: BenchResult[] = [];
  ipBatch(null, [`netns add ${ns}`]);
  try {
    sh(['ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
    const open = (name: string, engine: TapEngine): LinuxTapDevice => {
      const d = openLinuxTap({ name, netns: nsPath, engine });
      devices.push(d);
      return d;
    };
    // A trio of taps per engine, so each reader's interface has exactly one queue (no flow spreading).
    const trio = (i: number, engine: TapEngine): Trio => {
      const t = { i, writer: open(`w${i}`, engine), source: open(`s${i}`, engine), reader: open(`r${i}`, engine) };
      ipBatch(ns, [`link set dev w${i} up`, `link set dev s${i} up`, `link set dev r${i} up txqueuelen ${RING}`]);
      sh(['tc', '-n', ns, '-batch', '-'], [
        `qdisc add dev w${i} clsact`,
        `filter add dev w${i} ingress ${DROP_ALL}`,
        `qdisc add dev s${i} clsact`,
        `filter add dev s${i} ingress ${ACCEPT_ALL} action mirred egress redirect dev r${i}`,
        '',
      ].join('\n'));
      return t;
    };
    const byEngine = [trio(0, 'io_uring'), trio(1, 'syscalls')];

    const conditions = { batch: BATCH, node: process.version, loadAverage1m: Math.round(loadavg()[0]! * 100) / 100 };
    for (const size of SIZES) {
      const payload = frames(size, BATCH);
      for (const { i, writer, source, reader } of byEngine) {
        const suffix = writer.engine === 'io_uring' ? '' : ` (${writer.engine})`;
        measureWrite(writer, payload, 0.25); // warm up
        const before = linkStats(ns, `w${i}`).rx;
        const w = measureWrite(writer, payload, SECONDS);
        const kernelCounted = linkStats(ns, `w${i}`).rx - before;
        results.push({
          name: `tap/write-${size}B${suffix}`,
          figure: w.perSecond / 1e6,
          unit: 'M packets/s',
          conditions: { ...conditions, engine: writer.engine, sink: 'tc ingress drop', frames: w.packets, kernelCounted, perCpuSecondM: Math.round(w.perCpuSecond / 1e4) / 100 },
        });

        const dropsBefore = linkStats(ns, `r${i}`).txDropped;
        const r = await measureRead(source, reader, payload, SECONDS);
        results.push({
          name: `tap/read-${size}B${suffix}`,
          figure: r.perSecond / 1e6,
          unit: 'M packets/s',
          conditions: {
            ...conditions,
            engine: reader.engine,
            source: `queue pre-filled with ${RING} frames via tc mirred, drain timed`,
            frames: r.packets,
            queueDrops: linkStats(ns, `r${i}`).txDropped - dropsBefore,
            perCpuSecondM: Math.round(r.perCpuSecond / 1e4) / 100,
          },
        });
      }
      const { reader } = byEngine[0]!;
      const c = await measureReadWhileProducing(nsPath, 's0', reader, size, SECONDS);
      results.push({
        name: `tap/read-while-producing-${size}B`,
        figure: c.perSecond / 1e6,
        unit: 'M packets/s',
        conditions: {
          ...conditions,
          engine: reader.engine,
          source: 'writer process on the other core → tc mirred',
          producedM: Math.round(c.produced / 1e4) / 100,
          perCpuSecondM: Math.round(c.perCpuSecond / 1e4) / 100,
        },
      });
    }
  } finally {
    for (const d of devices) d.close();
    sh(['ip', 'netns', 'del', ns]);
  }
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [mode, nsPath, name, size, seconds] = process.argv.slice(2);
  if (mode === '--source') produce(nsPath!, name!, Number(size), Number(seconds));
  else for (const r of await run()) console.log(formatResult(r));
}
