/**
 * A namespace lab with its member daemons, as the failover tests drive it:
 * build it, start the daemons in one delivery mode, watch the cluster until it
 * has converged (and stayed so), run the echo stream from the client, capture
 * on the router, and tear everything down again.
 *
 *   up(): lab.up ─► dev PKI ─► m<i>.json (mode) ─► shoal run per member ─► settled(n)
 *   observe(): every running member's status + units (admin sockets) ─► ClusterView
 *   converged(n) / settled(n, ms): poll ClusterView until converged (and unchanged for ms)
 *   stream() ─► EchoStreamProcess in the client namespace; capture() ─► tcpdump on the router's outer leg
 *   down(): kill what it started (by PID), lab.down, and no namespace of the lab may remain
 *
 * Converged means: the expected members answer, exactly one is master and all
 * name it, each counts the expected members, every unit is served by exactly
 * one member (by each member's own list of served units), and every member's
 * view of the unit table says the same.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseNetnsList } from '../../src/lab/commands.js';
import { servedTable, type ServedTable } from '../../src/lab/echo-stream-analysis.js';
import { wallNow, type EchoStreamOptions } from '../../src/lab/echo-stream.js';
import { EchoStreamProcess } from '../../src/lab/echo-stream-process.js';
import { NamespaceLab } from '../../src/lab/lab.js';
import type { LabMode, MemberObservation } from '../../src/lab/members.js';
import { CLUSTER, LAB_ADDRESSES, LAB_LIMITS, labPrefix, memberAddress } from '../../src/lab/plan.js';
import { NodeCommandRunner } from '../../src/ports/command-node.js';
import { Capture } from './capture.js';

/** One poll of the running members, read as a cluster. */
export interface ClusterView {
  /** Wall-clock ms when every member had answered. */
  at: number;
  observations: MemberObservation[];
  /** Addresses of the members that say they are master. */
  masters: string[];
  table: ServedTable;
  /** Why this is not a converged cluster of the expected size; null when it is. */
  problem: string | null;
  /** Equal for two views exactly when roles, master and unit owners are the same. */
  signature: string;
}

export const ECHO_PORT = 7;

export class LabCluster {
  readonly name: string;
  readonly mode: LabMode;
  readonly lab = new NamespaceLab({ runner: new NodeCommandRunner() });
  readonly #runner = new NodeCommandRunner();
  readonly #streams = new Set<EchoStreamProcess>();
  readonly #captures = new Set<Capture>();

  constructor(tag: string, mode: LabMode) {
    this.mode = mode;
    // Lab names: lower-case letters and digits, at most 20; unique per run.
    this.name = `${tag}${mode.slice(0, 2)}${process.pid % 100000}${randomBytes(2).toString('hex')}`;
  }

  get members(): NamespaceLab['members'] {
    return this.lab.members;
  }

  namespace(node: string): string {
    return `${labPrefix(this.name)}${node}`;
  }

  /**
   * Build the lab with `members` member daemons in this mode and wait until they have settled.
   * `espKeysFile(i)`: member i writes its ESP SA keys there (Wireshark esp_sa lines; debug only).
   */
  async up(members: number, clientAddresses: number, opts: { espKeysFile?: (i: number) => string } = {}): Promise<ClusterView> {
    if (process.geteuid?.() !== 0) throw new Error('the failover tests need root (network namespaces): run as root');
    if ((await this.labNamespaces()).length > 0) throw new Error(`namespaces of lab ${this.name} exist already`);
    await this.lab.up({ name: this.name, members, clientAddresses });
    await this.members.ensurePki(this.name, members);
    for (let i = 1; i <= members; i++) {
      await this.members.writeConfig(this.name, i, this.mode, opts.espKeysFile?.(i));
      await this.members.start(this.name, i);
    }
    await this.members.waitForCluster(this.name, members, 20_000, { balanced: true });
    return this.settled(members, 2000);
  }

  /** Grow the lab by one member and start its daemon (what `shoal lab add` does, without its wait). */
  async add(): Promise<number> {
    const grown = await this.lab.grow(this.name);
    await this.members.ensurePki(this.name, grown.member);
    await this.members.writeConfig(this.name, grown.member, this.mode);
    await this.members.start(this.name, grown.member);
    return grown.member;
  }

  /** Start member i's daemon again (its configuration is kept) and wait until the loads are even and settled. */
  async restart(i: number, expected: number): Promise<ClusterView> {
    await this.members.start(this.name, i);
    await this.members.waitForCluster(this.name, expected, 20_000, { balanced: true });
    return this.settled(expected, 2000);
  }

  async observe(): Promise<ClusterView> {
    const observations = await this.members.observe(this.name, 500);
    return clusterView(wallNow(), observations, null);
  }

  /** Poll until the running members form a converged cluster of `expected`; the first converged view. */
  async converged(expected: number, timeoutMs: number): Promise<ClusterView> {
    const t0 = wallNow();
    for (;;) {
      const v = clusterView(wallNow(), await this.members.observe(this.name, 500), expected);
      if (v.problem === null) return v;
      if (wallNow() - t0 > timeoutMs) throw new Error(`lab ${this.name}: not converged to ${expected} members within ${timeoutMs} ms: ${v.problem} (${describeView(v)})`);
      await sleep(20);
    }
  }

  /**
   * Poll until the cluster has been converged, with the same roles and unit
   * owners, for `stableMs`; the last view, and when that stable run began.
   */
  async settled(expected: number, stableMs: number, timeoutMs = 30_000): Promise<ClusterView & { since: number }> {
    const t0 = wallNow();
    let since: { at: number; signature: string } | null = null;
    for (;;) {
      const v = clusterView(wallNow(), await this.members.observe(this.name, 500), expected);
      if (v.problem !== null) since = null;
      else if (since === null || since.signature !== v.signature) since = { at: v.at, signature: v.signature };
      else if (v.at - since.at >= stableMs) return { ...v, since: since.at };
      if (wallNow() - t0 > timeoutMs)
        throw new Error(`lab ${this.name}: not settled (${expected} members, unchanged for ${stableMs} ms) within ${timeoutMs} ms: ${v.problem ?? 'still changing'} (${describeView(v)})`);
      await sleep(100);
    }
  }

  /** The echo stream from the client's extra addresses to the cluster address, running once this resolves. */
  async stream(o: { addresses: number; portsPerAddress: number; intervalMs: number }): Promise<EchoStreamProcess> {
    const options: EchoStreamOptions = { target: CLUSTER.outsideAddress, port: ECHO_PORT, firstSource: LAB_ADDRESSES.clientExtraFirst, drainMs: 500, ...o };
    const s = await EchoStreamProcess.start({
      namespace: this.namespace('cl'),
      nodePath: process.execPath,
      script: this.members.distFile('src/lab/echo-stream.js'),
      options,
    });
    this.#streams.add(s);
    return s;
  }

  /** tcpdump on the router's outer leg (o0): the frames between the router and the members, with their MACs. */
  async capture(filter: string): Promise<Capture> {
    const c = await Capture.start(this.namespace('rt'), 'o0', filter);
    this.#captures.add(c);
    return c;
  }

  /**
   * The kernel's drop counters in the member, router and client namespaces:
   * every interface's ("m1 tapo tx" → n) and UDP's receive and send buffer
   * errors ("m1 udp RcvbufErrors" → n): where packets died outside the daemons.
   */
  /** The router's neighbour entry for the cluster address ("198.18.1.10 dev o0 lladdr … STALE"): which member's MAC the router uses. */
  async routerNeighbour(): Promise<string> {
    const r = await this.#runner.run(['ip', '-n', `shl-${this.name}-rt`, 'neigh', 'show', CLUSTER.outsideAddress]);
    return r.stdout.trim() || 'none';
  }

  async kernelDrops(): Promise<Map<string, number>> {
    const drops = new Map<string, number>();
    const status = await this.lab.status(this.name);
    for (const n of status.nodes.filter((x) => x.role === 'member' || x.role === 'router' || x.role === 'client')) {
      const r = await this.#runner.run(['ip', '-s', '-j', '-n', n.namespace, 'link', 'show']);
      if (r.code !== 0) continue; // a member namespace being made or gone
      const links = JSON.parse(r.stdout) as { ifname: string; stats64?: { rx?: { dropped?: number }; tx?: { dropped?: number } } }[];
      for (const l of links) {
        drops.set(`${n.node} ${l.ifname} rx`, l.stats64?.rx?.dropped ?? 0);
        drops.set(`${n.node} ${l.ifname} tx`, l.stats64?.tx?.dropped ?? 0);
      }
      const snmp = await this.#runner.run(['ip', 'netns', 'exec', n.namespace, 'cat', '/proc/net/snmp']);
      const [names, values] = snmp.stdout.split('\n').filter((line) => line.startsWith('Udp:'));
      const counters = new Map((names ?? '').split(/\s+/).slice(1).map((k, i) => [k, Number((values ?? '').split(/\s+/)[i + 1] ?? 0)]));
      for (const k of ['RcvbufErrors', 'SndbufErrors', 'InErrors']) drops.set(`${n.node} udp ${k}`, counters.get(k) ?? 0);
    }
    return drops;
  }

  async labNamespaces(): Promise<string[]> {
    const r = await this.#runner.run(['ip', 'netns', 'list']);
    if (r.code !== 0) throw new Error(`ip netns list: exit ${r.code}: ${r.stderr.trim()}`);
    return parseNetnsList(r.stdout).filter((n) => n.startsWith(labPrefix(this.name)));
  }

  /** Stop every stream and capture this lab started (by PID), then the lab itself; throws if a namespace is left. */
  async down(): Promise<void> {
    for (const s of this.#streams) s.kill();
    for (const c of this.#captures) c.kill();
    await this.lab.down(this.name);
    const left = await this.labNamespaces();
    if (left.length > 0) throw new Error(`lab ${this.name}: namespaces left after down: ${left.join(' ')}`);
  }
}

/** The member number of a member address (198.18.3.(10+i)). */
export function memberNumber(address: string): number {
  for (let i = 1; i <= LAB_LIMITS.members.max; i++) if (memberAddress(i) === address) return i;
  throw new Error(`${address} is not a lab member address`);
}

export function clusterView(at: number, observations: MemberObservation[], expected: number | null): ClusterView {
  const answered = observations.filter((o) => o.status !== null && o.units !== null);
  const masters = answered.filter((o) => o.status?.role === 'master').map((o) => o.status?.self ?? '?');
  const table = servedTable(answered.map((o) => ({ self: o.status?.self ?? '?', served: o.units?.served ?? [] })));
  const signature = JSON.stringify({
    roles: observations.map((o) => [o.member, o.status?.role ?? null, o.status?.master ?? null]),
    owners: table.owners,
  });
  return { at, observations, masters, table, problem: expected === null ? null : problemOf(observations, expected, masters, table), signature };
}

function problemOf(obs: readonly MemberObservation[], expected: number, masters: readonly string[], table: ServedTable): string | null {
  if (obs.length !== expected) return `${obs.length} member daemons run, expected ${expected}`;
  const silent = obs.filter((o) => o.status === null || o.units === null);
  if (silent.length > 0) return `no answer from ${silent.map((o) => `m${o.member}`).join(' ')}`;
  if (masters.length !== 1) return `${masters.length} masters`;
  if (obs.some((o) => o.status?.master !== masters[0])) return 'members disagree on the master';
  if (obs.some((o) => o.status?.members !== expected)) return 'membership not complete';
  if (table.unserved.length > 0 || table.shared.length > 0) return `${table.unserved.length} units unserved, ${table.shared.length} served twice`;
  const owners = JSON.stringify(table.owners);
  const differ = obs.filter((o) => JSON.stringify(o.units?.owners) !== owners);
  if (differ.length > 0) return `the unit tables of ${differ.map((o) => `m${o.member}`).join(' ')} differ from what the members serve`;
  return null;
}

/** The counters that grew between two kernelDrops() readings: "m1 tapo tx=3 …", or "none". */
export function dropsGrown(before: Map<string, number>, after: Map<string, number>): string {
  const grown = [...after].filter(([k, v]) => v > (before.get(k) ?? 0)).map(([k, v]) => `${k}=${v - (before.get(k) ?? 0)}`);
  return grown.length === 0 ? 'none' : grown.join(' ');
}

export function describeView(v: ClusterView): string {
  return v.observations.map((o) => `m${o.member} ${o.status?.role ?? 'silent'} ${o.units?.served.length ?? '?'} units`).join(', ') || 'no member runs';
}
