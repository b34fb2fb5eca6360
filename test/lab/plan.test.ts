/**
 * The lab's plan and its commands, without running anything: names, addresses,
 * the member ids, and that no command touches the root namespace.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { labDownCommands, labUpCommands, parseNetnsList, type CommandStep } from '../../src/lab/commands.js';
import {
  CLUSTER,
  LAB_ADDRESSES,
  LAB_LIMITS,
  MEMBER_DEVICES,
  memberAddress,
  planLab,
  type LabOptions,
  type LabPlan,
} from '../../src/lab/plan.js';
import { ShoalError } from '../../src/lib/errors.js';
import { parseIpv4 } from '../../src/lib/ipv4.js';

const LAB_BLOCK = { base: parseIpv4('198.18.0.0'), size: 2 ** 17 }; // 198.18.0.0/15
const MULTICAST = { base: parseIpv4('224.0.0.0'), size: 2 ** 28 }; // 224.0.0.0/4

function inside(block: { base: number; size: number }, address: string): boolean {
  const v = parseIpv4(address);
  return v >= block.base && v < block.base + block.size;
}

const IPV4_TOKEN = /\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b/g;

/** Every dotted-quad in the commands' argument vectors and batch input. */
function addressesIn(steps: readonly CommandStep[]): string[] {
  return steps.flatMap((s) => [...`${s.argv.join(' ')}\n${s.input ?? ''}`.matchAll(IPV4_TOKEN)].map((m) => m[0]));
}

const options = (o: Partial<LabOptions> = {}): LabOptions => ({ name: 'shoal', members: 3, clientAddresses: 0, ...o });

const arbOptions: fc.Arbitrary<LabOptions> = fc.record({
  name: fc.stringMatching(/^[a-z0-9]{1,20}$/),
  members: fc.integer({ min: LAB_LIMITS.members.min, max: LAB_LIMITS.members.max }),
  clientAddresses: fc.integer({ min: LAB_LIMITS.clientAddresses.min, max: LAB_LIMITS.clientAddresses.max }),
});

/**
 * Fails unless every `ip` command runs inside one of the lab's namespaces
 * (`ip -n <ns> …`, `ip netns exec <ns> …`) or only adds/deletes lab namespaces,
 * and every namespace named inside batch input is the lab's.
 */
function expectNoRootNamespaceOperation(plan: LabPlan, steps: readonly CommandStep[]): void {
  const own = new Set(plan.namespaces);
  for (const s of steps) {
    const what = `${s.argv.join(' ')} <<< ${s.input ?? ''}`;
    expect(s.argv[0], what).toBe('ip');
    const lines = (s.input ?? '').split('\n').filter((l) => l !== '');
    if (s.argv[1] === '-n') {
      expect(own.has(s.argv[2] ?? ''), what).toBe(true);
      expect(s.argv.slice(3), what).toEqual(['-batch', '-']);
      for (const line of lines) {
        expect(line, what).not.toMatch(/^netns\b/);
        for (const m of line.matchAll(/\bnetns (\S+)/g)) expect(own.has(m[1] ?? ''), `${what}: ${line}`).toBe(true);
      }
    } else if (s.argv[1] === 'netns' && s.argv[2] === 'exec') {
      expect(own.has(s.argv[3] ?? ''), what).toBe(true);
      expect(s.input, what).toBeUndefined();
    } else {
      expect(s.argv, what).toEqual(['ip', '-batch', '-']);
      expect(lines.length, what).toBeGreaterThan(0);
      for (const line of lines) {
        const m = /^netns (add|del) (\S+)$/.exec(line);
        expect(m, `${what}: ${line}`).not.toBeNull();
        expect(own.has(m?.[2] ?? ''), `${what}: ${line}`).toBe(true);
      }
    }
  }
}

describe('planLab', () => {
  it('names every namespace shl-<lab>-<node>, each once', () => {
    const plan = planLab(options({ name: 'demo', members: 3 }));
    expect(plan.prefix).toBe('shl-demo-');
    expect(plan.namespaces).toEqual(['sw', 'm1', 'm2', 'm3', 'rt', 'cl', 'ap'].map((n) => `shl-demo-${n}`));
    expect(plan.nodes.map((n) => n.node)).toEqual(['sw', 'm1', 'm2', 'm3', 'rt', 'cl', 'ap']);
    fc.assert(
      fc.property(arbOptions, (o) => {
        const p = planLab(o);
        expect(new Set(p.namespaces).size).toBe(p.namespaces.length);
        expect(p.namespaces).toHaveLength(o.members + 4);
        for (const ns of p.namespaces) expect(ns.startsWith(`shl-${o.name}-`)).toBe(true);
        expect(p.nodes.map((n) => n.namespace)).toEqual(p.namespaces);
      }),
    );
  });

  it('two labs with different names share no namespace, and neither prefix matches the other lab', () => {
    fc.assert(
      fc.property(arbOptions, arbOptions, (a, b) => {
        fc.pre(a.name !== b.name);
        const pa = planLab(a);
        const pb = planLab(b);
        for (const ns of pb.namespaces) {
          expect(pa.namespaces).not.toContain(ns);
          expect(ns.startsWith(pa.prefix)).toBe(false);
        }
        for (const ns of pa.namespaces) expect(ns.startsWith(pb.prefix)).toBe(false);
      }),
    );
  });

  it('gives member i the id 198.18.3.(10+i) on ic0, and no kernel address to the taps, bridges or LAN legs', () => {
    const plan = planLab(options({ members: LAB_LIMITS.members.max }));
    const members = plan.nodes.filter((n) => n.role === 'member');
    expect(LAB_LIMITS.members.max).toBe(16);
    expect(members.map((m) => m.memberId)).toEqual(Array.from({ length: 16 }, (_, k) => `198.18.3.${11 + k}`));
    members.forEach((m, k) => {
      expect(memberAddress(k + 1)).toBe(`198.18.3.${11 + k}`);
      expect(m.addresses).toEqual([`198.18.3.${11 + k}/24`]);
      const onKernel = plan.addresses.filter((a) => a.namespace === m.namespace);
      expect(onKernel).toEqual([{ namespace: m.namespace, dev: MEMBER_DEVICES.interconnect, cidr: `198.18.3.${11 + k}/24` }]);
      expect(plan.taps.filter((t) => t.namespace === m.namespace).map((t) => t.dev)).toEqual(['tapo', 'tapi']);
      expect(plan.bridges.filter((b) => b.namespace === m.namespace)).toEqual([
        { namespace: m.namespace, name: 'bo', ports: ['o0', 'tapo'] },
        { namespace: m.namespace, name: 'bi', ports: ['i0', 'tapi'] },
      ]);
      expect(plan.routes).toContainEqual({ namespace: m.namespace, to: '224.0.0.0/4', dev: 'ic0' });
      expect(plan.multicast).toContainEqual({ namespace: m.namespace, dev: 'ic0' });
    });
    const sw = plan.bridges.filter((b) => b.namespace === 'shl-shoal-sw');
    expect(sw.map((b) => b.name)).toEqual(['out', 'in', 'ic']);
    expect(sw.find((b) => b.name === 'out')?.ports).toEqual([...members.map((_, k) => `o-m${k + 1}`), 'o-rt']);
    expect(sw.find((b) => b.name === 'in')?.ports).toEqual([...members.map((_, k) => `i-m${k + 1}`), 'i-ap']);
  });

  it('puts every address, gateway and cluster address inside 198.18.0.0/15 (multicast only in 224.0.0.0/4)', () => {
    for (const a of [CLUSTER.outsideAddress, CLUSTER.insideGateway, ...Object.values(LAB_ADDRESSES).map((x) => x.split('/')[0] ?? '')])
      expect(inside(LAB_BLOCK, a), a).toBe(true);
    expect(inside(MULTICAST, CLUSTER.controlGroup)).toBe(true);
    fc.assert(
      fc.property(arbOptions, (o) => {
        const plan = planLab(o);
        for (const a of plan.addresses) expect(inside(LAB_BLOCK, a.cidr.split('/')[0] ?? ''), a.cidr).toBe(true);
        for (const r of plan.routes) if (r.via !== undefined) expect(inside(LAB_BLOCK, r.via)).toBe(true);
        for (const token of addressesIn(labUpCommands(plan)))
          expect(inside(LAB_BLOCK, token) || token === '224.0.0.0', token).toBe(true);
      }),
      { numRuns: 30 },
    );
  });

  it('gives the client K extra addresses from 198.18.16.10, all in its /20', () => {
    const plan = planLab(options({ clientAddresses: LAB_LIMITS.clientAddresses.max }));
    expect(plan.extraAddresses).toMatchObject({ namespace: 'shl-shoal-cl', dev: 'c0', first: '198.18.16.10', count: 4000, prefixLength: 20 });
    const cl = labUpCommands(plan).find((s) => s.argv[1] === '-n' && s.argv[2] === 'shl-shoal-cl')?.input ?? '';
    const extras = cl.split('\n').filter((l) => l.startsWith('address add') && l !== 'address add 198.18.16.2/20 dev c0');
    expect(extras).toHaveLength(4000);
    expect(extras[0]).toBe('address add 198.18.16.10/20 dev c0');
    expect(extras.at(-1)).toBe('address add 198.18.31.169/20 dev c0');
    expect(planLab(options()).extraAddresses).toBeNull();
  });

  it('rejects bad names and counts with BAD_ codes', () => {
    const bad: Partial<LabOptions>[] = [
      { name: '' },
      { name: 'Upper' },
      { name: 'a-b' },
      { name: 'a/b' },
      { name: 'x'.repeat(21) },
      { members: 0 },
      { members: 17 },
      { members: 1.5 },
      { clientAddresses: -1 },
      { clientAddresses: 4001 },
    ];
    for (const b of bad) {
      const e = (() => {
        try {
          planLab(options(b));
        } catch (err) {
          return err;
        }
        return null;
      })();
      expect(e, JSON.stringify(b)).toBeInstanceOf(ShoalError);
      expect((e as ShoalError).code, JSON.stringify(b)).toMatch(/^BAD_LAB_/);
    }
  });
});

describe('labUpCommands', () => {
  it('never operates on the root namespace: only `ip -n <lab ns>`, `ip netns exec <lab ns>`, or netns add/del of lab namespaces', () => {
    fc.assert(
      fc.property(arbOptions, (o) => {
        const plan = planLab(o);
        expectNoRootNamespaceOperation(plan, labUpCommands(plan));
        expectNoRootNamespaceOperation(plan, labDownCommands(plan.namespaces));
      }),
      { numRuns: 30 },
    );
  });

  it('adds the namespaces, then turns IPv6 off, then makes links, then configures each node', () => {
    const plan = planLab(options({ members: 2 }));
    const steps = labUpCommands(plan);
    const phases = steps.map((s) => s.phase);
    expect(phases).toEqual([...phases].sort((a, b) => a - b));
    expect(steps[0]?.input).toBe(plan.namespaces.map((ns) => `netns add ${ns}\n`).join(''));
    const sysctls = steps.filter((s) => s.phase === 1);
    expect(sysctls.map((s) => s.argv[3])).toEqual(plan.namespaces);
    for (const s of sysctls) expect(s.argv).toEqual(expect.arrayContaining(['net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']));
    expect(sysctls.find((s) => s.argv[3] === 'shl-shoal-rt')?.argv).toContain('net.ipv4.ip_forward=1');
    // Every veth is made in phase 2; nothing in phase 3 creates a link between namespaces.
    const phase2 = steps.filter((s) => s.phase === 2);
    expect(phase2).toHaveLength(1);
    const links = (phase2[0]?.input ?? '').split('\n').filter((l) => l.includes('type veth'));
    expect(links).toHaveLength(plan.links.length);
    expect(links).toContain('link add c0 netns shl-shoal-rt type veth peer name c0 netns shl-shoal-cl');
    expect(phase2[0]?.input).toContain('link add out type bridge stp_state 0 mcast_snooping 0');
    for (const s of steps.filter((x) => x.phase === 3)) expect(s.input).not.toContain('type veth');
  });

  it('builds a member: multi-queue taps with a deep queue, two bridges, ic0 with multicast and its address, routes after links are up', () => {
    const plan = planLab(options({ members: 1 }));
    const m1 = labUpCommands(plan).find((s) => s.argv[1] === '-n' && s.argv[2] === 'shl-shoal-m1');
    const lines = (m1?.input ?? '').trim().split('\n');
    expect(lines).toEqual([
      'tuntap add dev tapo mode tap multi_queue',
      'link set dev tapo txqueuelen 10000',
      'tuntap add dev tapi mode tap multi_queue',
      'link set dev tapi txqueuelen 10000',
      'link add bo type bridge stp_state 0 mcast_snooping 0',
      'link add bi type bridge stp_state 0 mcast_snooping 0',
      'link set o0 master bo',
      'link set tapo master bo',
      'link set i0 master bi',
      'link set tapi master bi',
      'link set ic0 multicast on',
      'address add 198.18.3.11/24 dev ic0',
      'link set lo up',
      'link set o0 up',
      'link set i0 up',
      'link set tapo up',
      'link set tapi up',
      'link set bo up',
      'link set bi up',
      'link set ic0 up',
      'route add 224.0.0.0/4 dev ic0',
    ]);
  });

  it('reads `ip netns list` with and without ids', () => {
    expect(parseNetnsList('shl-a-sw (id: 3)\nshl-a-m1\n\nother (id: 0)\n')).toEqual(['shl-a-sw', 'shl-a-m1', 'other']);
    expect(parseNetnsList('')).toEqual([]);
    expect(labDownCommands([])).toEqual([]);
  });
});
