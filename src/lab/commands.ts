/**
 * A `LabPlan` as the `ip` commands that build and remove it. Pure: argument
 * vectors and batch input only; `lab.ts` runs them.
 *
 *   phase 0  ip -batch -               netns add <every lab namespace>
 *   phase 1  ip netns exec <ns> sysctl  IPv6 off (before any link exists), ip_forward on the router
 *   phase 2  ip -n <sw> -batch -        bridges, and every veth pair with each end put straight
 *                                       into its namespace (no device ever sits in the root namespace)
 *   phase 3  ip -n <ns> -batch -        per node, at once: taps, member bridges, addresses, routes, up
 *
 * Steps of one phase do not depend on one another and may run concurrently.
 */
import { addressAfter, type LabPlan } from './plan.js';

export interface CommandStep {
  argv: string[];
  /** Fed to the command's stdin (the `ip -batch -` lines). */
  input?: string;
  /** Steps run phase by phase; the steps inside one phase are independent. */
  phase: number;
}

const IP = 'ip';

function batch(namespace: string | null, lines: string[], phase: number): CommandStep {
  const argv = namespace === null ? [IP, '-batch', '-'] : [IP, '-n', namespace, '-batch', '-'];
  return { argv, input: `${lines.join('\n')}\n`, phase };
}

/** A bridge with STP off (ports forward at once) and multicast snooping off (multicast floods). */
function bridgeAdd(name: string): string {
  return `link add ${name} type bridge stp_state 0 mcast_snooping 0`;
}

/** The commands that build the lab, in order. */
/** Frames a member's tap queues for its daemon before the kernel drops them. */
export const TAP_QUEUE_FRAMES = 10_000;

export function labUpCommands(plan: LabPlan): CommandStep[] {
  const steps: CommandStep[] = [];
  steps.push(batch(null, plan.namespaces.map((ns) => `netns add ${ns}`), 0));

  for (const namespace of plan.namespaces) {
    const settings = plan.sysctls.filter((s) => s.namespace === namespace).map((s) => `${s.key}=${s.value}`);
    steps.push({ argv: [IP, 'netns', 'exec', namespace, 'sysctl', '-qw', ...settings], phase: 1 });
  }

  const [sw] = plan.namespaces;
  if (sw === undefined) return steps;
  const lines = new Map<string, string[]>(plan.namespaces.map((ns) => [ns, []]));
  const add = (namespace: string, line: string): void => {
    lines.get(namespace)?.push(line);
  };

  // Links: all created from the switch namespace, each end placed by `netns`.
  for (const b of plan.bridges.filter((b) => b.namespace === sw)) add(sw, bridgeAdd(b.name));
  for (const { a, b } of plan.links) {
    const here = a.namespace === sw ? '' : ` netns ${a.namespace}`;
    add(sw, `link add ${a.dev}${here} type veth peer name ${b.dev} netns ${b.namespace}`);
  }

  // The tap's queue towards the daemon is txqueuelen frames (default 1000): at the tests' 10,000 packets/s
  // a 0.1 s pause of a busy event loop would overflow it, so give it a second's worth.
  for (const t of plan.taps) {
    add(t.namespace, `tuntap add dev ${t.dev} mode tap multi_queue`);
    add(t.namespace, `link set dev ${t.dev} txqueuelen ${TAP_QUEUE_FRAMES}`);
  }
  for (const b of plan.bridges.filter((b) => b.namespace !== sw)) add(b.namespace, bridgeAdd(b.name));
  for (const b of plan.bridges) for (const port of b.ports) add(b.namespace, `link set ${port} master ${b.name}`);
  for (const m of plan.multicast) add(m.namespace, `link set ${m.dev} multicast on`);
  for (const a of plan.addresses) add(a.namespace, `address add ${a.cidr} dev ${a.dev}`);
  const x = plan.extraAddresses;
  if (x !== null) for (let i = 0; i < x.count; i++) add(x.namespace, `address add ${addressAfter(x.first, i)}/${x.prefixLength} dev ${x.dev}`);
  for (const u of plan.up) add(u.namespace, `link set ${u.dev} up`);
  for (const r of plan.routes) add(r.namespace, `route add ${r.to}${r.via === undefined ? '' : ` via ${r.via}`}${r.dev === undefined ? '' : ` dev ${r.dev}`}`);

  for (const [namespace, l] of lines) if (l.length > 0) steps.push(batch(namespace, l, namespace === sw ? 2 : 3));
  return steps;
}

/** `ip netns list`: what `down` and `status` read. */
export function netnsListCommand(): string[] {
  return [IP, 'netns', 'list'];
}

/** `ip -V`: proves `ip` is installed. */
export function ipVersionCommand(): string[] {
  return [IP, '-V'];
}

/** Removing namespaces also removes every device, bridge, tap and address inside them. */
export function labDownCommands(namespaces: readonly string[]): CommandStep[] {
  return namespaces.length === 0 ? [] : [batch(null, namespaces.map((ns) => `netns del ${ns}`), 0)];
}

/** `argv` run inside one namespace. */
export function execCommand(namespace: string, argv: readonly string[]): string[] {
  return [IP, 'netns', 'exec', namespace, ...argv];
}

/** Names from `ip netns list` ("name" or "name (id: 3)" per line). */
export function parseNetnsList(stdout: string): string[] {
  return stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0] ?? '')
    .filter((name) => name !== '');
}
