/**
 * The data plane for real: the namespace lab with three `shoal run` daemons
 * whose userspace stacks own the cluster address on their outer TAPs and the
 * inside gateway on their inner TAPs. 1,000 UDP echo flows from 100 client
 * addresses × 10 ports each get exactly one reply, and each member answered
 * exactly the flows whose units it owns. Flows routed through the cluster to
 * the application host (and its replies back) are carried once each, by the
 * owners of their units (address pair out, destination only back).
 * Runs as root (CI does); a missing privilege or tool fails.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyForward, classifyInbound, classifyToClient } from '../../src/cluster/filter.js';
import { NamespaceLab } from '../../src/lab/lab.js';
import type { FlowResult } from '../../src/lab/udp-flows.js';
import { CLUSTER, LAB_ADDRESSES, memberAddress } from '../../src/lab/plan.js';
import { parseIpv4 } from '../../src/lib/ipv4.js';
import { askMember } from '../../src/mgmt/admin/client.js';
import type { StatusView, UnitsView } from '../../src/mgmt/admin/views.js';
import { NodeCommandRunner } from '../../src/ports/command-node.js';
import type { DeliveryMode } from '../../src/stack/delivery-mode.js';
import { IP_PROTOCOL, encodeIpv4 } from '../../src/wire/ipv4.js';
import { encodeUdp } from '../../src/wire/udp.js';
import { writeDevMembers } from '../support/dev-members.js';

const MEMBERS = 3;
const ADDRESSES = 100;
const PORTS = 10;
const CLI = join(process.cwd(), 'dist/src/mgmt/cli/main.js');
const FLOWS_SCRIPT = join(process.cwd(), 'dist/src/lab/udp-flows.js');
const ECHO_SERVER = join(process.cwd(), 'dist/test/support/udp-echo-server.js');
const ROUTED_ADDRESSES = 20;
const ROUTED_PORTS = 5;


type StatusWithPlane = StatusView & { dataPlane: Record<string, number> | null };

function udpPacket(src: string, srcPort: number, dst: string, dstPort: number): Uint8Array {
  const udp = encodeUdp({ srcPort, dstPort, payload: new Uint8Array(1) }, { src: parseIpv4(src), dst: parseIpv4(dst) });
  return encodeIpv4({
    header: { dscp: 0, ecn: 0, id: 1, dontFragment: false, moreFragments: false, fragmentOffset: 0, ttl: 64, protocol: IP_PROTOCOL.UDP, src: parseIpv4(src), dst: parseIpv4(dst), options: new Uint8Array(0) },
    payload: udp,
  });
}

function unitOfFlow(src: string, port: number): number {
  return classifyInbound(udpPacket(src, port, CLUSTER.outsideAddress, 7));
}

function runIn(ns: string, argv: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${argv.join(' ')} in ${ns} exited ${code}: ${err}`))));
  });
}

function labWith(mode: DeliveryMode): void {
  describe(`the lab in ${mode} mode`, () => {
    const name = `e${mode[0]}${randomBytes(3).toString('hex')}`;
    const lab = new NamespaceLab({ runner: new NodeCommandRunner() });
    const dir = mkdtempSync(join(tmpdir(), 'shoal-lab-'));
    const procs: ChildProcess[] = [];
    const logs: string[][] = [];
    const ns = (node: string): string => `shl-${name}-${node}`;
    const socket = (i: number): string => join(dir, `m${i}.sock`);
    const ask = async <T>(i: number, c: 'status' | 'units'): Promise<T | null> => askMember(socket(i), c, 1000).then((r) => r as T).catch(() => null);

    beforeAll(async () => {
      await lab.up({ name, members: MEMBERS, clientAddresses: ADDRESSES });
      const configs = await writeDevMembers(dir, MEMBERS, memberAddress(1), (i, pem) => ({
        cluster: { name: `lab-${name}`, configVersion: 1 },
        member: { address: memberAddress(i), certificate: pem.certificate, key: pem.key },
        trust: { ca: [pem.ca] },
        interconnect: { group: CLUSTER.controlGroup, port: CLUSTER.controlPort },
        admin: { socket: socket(i) },
        outer: { tap: 'tapo', mode, address: CLUSTER.outsideAddress, subnet: LAB_ADDRESSES.outerNetwork, gateway: LAB_ADDRESSES.routerOuter, mtu: 1500 },
        inner: { tap: 'tapi', address: CLUSTER.insideGateway, subnet: LAB_ADDRESSES.innerNetwork, mtu: 1500 },
      }));
      configs.forEach((config, k) => {
        const i = k + 1;
        const log: string[] = [];
        logs.push(log);
        const child = spawn('ip', ['netns', 'exec', ns(`m${i}`), process.execPath, CLI, 'run', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
        child.stderr.on('data', (d: Buffer) => log.push(d.toString()));
        procs.push(child);
      });
      // One cluster, every unit served once, loads even (after the first rebalance).
      const t0 = Date.now();
      for (;;) {
        const units = await Promise.all([1, 2, 3].map((i) => ask<UnitsView>(i, 'units')));
        const counts = units.map((u) => u?.served.length ?? 0);
        const all = new Set(units.flatMap((u) => u?.served ?? []));
        if (all.size === 1024 && counts.reduce((a, b) => a + b, 0) === 1024 && Math.max(...counts) - Math.min(...counts) <= 1) break;
        if (Date.now() - t0 > 8000) throw new Error(`cluster did not settle: ${counts.join(',')}\n${logs.map((l) => l.join('').slice(-1500)).join('\n---\n')}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    });

    afterAll(async () => {
      const running = procs.filter((p) => p.exitCode === null && p.signalCode === null);
      for (const p of running) p.kill('SIGKILL');
      await Promise.all(running.map((p) => new Promise((r) => p.once('exit', r))));
      await lab.down(name);
      rmSync(dir, { recursive: true, force: true });
    });

    it('1,000 UDP echo flows each get exactly one reply, from the member owning their unit', async () => {
      const out = await runIn(ns('cl'), ['sh', '-c', `ulimit -n 8192; exec "${process.execPath}" "${FLOWS_SCRIPT}" ${CLUSTER.outsideAddress} 7 ${LAB_ADDRESSES.clientExtraFirst} ${ADDRESSES} ${PORTS} 2500`]);
      const flows = (JSON.parse(out) as { flows: FlowResult[] }).flows;
      expect(flows).toHaveLength(ADDRESSES * PORTS);
      const missing = flows.filter((f) => f.replies === 0);
      const doubled = flows.filter((f) => f.replies > 1);
      // On a miss, what each member saw: role and term (a watchdog firing under load moves units), its drops by reason.
      const seen = async (): Promise<string> =>
        (await Promise.all([1, 2, 3].map((i) => ask<StatusWithPlane>(i, 'status'))))
          .map((st, k) => `m${k + 1}: ${st === null ? 'no answer' : `${st.role} term ${st.term}, served ${st.servedUnits}, counters ${JSON.stringify(st.counters)}, data plane ${JSON.stringify(st.dataPlane)}`}`)
          .join('\n');
      const result = { missing: missing.length, doubled: doubled.length };
      expect(result, result.missing + result.doubled > 0 ? await seen() : '').toEqual({ missing: 0, doubled: 0 });
      const owners = (await ask<UnitsView>(1, 'units'))?.owners ?? [];
      const expected = new Map<string, number>();
      for (const f of flows) {
        const owner = owners[unitOfFlow(f.src, f.port)] ?? 'none';
        expected.set(owner, (expected.get(owner) ?? 0) + 1);
      }
      for (let i = 1; i <= MEMBERS; i++) {
        const s = await ask<StatusWithPlane>(i, 'status');
        expect(s?.dataPlane?.['udp-7'] ?? 0).toBe(expected.get(memberAddress(i)) ?? 0);
      }
      const times = flows.map((f) => f.ms ?? 0).sort((a, b) => a - b);
      console.log(`${mode}: ${flows.length} flows, all answered once; median ${times[times.length >> 1]?.toFixed(1)} ms; per member ${[...expected].map(([m, n]) => `${m}=${n}`).join(' ')}`);
    });

    it('routes flows to the application host and back, each packet by the owner of its unit, once', async () => {
      const server = spawn('ip', ['netns', 'exec', ns('ap'), process.execPath, ECHO_SERVER, '7'], { stdio: ['ignore', 'pipe', 'pipe'] });
      procs.push(server);
      await new Promise<void>((resolve, reject) => {
        server.stdout.once('data', () => resolve());
        server.once('exit', (code) => reject(new Error(`echo server exited ${code}`)));
      });
      const before = await Promise.all([1, 2, 3].map((i) => ask<StatusWithPlane>(i, 'status')));
      const ownersBefore = (await ask<UnitsView>(1, 'units'))?.owners ?? [];
      const out = await runIn(ns('cl'), ['sh', '-c', `exec "${process.execPath}" "${FLOWS_SCRIPT}" ${LAB_ADDRESSES.appHost} 7 ${LAB_ADDRESSES.clientExtraFirst} ${ROUTED_ADDRESSES} ${ROUTED_PORTS} 2500`]);
      server.kill('SIGKILL');
      const flows = (JSON.parse(out) as { flows: FlowResult[] }).flows;
      expect(flows.filter((f) => f.replies !== 1)).toEqual([]);
      const owners = (await ask<UnitsView>(1, 'units'))?.owners ?? [];
      const moved = owners.filter((o, u) => o !== ownersBefore[u]).length;
      if (moved > 0) console.log(`${mode}: ${moved} units moved during the routed flows`, JSON.stringify((await Promise.all([1, 2, 3].map((i) => ask<StatusWithPlane>(i, 'status')))).map((x) => x?.dataPlane)));
      const there = new Map<string, number>();
      const back = new Map<string, number>();
      const add = (m: Map<string, number>, owner: string | null | undefined): void => void m.set(owner ?? 'none', (m.get(owner ?? 'none') ?? 0) + 1);
      for (const f of flows) {
        add(there, owners[classifyForward(udpPacket(f.src, f.port, LAB_ADDRESSES.appHost, 7))]);
        add(back, owners[classifyToClient(udpPacket(LAB_ADDRESSES.appHost, 7, f.src, f.port))]);
      }
      for (let i = 1; i <= MEMBERS; i++) {
        const after = (await ask<StatusWithPlane>(i, 'status'))?.dataPlane ?? {};
        const was = before[i - 1]?.dataPlane ?? {};
        const grew = (key: string): number => (after[key] ?? 0) - (was[key] ?? 0);
        expect({ member: i, out: grew('routed.outer-to-inner'), back: grew('routed.inner-to-outer') }).toEqual({
          member: i,
          out: there.get(memberAddress(i)) ?? 0,
          back: back.get(memberAddress(i)) ?? 0,
        });
      }
      console.log(`${mode}: ${flows.length} routed flows to the app host answered once; out ${[...there].map(([m, n]) => `${m}=${n}`).join(' ')}; back ${[...back].map(([m, n]) => `${m}=${n}`).join(' ')}`);
    });

    it('the owner answers TTL expiry in transit, and the inside gateway answers ping from the app host', async () => {
      const expired = await runIn(ns('cl'), ['sh', '-c', `ping -n -c 1 -W 2 -t 2 ${LAB_ADDRESSES.appHost} || true`]);
      expect(expired).toMatch(new RegExp(`From ${CLUSTER.outsideAddress.replace(/\./g, '\\.')} icmp_seq=1 Time to live exceeded`));
      const pong = await runIn(ns('ap'), ['ping', '-n', '-c', '3', '-i', '0.2', '-W', '2', CLUSTER.insideGateway]);
      expect(pong).toMatch(/3 packets transmitted, 3 received/);
      expect(pong).not.toMatch(/DUP!/);
    });
  });
}

labWith('unicast');
labWith('multicast');
labWith('forwarding');
