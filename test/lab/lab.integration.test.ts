/**
 * The namespace lab built for real: a 2-member lab under a name unique to this
 * run, checked with `ip` and `ping`, driven through NamespaceLab and through
 * the `shoal lab` commands (in process), then removed — also after a "crash"
 * (a lost state file). Runs as root in CI: a missing privilege or tool fails,
 * it never skips. The error paths that need another host (not root, no `ip`)
 * use the recording runner.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseNetnsList } from '../../src/lab/commands.js';
import { DEFAULT_STATE_DIR, NamespaceLab, type LabStatus } from '../../src/lab/lab.js';
import { labPrefix, planLab, type LabOptions } from '../../src/lab/plan.js';
import { ShoalError } from '../../src/lib/errors.js';
import { MemoryCommandRunner } from '../../src/ports/command-memory.js';
import { NodeCommandRunner } from '../../src/ports/command-node.js';
import { shoal } from '../support/cli-in-process.js';

const runner = new NodeCommandRunner();
const NAME = `t${process.pid}${randomBytes(3).toString('hex')}`;
const OPTIONS: LabOptions = { name: NAME, members: 2, clientAddresses: 50 };
const PLAN = planLab(OPTIONS);
const PREFIX = labPrefix(NAME);
const ns = (node: string): string => `${PREFIX}${node}`;
const lab = new NamespaceLab({ runner });

async function sh(...argv: string[]): Promise<string> {
  const r = await runner.run(argv);
  if (r.code !== 0) throw new Error(`${argv.join(' ')}: exit ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

async function labNamespaces(): Promise<string[]> {
  return parseNetnsList(await sh('ip', 'netns', 'list'))
    .filter((n) => n.startsWith(PREFIX))
    .sort();
}

async function rootLinks(): Promise<string[]> {
  return (JSON.parse(await sh('ip', '-j', 'link', 'show')) as { ifname: string }[]).map((l) => l.ifname).sort();
}

/** One echo request, two seconds to answer: the exit code of ping inside `node`. */
async function ping(node: string, to: string): Promise<number> {
  return (await runner.run(['ip', 'netns', 'exec', ns(node), 'ping', '-n', '-q', '-c', '1', '-W', '2', to])).code;
}

interface LinkInfo {
  ifname: string;
  master?: string;
  flags: string[];
  linkinfo?: { info_kind?: string; info_data?: Record<string, unknown> };
}

async function links(node: string): Promise<Map<string, LinkInfo>> {
  const list = JSON.parse(await sh('ip', '-n', ns(node), '-d', '-j', 'link', 'show')) as LinkInfo[];
  return new Map(list.map((l) => [l.ifname, l]));
}

async function ipv4(node: string): Promise<Map<string, string[]>> {
  const list = JSON.parse(await sh('ip', '-n', ns(node), '-j', '-4', 'addr', 'show')) as {
    ifname: string;
    addr_info: { local: string; prefixlen: number }[];
  }[];
  return new Map(list.map((l) => [l.ifname, l.addr_info.map((a) => `${a.local}/${a.prefixlen}`)]));
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ShoalError) return e.code;
    throw e;
  }
  return 'no error';
}

describe(`namespace lab '${NAME}' (real namespaces, as root)`, () => {
  let rootBefore: string[] = [];
  let upMs = 0;

  beforeAll(async () => {
    expect(process.geteuid?.(), 'the lab integration test must run as root').toBe(0);
    await sh('ip', '-V'); // iproute2 installed
    expect(await labNamespaces(), 'namespaces of this run exist before it started').toEqual([]);
    rootBefore = await rootLinks();
    const r = await lab.up(OPTIONS);
    upMs = r.elapsedMs;
  }, 20_000);

  afterAll(async () => {
    await lab.down(NAME).catch(() => undefined);
    for (const n of await labNamespaces()) await runner.run(['ip', 'netns', 'del', n]);
    await rm(join(DEFAULT_STATE_DIR, `${NAME}.json`), { force: true });
  });

  it('creates exactly the planned namespaces, quickly, and nothing in the root namespace', async () => {
    expect(await labNamespaces()).toEqual([...PLAN.namespaces].sort());
    expect(upMs).toBeLessThan(2000);
    expect(await rootLinks()).toEqual(rootBefore);
    const dir = await stat(DEFAULT_STATE_DIR);
    expect(dir.mode & 0o777).toBe(0o700);
  });

  it('routes client ↔ router and member ↔ member over the interconnect', async () => {
    const codes = await Promise.all([ping('cl', '198.18.1.1'), ping('rt', '198.18.16.2'), ping('m1', '198.18.3.12'), ping('m2', '198.18.3.11')]);
    expect(codes).toEqual([0, 0, 0, 0]);
  });

  it('gives each member taps and bridges with no kernel addresses, and ic0 its member id', async () => {
    for (const [i, node] of [[1, 'm1'] as const, [2, 'm2'] as const]) {
      const l = await links(node);
      for (const tap of ['tapo', 'tapi']) {
        expect(l.get(tap)?.linkinfo?.info_kind, `${node} ${tap}`).toBe('tun');
        expect(l.get(tap)?.linkinfo?.info_data).toMatchObject({ type: 'tap', multi_queue: true, persist: true });
      }
      for (const br of ['bo', 'bi']) {
        expect(l.get(br)?.linkinfo?.info_kind, `${node} ${br}`).toBe('bridge');
        expect(l.get(br)?.linkinfo?.info_data).toMatchObject({ stp_state: 0, mcast_snooping: 0 });
      }
      expect([l.get('o0')?.master, l.get('tapo')?.master, l.get('i0')?.master, l.get('tapi')?.master]).toEqual(['bo', 'bo', 'bi', 'bi']);
      expect(l.get('ic0')?.flags).toEqual(expect.arrayContaining(['MULTICAST', 'UP']));
      const a = await ipv4(node);
      expect([...a].filter(([, v]) => v.length > 0)).toEqual([
        ['lo', ['127.0.0.1/8']],
        ['ic0', [`198.18.3.${10 + i}/24`]],
      ]);
      expect(await sh('ip', '-n', ns(node), 'route', 'show', '224.0.0.0/4')).toMatch(/224\.0\.0\.0\/4 dev ic0/);
      expect((await sh('ip', 'netns', 'exec', ns(node), 'sysctl', '-n', 'net.ipv6.conf.all.disable_ipv6')).trim()).toBe('1');
    }
    const sw = await links('sw');
    for (const br of ['out', 'in', 'ic']) expect(sw.get(br)?.linkinfo?.info_data).toMatchObject({ stp_state: 0, mcast_snooping: 0 });
    expect((await ipv4('cl')).get('c0')).toHaveLength(1 + OPTIONS.clientAddresses);
  });

  it('shoal lab status --json lists every node and the cluster addresses; up again is refused', async () => {
    const r = await shoal('lab', 'status', '--name', NAME, '--json');
    const s = JSON.parse(r.stdout) as LabStatus;
    expect(s.up).toBe(true);
    expect(s.nodes.map((n) => [n.node, n.namespace, n.present])).toEqual(PLAN.nodes.map((n) => [n.node, n.namespace, true]));
    expect(s.nodes.find((n) => n.node === 'm2')).toMatchObject({ memberId: '198.18.3.12', certificates: null });
    expect(s.nodes.find((n) => n.node === 'cl')?.extraAddresses).toEqual({ first: '198.18.16.10', last: '198.18.16.59', count: 50 });
    expect(s.cluster).toMatchObject({ outsideAddress: '198.18.1.10', insideGateway: '198.18.2.1', controlGroup: '239.255.83.72', controlPort: 5400 });
    expect(await codeOf(lab.up(OPTIONS))).toBe('LAB_ALREADY_UP');
  });

  it('exec runs in the node namespace and returns the exit code', async () => {
    expect(await lab.exec(NAME, 'm1', ['sh', '-c', 'exit 7'])).toBe(7);
    expect(await lab.exec(NAME, 'ap', ['sh', '-c', 'ip -4 addr show dev i0 | grep -q 198.18.2.100/24'])).toBe(0);
    expect((await shoal('lab', 'exec', '--name', NAME, 'cl', '--', 'sh', '-c', 'exit 3')).exitCode).toBe(3);
    expect(await codeOf(lab.exec(NAME, 'm9', ['true']))).toBe('LAB_UNKNOWN_NODE');
  });

  it('down removes everything; a second down does nothing; status then says not up', async () => {
    const first = await lab.down(NAME);
    expect(first.removedNamespaces).toEqual([...PLAN.namespaces].sort());
    expect(first.removedStateFile).toBe(true);
    expect(await labNamespaces()).toEqual([]);
    const second = await lab.down(NAME);
    expect(second).toMatchObject({ removedNamespaces: [], removedStateFile: false });
    expect(await codeOf(lab.status(NAME))).toBe('LAB_NOT_UP');
    expect(await codeOf(lab.exec(NAME, 'm1', ['true']))).toBe('LAB_NOT_UP');
    expect(await rootLinks()).toEqual(rootBefore);
  });

  it('after a crash (state file lost) down still removes every namespace', async () => {
    await lab.up({ ...OPTIONS, clientAddresses: 0 });
    await rm(lab.stateFile(NAME));
    expect(await codeOf(lab.status(NAME))).toBe('LAB_NOT_UP');
    const r = await shoal('lab', 'down', '--name', NAME, '--json');
    expect((JSON.parse(r.stdout) as { removedNamespaces: string[] }).removedNamespaces).toHaveLength(PLAN.namespaces.length);
    expect(await labNamespaces()).toEqual([]);
  });
});

describe('namespace lab errors (recording runner)', () => {
  let stateDir = '';
  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'shoal-lab-'));
  });
  afterAll(async () => {
    await rm(stateDir, { recursive: true, force: true });
  });

  it('refuses without root, and without ip, before running anything else', async () => {
    const notRoot = new MemoryCommandRunner();
    expect(await codeOf(new NamespaceLab({ runner: notRoot, stateDir, isRoot: () => false }).up(OPTIONS))).toBe('LAB_NOT_ROOT');
    expect(notRoot.calls).toEqual([]);
    const noIp = new MemoryCommandRunner().missing('ip');
    expect(await codeOf(new NamespaceLab({ runner: noIp, stateDir, isRoot: () => true }).down(NAME))).toBe('LAB_IP_MISSING');
    expect(noIp.calls.map((c) => c.argv)).toEqual([['ip', '-V']]);
  });

  it('a failed command ends in one LAB_COMMAND_FAILED and a clean-up', async () => {
    const made = new Set<string>();
    const fake = new MemoryCommandRunner()
      .on((argv, o) => {
        if (argv.join(' ') !== 'ip -batch -') return undefined;
        for (const line of (o.input ?? '').trim().split('\n')) {
          const [, verb, name] = line.split(' ');
          if (verb === 'add') made.add(name ?? '');
          else made.delete(name ?? '');
        }
        return {};
      })
      .on((argv) => (argv.join(' ') === 'ip netns list' ? { stdout: [...made].join('\n') } : undefined))
      .on((argv) => (argv[1] === '-n' && argv[2] === ns('sw') ? { code: 2, stderr: 'Error: boom\nCommand failed -:3' } : undefined));
    const l = new NamespaceLab({ runner: fake, stateDir, isRoot: () => true });
    const e = await l.up(OPTIONS).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ShoalError);
    expect((e as ShoalError).code).toBe('LAB_COMMAND_FAILED');
    expect((e as ShoalError).message).toMatch(/boom/);
    expect(made.size).toBe(0);
    expect(await codeOf(l.status(NAME))).toBe('LAB_NOT_UP');
  });
});
