/**
 * The namespace lab's topology as a value: options in, a `LabPlan` out, no I/O.
 * `commands.ts` turns the plan into `ip` commands; `lab.ts` runs them.
 *
 *   cl ──c0═c0── rt ──o0═o-rt──┐ sw/out ┌──o-m<i>═o0── bo ── tapo ┐
 *   198.18.16.2/20  198.18.1.1/24│        │                         │ m<i>
 *   (+K extras)  198.18.16.1/20  │ sw/in  ├──i-m<i>═i0── bi ── tapi ┤ (daemon owns the
 *                ap ──i0═i-ap────┘        │                         │  cluster addresses
 *                198.18.2.100/24   sw/ic  └──c-m<i>═ic0 198.18.3.(10+i)/24   in userspace)
 *
 * Every namespace is `shl-<lab>-<node>`; every address is in 198.18.0.0/15 and
 * lives inside a lab namespace, so two labs with different names coexist.
 */
import { ShoalError } from '../lib/errors.js';
import { formatIpv4, parseIpv4 } from '../lib/ipv4.js';

export const DEFAULT_LAB_NAME = 'shoal';

export const LAB_LIMITS = {
  /** Members take 198.18.3.11..26 on the interconnect /24 (memberAddress); every control message stays far below a frame at this size. */
  members: { min: 1, max: 16, default: 3 },
  /** Extra client addresses from 198.18.16.10 up to at most 198.18.31.254 (the /20's last host). */
  clientAddresses: { min: 0, max: 4000, default: 0 },
  nameMaxLength: 20,
} as const;

/** Lab names: lower-case letters and digits only, so `shl-<name>-` never prefixes another lab's names. */
export const LAB_NAME_PATTERN = /^[a-z0-9]+$/;

/** The addresses the member daemons own in userspace (never given to a kernel interface). */
export const CLUSTER = {
  outsideAddress: '198.18.1.10',
  outsidePrefixLength: 24,
  insideGateway: '198.18.2.1',
  insidePrefixLength: 24,
  controlGroup: '239.255.83.72',
  controlPort: 5400,
} as const;

/** Kernel addresses of the non-member nodes, and the lab's networks. */
export const LAB_ADDRESSES = {
  outerNetwork: '198.18.1.0/24',
  innerNetwork: '198.18.2.0/24',
  interconnectNetwork: '198.18.3.0/24',
  clientNetwork: '198.18.16.0/20',
  routerOuter: '198.18.1.1',
  routerClient: '198.18.16.1',
  client: '198.18.16.2',
  clientExtraFirst: '198.18.16.10',
  appHost: '198.18.2.100',
} as const;

/** Device names inside a member namespace: the daemon opens the taps by these names. */
export const MEMBER_DEVICES = {
  outerPort: 'o0',
  innerPort: 'i0',
  interconnect: 'ic0',
  outerTap: 'tapo',
  innerTap: 'tapi',
  outerBridge: 'bo',
  innerBridge: 'bi',
} as const;

/** The switch namespace's bridges. */
export const SWITCH_BRIDGES = { outer: 'out', inner: 'in', interconnect: 'ic' } as const;

export interface LabOptions {
  name: string;
  members: number;
  clientAddresses: number;
}

export type NodeRole = 'switch' | 'member' | 'router' | 'client' | 'app';

export interface LabNode {
  /** Short name used by `shoal lab exec`: sw, m1..m16, rt, cl, ap. */
  node: string;
  role: NodeRole;
  namespace: string;
  /** Kernel addresses (CIDR), not counting the client's extra addresses. */
  addresses: string[];
  /** A member's id (its interconnect address, as in its certificate); null for other nodes. */
  memberId: string | null;
}

export interface Endpoint {
  namespace: string;
  dev: string;
}

/** A veth pair, created from `a` with the peer `b` placed straight into its namespace. */
export interface VethLink {
  a: Endpoint;
  b: Endpoint;
}

export interface BridgePlan {
  namespace: string;
  name: string;
  ports: string[];
}

export interface AddressPlan extends Endpoint {
  cidr: string;
}

/** A run of consecutive addresses on one device (the client's extras). */
export interface AddressRange extends Endpoint {
  first: string;
  count: number;
  prefixLength: number;
}

export interface RoutePlan {
  namespace: string;
  to: string;
  via?: string;
  dev?: string;
}

export interface SysctlPlan {
  namespace: string;
  key: string;
  value: string;
}

export interface LabPlan {
  name: string;
  /** `shl-<name>-`: every namespace of this lab, and only this lab, starts with it. */
  prefix: string;
  members: number;
  clientAddresses: number;
  /** In creation order; the switch first. */
  namespaces: string[];
  nodes: LabNode[];
  bridges: BridgePlan[];
  links: VethLink[];
  taps: Endpoint[];
  /** Devices to bring up, per namespace (in this order; bridges after their ports are enslaved). */
  up: Endpoint[];
  multicast: Endpoint[];
  addresses: AddressPlan[];
  extraAddresses: AddressRange | null;
  routes: RoutePlan[];
  sysctls: SysctlPlan[];
}

export function labPrefix(name: string): string {
  return `shl-${name}-`;
}

/** The member id (interconnect address) of member `i`, 1-based. */
export function memberAddress(i: number): string {
  return `198.18.3.${10 + i}`;
}

/** Throws BAD_LAB_OPTIONS / BAD_LAB_NAME when an option is out of range. */
export function validateLabOptions(o: LabOptions): void {
  if (!LAB_NAME_PATTERN.test(o.name) || o.name.length > LAB_LIMITS.nameMaxLength)
    throw new ShoalError('BAD_LAB_NAME', `lab name '${o.name}': use 1 to ${LAB_LIMITS.nameMaxLength} lower-case letters and digits`);
  const m = LAB_LIMITS.members;
  if (!Number.isInteger(o.members) || o.members < m.min || o.members > m.max)
    throw new ShoalError('BAD_LAB_OPTIONS', `members: expected a whole number from ${m.min} to ${m.max}, got ${o.members}`);
  const c = LAB_LIMITS.clientAddresses;
  if (!Number.isInteger(o.clientAddresses) || o.clientAddresses < c.min || o.clientAddresses > c.max)
    throw new ShoalError('BAD_LAB_OPTIONS', `client addresses: expected a whole number from ${c.min} to ${c.max}, got ${o.clientAddresses}`);
}

/** The address `offset` places after `first`. */
export function addressAfter(first: string, offset: number): string {
  return formatIpv4((parseIpv4(first) + offset) >>> 0);
}

export function planLab(o: LabOptions): LabPlan {
  validateLabOptions(o);
  const prefix = labPrefix(o.name);
  const ns = (node: string): string => `${prefix}${node}`;
  const sw = ns('sw');
  const rt = ns('rt');
  const cl = ns('cl');
  const ap = ns('ap');
  const D = MEMBER_DEVICES;
  const B = SWITCH_BRIDGES;
  const A = LAB_ADDRESSES;

  const plan: LabPlan = {
    name: o.name,
    prefix,
    members: o.members,
    clientAddresses: o.clientAddresses,
    namespaces: [],
    nodes: [],
    bridges: [],
    links: [],
    taps: [],
    up: [],
    multicast: [],
    addresses: [],
    extraAddresses: null,
    routes: [],
    sysctls: [],
  };
  const node = (name: string, role: NodeRole, memberId: string | null = null): string => {
    const namespace = ns(name);
    plan.namespaces.push(namespace);
    plan.nodes.push({ node: name, role, namespace, addresses: [], memberId });
    plan.sysctls.push(
      { namespace, key: 'net.ipv6.conf.all.disable_ipv6', value: '1' },
      { namespace, key: 'net.ipv6.conf.default.disable_ipv6', value: '1' },
    );
    plan.up.push({ namespace, dev: 'lo' });
    return namespace;
  };
  const address = (namespace: string, dev: string, cidr: string): void => {
    plan.addresses.push({ namespace, dev, cidr });
    plan.nodes.find((n) => n.namespace === namespace)?.addresses.push(cidr);
  };
  const up = (namespace: string, ...devs: string[]): void => {
    for (const dev of devs) plan.up.push({ namespace, dev });
  };

  // The switch: three bridges; each other node's leg is a port on one of them.
  node('sw', 'switch');
  const swPorts = { [B.outer]: [] as string[], [B.inner]: [] as string[], [B.interconnect]: [] as string[] };
  const attach = (bridge: keyof typeof swPorts, swDev: string, peer: Endpoint): void => {
    plan.links.push({ a: { namespace: sw, dev: swDev }, b: peer });
    swPorts[bridge].push(swDev);
  };

  for (let i = 1; i <= o.members; i++) {
    const m = node(`m${i}`, 'member', memberAddress(i));
    attach(B.outer, `o-m${i}`, { namespace: m, dev: D.outerPort });
    attach(B.inner, `i-m${i}`, { namespace: m, dev: D.innerPort });
    attach(B.interconnect, `c-m${i}`, { namespace: m, dev: D.interconnect });
    plan.taps.push({ namespace: m, dev: D.outerTap }, { namespace: m, dev: D.innerTap });
    plan.bridges.push(
      { namespace: m, name: D.outerBridge, ports: [D.outerPort, D.outerTap] },
      { namespace: m, name: D.innerBridge, ports: [D.innerPort, D.innerTap] },
    );
    up(m, D.outerPort, D.innerPort, D.outerTap, D.innerTap, D.outerBridge, D.innerBridge, D.interconnect);
    plan.multicast.push({ namespace: m, dev: D.interconnect });
    address(m, D.interconnect, `${memberAddress(i)}/24`);
    plan.routes.push({ namespace: m, to: '224.0.0.0/4', dev: D.interconnect });
  }

  node('rt', 'router');
  attach(B.outer, 'o-rt', { namespace: rt, dev: 'o0' });
  node('cl', 'client');
  plan.links.push({ a: { namespace: rt, dev: 'c0' }, b: { namespace: cl, dev: 'c0' } });
  node('ap', 'app');
  attach(B.inner, 'i-ap', { namespace: ap, dev: 'i0' });

  const swBridges = Object.entries(swPorts).map(([name, ports]) => ({ namespace: sw, name, ports }));
  plan.bridges = [...swBridges, ...plan.bridges];
  up(sw, ...Object.values(swPorts).flat(), B.outer, B.inner, B.interconnect);

  address(rt, 'o0', `${A.routerOuter}/24`);
  address(rt, 'c0', `${A.routerClient}/20`);
  up(rt, 'o0', 'c0');
  plan.sysctls.push({ namespace: rt, key: 'net.ipv4.ip_forward', value: '1' });
  // The inside network is reached through the cluster address: the members route it.
  plan.routes.push({ namespace: rt, to: A.innerNetwork, via: CLUSTER.outsideAddress });

  address(cl, 'c0', `${A.client}/20`);
  if (o.clientAddresses > 0) plan.extraAddresses = { namespace: cl, dev: 'c0', first: A.clientExtraFirst, count: o.clientAddresses, prefixLength: 20 };
  up(cl, 'c0');
  plan.routes.push({ namespace: cl, to: 'default', via: A.routerClient });

  address(ap, 'i0', `${A.appHost}/24`);
  up(ap, 'i0');
  plan.routes.push({ namespace: ap, to: 'default', via: CLUSTER.insideGateway });
  return plan;
}

/** The node table entry for a short node name, or undefined. */
export function findNode(plan: LabPlan, node: string): LabNode | undefined {
  return plan.nodes.find((n) => n.node === node);
}
