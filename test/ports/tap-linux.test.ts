/**
 * The real Linux tap, as root, inside a namespace this run makes and deletes.
 *
 * Devices are opened from this process: openLinuxTap's `netns` makes the
 * addon enter the namespace on the calling thread for the open only (a tun
 * fd belongs to the namespace it was opened in), so every test runs here.
 * The kernel side of the contract is a second tap wired back to back with tc:
 *
 *   device ──write──► tap a ─ingress─► tc mirred ─egress─► tap b ──read──► harness.receive
 *   harness.send ──write──► tap b ─ingress─► tc mirred ─egress─► tap a ──read──► device
 *
 * IPv6 is off in the namespace so the kernel sends nothing on its own; the
 * only addresses used are in 198.18.0.0/15. No privilege or no /dev/net/tun
 * fails the tests, it does not skip them.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ShoalError } from '../../src/lib/errors.js';
import { FrameBatch, type Frame } from '../../src/ports/tap.js';
import { describeOpenFailure, loadTuntapAddon, openLinuxTap, type LinuxTapDevice, type LinuxTapOptions } from '../../src/ports/tap-linux.js';
import { PROTO, ipv4, udp } from '../support/packets.js';
import { ipBatch, runPrefix, sh } from '../support/netns.js';
import { CONTRACT_ETHERTYPE, contractFrame, readFrames, tapContract } from './tap-contract.js';

const ns = `${runPrefix('tap')}ns`;
const nsPath = `/run/netns/${ns}`;
const devices: LinuxTapDevice[] = [];
let serial = 0;

function open(options: Omit<LinuxTapOptions, 'netns'>): LinuxTapDevice {
  const d = openLinuxTap({ ...options, netns: nsPath });
  devices.push(d);
  return d;
}

/** Wire two taps back to back: each one's ingress is redirected to the other's egress. */
function wire(a: string, b: string): void {
  const all = "bpf bytecode '1,6 0 0 4294967295,'"; // classic BPF "accept": matches every frame
  sh(['tc', '-n', ns, '-batch', '-'], [
    `qdisc add dev ${a} clsact`,
    `qdisc add dev ${b} clsact`,
    `filter add dev ${a} ingress ${all} action mirred egress redirect dev ${b}`,
    `filter add dev ${b} ingress ${all} action mirred egress redirect dev ${a}`,
    '',
  ].join('\n'));
}

function linkCounters(dev: string): { rx: number; tx: number } {
  const [link] = JSON.parse(sh(['ip', '-n', ns, '-j', '-s', 'link', 'show', 'dev', dev])) as {
    stats64: { rx: { packets: number }; tx: { packets: number } };
  }[];
  return { rx: link!.stats64.rx.packets, tx: link!.stats64.tx.packets };
}

function mac(dev: string): number[] {
  const [link] = JSON.parse(sh(['ip', '-n', ns, '-j', 'link', 'show', 'dev', dev])) as { address: string }[];
  return link!.address.split(':').map((h) => parseInt(h, 16));
}

const isContract = (f: Frame): boolean => f.length >= 14 && ((f[12]! << 8) | f[13]!) === CONTRACT_ETHERTYPE;

beforeAll(() => {
  ipBatch(null, [`netns add ${ns}`]);
  sh(['ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
});

afterAll(() => {
  for (const d of devices) d.close();
  sh(['ip', 'netns', 'del', ns]);
});

describe('the test machine', () => {
  it('runs the tap tests as root with /dev/net/tun', () => {
    expect(process.getuid?.(), 'the tap tests need root (CAP_NET_ADMIN)').toBe(0);
    expect(existsSync('/dev/net/tun'), '/dev/net/tun is missing').toBe(true);
  });
});

for (const engine of ['io_uring', 'syscalls'] as const) {
  tapContract(`Linux tap (${engine} engine) in a namespace, wired to a second tap by tc mirred`, async (options) => {
    const n = ++serial;
    const [a, b] = [`a${n}`, `b${n}`];
    const device = open({ name: a, engine, ...options });
    const peer = open({ name: b });
    ipBatch(ns, [`link set dev ${a} up`, `link set dev ${b} up`]);
    wire(a, b);
    return {
      device,
      send: (frames) => {
        for (const f of frames) expect(peer.write(f)).toBe(true);
      },
      receive: async (count, timeoutMs) => (await readFrames(peer, count, timeoutMs)).filter(isContract),
      setLinkUp: (up) => ipBatch(ns, [`link set dev ${a} ${up ? 'up' : 'down'}`]),
      close: () => {
        device.close();
        peer.close();
      },
    };
  });
}

describe('Linux tap against the kernel', () => {
  it('the kernel answers an ARP request written on the tap, and the reply is read back', async () => {
    const tap = open({ name: 'arp0' });
    ipBatch(ns, ['addr add 198.18.9.1/24 dev arp0', 'link set dev arp0 up']);
    const ours = [0x02, 0, 0, 0, 0, 0x09];
    const request = Uint8Array.from([
      ...[0xff, 0xff, 0xff, 0xff, 0xff, 0xff], ...ours, 0x08, 0x06, // Ethernet: broadcast, ARP
      0, 1, 0x08, 0x00, 6, 4, 0, 1, // Ethernet/IPv4, request
      ...ours, 198, 18, 9, 2, // sender: us at 198.18.9.2
      0, 0, 0, 0, 0, 0, 198, 18, 9, 1, // target: who has 198.18.9.1?
    ]);
    expect(tap.write(request)).toBe(true);
    const [reply] = await readFrames(tap, 1);
    expect(reply, 'no ARP reply from the kernel').toBeDefined();
    const theirs = mac('arp0');
    const r = reply!;
    expect([...r.subarray(0, 6)]).toEqual(ours);
    expect([...r.subarray(6, 12)]).toEqual(theirs);
    expect([...r.subarray(12, 14)]).toEqual([0x08, 0x06]);
    expect([...r.subarray(20, 22)]).toEqual([0, 2]); // a reply
    expect([...r.subarray(22, 32)]).toEqual([...theirs, 198, 18, 9, 1]);
    expect([...r.subarray(32, 42)]).toEqual([...ours, 198, 18, 9, 2]);
    tap.close();
  });

  for (const engine of ['io_uring', 'syscalls'] as const) {
    it(`a batch of N frames written reaches the kernel as N packets (${engine} engine)`, async () => {
      const n = 300; // more than one io_uring round (256)
      const [w, p] = [`bat${engine[0]}`, `bap${engine[0]}`];
      const device = open({ name: w, engine });
      const peer = open({ name: p, engine });
      expect(device.engine === engine || engine === 'io_uring').toBe(true);
      ipBatch(ns, [`link set dev ${w} up`, `link set dev ${p} up`]);
      wire(w, p);
      const before = linkCounters(w).rx;
      const batch = new FrameBatch(n);
      for (let i = 0; i < n; i++) batch.push(contractFrame(60 + i, i));
      expect(device.writeBatch(batch)).toBe(n);
      const got = await readFrames(peer, n);
      expect(linkCounters(w).rx - before).toBe(n);
      expect(got.map((f) => f.length)).toEqual(Array.from({ length: n }, (_, i) => 60 + i));
      expect(got[299]).toEqual(contractFrame(359, 299));
      device.close();
      peer.close();
    });
  }

  it('uses io_uring where the kernel offers it, and plain syscalls when asked', () => {
    const uring = open({ name: 'eng0' });
    const plain = open({ name: 'eng0', engine: 'syscalls' });
    expect(['io_uring', 'syscalls']).toContain(uring.engine);
    expect(plain.engine).toBe('syscalls');
    uring.close();
    plain.close();
  });

  it('multi-queue: a second open attaches a second fd to the same interface, and flows spread over both', async () => {
    const q0 = open({ name: 'mq0' });
    const q1 = open({ name: 'mq0' });
    const peer = open({ name: 'mqp' });
    ipBatch(ns, ['link set dev mq0 up', 'link set dev mqp up']);
    wire('mq0', 'mqp');
    const flags = parseInt(sh(['ip', 'netns', 'exec', ns, 'cat', '/sys/class/net/mq0/tun_flags']).trim(), 16);
    expect(flags & 0x0100, 'IFF_MULTI_QUEUE').toBe(0x0100);
    expect(flags & 0x1000, 'IFF_NO_PI').toBe(0x1000);
    expect(sh(['ip', 'netns', 'exec', ns, 'ls', '/sys/class/net/mq0/queues']).split(/\s+/).filter((q) => q.startsWith('tx-'))).toHaveLength(2);

    // 64 UDP flows inside 198.18.0.0/15: the kernel picks a queue per flow hash.
    const flows = Array.from({ length: 64 }, (_, i) => {
      const packet = ipv4({ src: 0xc6120a00 + i, dst: 0xc6120b01, protocol: PROTO.UDP, payload: udp(10_000 + i, 9, new Uint8Array(18)) });
      return Uint8Array.from([0x02, 0, 0, 0, 0, 0xb0, 0x02, 0, 0, 0, 0, 0xa0, 0x08, 0x00, ...packet]);
    });
    for (const f of flows) expect(peer.write(f)).toBe(true);
    await new Promise((r) => setTimeout(r, 50));
    const batch = new FrameBatch();
    const n0 = q0.readBatch(batch);
    const n1 = q1.readBatch(batch);
    expect(n0 + n1).toBe(64);
    expect(n0).toBeGreaterThan(0);
    expect(n1).toBeGreaterThan(0);

    // Either queue writes to the same interface.
    expect(q1.write(contractFrame(64, 1))).toBe(true);
    expect(q0.write(contractFrame(64, 2))).toBe(true);
    expect((await readFrames(peer, 2)).filter(isContract)).toEqual([contractFrame(64, 1), contractFrame(64, 2)]);

    // Closing one queue leaves the other serving every flow; closing the last removes the interface.
    q1.close();
    for (const f of flows) peer.write(f);
    expect(await readFrames(q0, 64)).toHaveLength(64);
    q0.close();
    expect(() => sh(['ip', '-n', ns, 'link', 'show', 'dev', 'mq0'])).toThrow(/does not exist/);
    peer.close();
  });

  it('waits in epoll while idle: a listening device costs (almost) no CPU for a second', async () => {
    const device = open({ name: 'idle0' });
    ipBatch(ns, ['link set dev idle0 up']);
    let calls = 0;
    device.onReadable(() => calls++);
    const before = process.cpuUsage();
    await new Promise((r) => setTimeout(r, 1000));
    const used = process.cpuUsage(before);
    device.close();
    expect(calls).toBe(0);
    expect((used.user + used.system) / 1000, 'CPU ms while idle for 1 s').toBeLessThan(100);
  });

  it('names the cause when an open fails', () => {
    const failure = (options: Omit<LinuxTapOptions, 'netns'>, netns = nsPath): ShoalError => {
      try {
        openLinuxTap({ ...options, netns }).close();
      } catch (e) {
        if (e instanceof ShoalError) return e;
        throw e;
      }
      throw new Error('open succeeded');
    };
    const lo = failure({ name: 'lo' });
    expect(lo.code).toBe('TAP_OPEN_FAILED');
    expect(lo.message).toMatch(/name is taken/);
    open({ name: 'kind0' });
    expect(failure({ name: 'kind0', kind: 'tun' }).message).toMatch(/name is taken by a device that is not a multi-queue tun/);
    expect(failure({ name: 'a-name-far-too-long' }).message).toMatch(/longer than 15 bytes/);
    expect(failure({ name: 'x0' }, `/run/netns/${ns}-missing`).message).toMatch(/no network namespace/);
  });

  it('says how to build the addon when it is missing', () => {
    expect(() => loadTuntapAddon('/nonexistent/tuntap.node')).toThrow(expect.objectContaining({ code: 'TAP_ADDON_MISSING', message: expect.stringMatching(/npm rebuild/) }));
  });

  it('names the cause when the caller is not root', () => {
    // An unprivileged child inside the namespace opens through the raw addon and reports the error. The checkout may
    // sit where that user cannot enter (a clone in a 0700 temporary directory): we open the addon and the child loads it
    // through the inherited descriptor (process.dlopen, unlike require, does not resolve the path back to the file's).
    const addon = openSync(new URL('../../build/Release/tuntap.node', import.meta.url), 'r');
    const script = `const m = { exports: {} };
      try { process.dlopen(m, '/proc/self/fd/3'); m.exports.open('np0', true, null, 1600, false); console.log('{}') }
      catch (e) { console.log(JSON.stringify(e.syscall === undefined ? { message: String(e) } : { code: e.code, syscall: e.syscall })) }`;
    let out: string;
    try {
      out = execFileSync('ip', ['netns', 'exec', ns, 'setpriv', '--reuid=65534', '--regid=65534', '--clear-groups',
        '--inh-caps=-all', '--bounding-set=-all', process.execPath, '-e', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe', addon] });
    } finally {
      closeSync(addon);
    }
    const err = JSON.parse(out) as { code?: string; syscall?: string };
    // Where /dev/net/tun is 0666 the ioctl refuses (EPERM); where it is not, already the open (EACCES).
    expect([
      { code: 'EPERM', syscall: 'ioctl(TUNSETIFF)' },
      { code: 'EACCES', syscall: 'open(/dev/net/tun)' },
    ]).toContainEqual(err);
    expect(describeOpenFailure(err, 'np0', 'tap')).toMatch(/run as root/);
  });
});
