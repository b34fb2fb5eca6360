/**
 * The namespace lab on a real host: up / down / status / exec, through a
 * CommandRunner (so tests can record instead of run).
 *
 *   up:     checks → state file ("building") → commands.ts phases → state file ("up")
 *           (on a failed command: down, then one LAB_COMMAND_FAILED error)
 *   down:   stop the lab's member daemons (by recorded PID, members.ts) → `ip netns list`
 *           → delete every `shl-<lab>-*` namespace → remove the state file and the lab directory
 *           (works with a lost state file or after a crash; a second down does nothing)
 *   grow:   one more member: only its namespace, links, taps and bridges are made
 *   status: state file + `ip netns list` → the node table and the cluster addresses
 *   exec:   `ip netns exec <ns> argv…` with our stdio; resolves to its exit code
 *
 * `down` stops only the member daemons the lab started; other processes inside
 * the namespaces are left to whoever started them (the kernel frees a
 * namespace when its last process leaves).
 */
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ShoalError } from '../lib/errors.js';
import { COMMAND_NOT_FOUND, type CommandRunner } from '../ports/command.js';
import { execCommand, ipVersionCommand, labDownCommands, labUpCommands, netnsListCommand, parseNetnsList, type CommandStep } from './commands.js';
import { LAB_RUN_DIR, LabMembers, type PkiFiles } from './members.js';
import { addressAfter, CLUSTER, findNode, LAB_LIMITS, labPrefix, planLab, validateLabOptions, type LabOptions, type LabPlan, type NodeRole } from './plan.js';

export const DEFAULT_STATE_DIR = LAB_RUN_DIR;

export interface LabEnvironment {
  runner: CommandRunner;
  /** Default /run/shoal-lab (created 0700). */
  stateDir?: string;
  /** Default: effective uid 0. */
  isRoot?: () => boolean;
  /** Milliseconds, for the timings only. Default performance.now. */
  now?: () => number;
}

/** What the state file `<stateDir>/<name>.json` records. */
export interface LabState {
  version: 1;
  name: string;
  members: number;
  clientAddresses: number;
  namespaces: string[];
  phase: 'building' | 'up';
  createdAt: string;
}

export interface LabUpReport {
  status: LabStatus;
  elapsedMs: number;
  commands: number;
}

export interface LabDownReport {
  name: string;
  /** Member daemons stopped (SIGTERM, then SIGKILL), by recorded PID. */
  stoppedDaemons: { member: number; pid: number }[];
  removedNamespaces: string[];
  removedStateFile: boolean;
  /** Whether the lab directory (PKI, configurations, logs) existed and was removed. */
  removedLabDir: boolean;
  elapsedMs: number;
}

export interface LabGrowReport {
  /** The new member's number. */
  member: number;
  status: LabStatus;
  elapsedMs: number;
  commands: number;
}

export interface LabNodeStatus {
  node: string;
  role: NodeRole;
  namespace: string;
  present: boolean;
  addresses: string[];
  /** The client's extra addresses; null elsewhere or when there are none. */
  extraAddresses: { first: string; last: string; count: number } | null;
  memberId: string | null;
  /** A member's daemon: its recorded PID (null if never started) and whether it runs; null for other nodes. */
  daemon: { pid: number | null; running: boolean } | null;
  /** A member's dev CA, certificate and key files once made; null before, and for other nodes. */
  certificates: PkiFiles | null;
}

export interface LabStatus {
  name: string;
  prefix: string;
  /** The state file says built and every planned namespace exists. */
  up: boolean;
  phase: LabState['phase'];
  createdAt: string;
  members: number;
  clientAddresses: number;
  cluster: typeof CLUSTER;
  nodes: LabNodeStatus[];
  /** Namespaces with the lab's prefix that the plan does not name. */
  strayNamespaces: string[];
}

export class NamespaceLab {
  readonly #runner: CommandRunner;
  readonly #stateDir: string;
  readonly #isRoot: () => boolean;
  readonly #now: () => number;
  /** The lab's member daemons (in `<stateDir>/<name>/`). */
  readonly members: LabMembers;

  constructor(env: LabEnvironment) {
    this.#runner = env.runner;
    this.#stateDir = env.stateDir ?? DEFAULT_STATE_DIR;
    this.#isRoot = env.isRoot ?? (() => process.geteuid?.() === 0);
    this.#now = env.now ?? (() => performance.now());
    this.members = new LabMembers({ stateDir: this.#stateDir, runner: this.#runner });
  }

  stateFile(name: string): string {
    return join(this.#stateDir, `${name}.json`);
  }

  async up(options: LabOptions): Promise<LabUpReport> {
    const started = this.#now();
    const plan = planLab(options);
    await this.#preflight();
    const existing = await this.#labNamespaces(plan.name);
    if ((await this.#readState(plan.name)) !== null || existing.length > 0)
      throw new ShoalError('LAB_ALREADY_UP', `lab '${plan.name}' is already up (or left over): run \`shoal lab down --name ${plan.name}\` first`);

    const state: LabState = {
      version: 1,
      name: plan.name,
      members: plan.members,
      clientAddresses: plan.clientAddresses,
      namespaces: plan.namespaces,
      phase: 'building',
      createdAt: new Date().toISOString(),
    };
    await this.#writeState(state);
    const steps = labUpCommands(plan);
    try {
      await this.#runPhases(steps);
    } catch (e) {
      await this.down(plan.name).catch(() => undefined);
      throw e;
    }
    await this.#writeState({ ...state, phase: 'up' });
    const status = await this.status(plan.name);
    return { status, elapsedMs: this.#now() - started, commands: steps.length };
  }

  async down(name: string): Promise<LabDownReport> {
    const started = this.#now();
    validateLabOptions({ name, members: 1, clientAddresses: 0 });
    await this.#preflight();
    const stoppedDaemons = await this.members.stopAll(name);
    const namespaces = await this.#labNamespaces(name);
    await this.#runPhases(labDownCommands(namespaces));
    const left = await this.#labNamespaces(name);
    if (left.length > 0) throw new ShoalError('LAB_COMMAND_FAILED', `lab '${name}': namespaces still present after down: ${left.join(' ')}`);
    let removedStateFile = true;
    await rm(this.stateFile(name)).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
      removedStateFile = false;
    });
    const labDir = this.members.labDir(name);
    const removedLabDir = await stat(labDir).then(
      () => true,
      () => false,
    );
    await rm(labDir, { recursive: true, force: true });
    return { name, stoppedDaemons, removedNamespaces: namespaces, removedStateFile, removedLabDir, elapsedMs: this.#now() - started };
  }

  /** Add one member to a lab that is up: only the new member's namespace, links, taps and bridges are made. */
  async grow(name: string): Promise<LabGrowReport> {
    const started = this.#now();
    validateLabOptions({ name, members: 1, clientAddresses: 0 });
    await this.#preflight();
    const { state } = await this.#requireLab(name);
    if (state.phase !== 'up') throw new ShoalError('LAB_NOT_UP', `lab '${name}' did not finish building: run \`shoal lab down --name ${name}\``);
    const member = state.members + 1;
    if (member > LAB_LIMITS.members.max) throw new ShoalError('LAB_FULL', `lab '${name}' already has ${state.members} members, the most it takes`);
    const plan = planLab({ name, members: member, clientAddresses: state.clientAddresses });
    const steps = memberAddCommands(plan, member);
    const namespace = `${plan.prefix}m${member}`;
    try {
      await this.#runPhases(steps);
    } catch (e) {
      await this.#runner.run(['ip', 'netns', 'del', namespace]).catch(() => undefined);
      throw e;
    }
    await this.#writeState({ ...state, members: member, namespaces: plan.namespaces });
    return { member, status: await this.status(name), elapsedMs: this.#now() - started, commands: steps.length };
  }

  async status(name: string): Promise<LabStatus> {
    validateLabOptions({ name, members: 1, clientAddresses: 0 });
    await this.#preflight();
    const { state, plan } = await this.#requireLab(name);
    const present = new Set(await this.#labNamespaces(name));
    const x = plan.extraAddresses;
    const nodes = plan.nodes.map(
      (n): LabNodeStatus => ({
        ...n,
        present: present.has(n.namespace),
        extraAddresses:
          x !== null && x.namespace === n.namespace ? { first: x.first, last: addressAfter(x.first, x.count - 1), count: x.count } : null,
        daemon: n.role === 'member' ? daemonOf(this.members, name, n.node) : null,
        certificates: n.role === 'member' ? this.members.pkiFiles(name, memberNumber(n.node)) : null,
      }),
    );
    return {
      name,
      prefix: plan.prefix,
      up: state.phase === 'up' && nodes.every((n) => n.present),
      phase: state.phase,
      createdAt: state.createdAt,
      members: plan.members,
      clientAddresses: plan.clientAddresses,
      cluster: CLUSTER,
      nodes,
      strayNamespaces: [...present].filter((ns) => !plan.namespaces.includes(ns)),
    };
  }

  /** Run `argv` in `node`'s namespace with our stdin/stdout/stderr; resolves to its exit code. */
  async exec(name: string, node: string, argv: readonly string[]): Promise<number> {
    validateLabOptions({ name, members: 1, clientAddresses: 0 });
    if (argv.length === 0) throw new ShoalError('BAD_LAB_EXEC', 'exec: give a command after the node (shoal lab exec <node> -- <command...>)');
    await this.#preflight();
    const { plan } = await this.#requireLab(name);
    const target = findNode(plan, node);
    if (target === undefined)
      throw new ShoalError('LAB_UNKNOWN_NODE', `lab '${name}' has no node '${node}' (nodes: ${plan.nodes.map((n) => n.node).join(' ')})`);
    const result = await this.#runner.run(execCommand(target.namespace, argv), { stdio: 'inherit' });
    return result.code;
  }

  async #preflight(): Promise<void> {
    if (!this.#isRoot()) throw new ShoalError('LAB_NOT_ROOT', 'the namespace lab needs root (network namespaces): run as root');
    try {
      const r = await this.#runner.run(ipVersionCommand());
      if (r.code !== 0) throw new ShoalError('LAB_IP_MISSING', `\`ip -V\` failed (exit ${r.code}): install iproute2`);
    } catch (e) {
      if (e instanceof ShoalError && e.code === COMMAND_NOT_FOUND)
        throw new ShoalError('LAB_IP_MISSING', '`ip` not found: install iproute2 (apt-get install iproute2)', { cause: e });
      throw e;
    }
  }

  async #requireLab(name: string): Promise<{ state: LabState; plan: LabPlan }> {
    const state = await this.#readState(name);
    if (state === null) {
      const left = await this.#labNamespaces(name);
      const hint = left.length > 0 ? ` (${left.length} namespace${left.length === 1 ? '' : 's'} left over: run \`shoal lab down --name ${name}\`)` : '';
      throw new ShoalError('LAB_NOT_UP', `lab '${name}' is not up${hint}`);
    }
    return { state, plan: planLab({ name, members: state.members, clientAddresses: state.clientAddresses }) };
  }

  async #labNamespaces(name: string): Promise<string[]> {
    const r = await this.#runner.run(netnsListCommand());
    if (r.code !== 0) throw commandFailed(netnsListCommand(), r.stderr);
    const prefix = labPrefix(name);
    return parseNetnsList(r.stdout)
      .filter((ns) => ns.startsWith(prefix))
      .sort();
  }

  async #runPhases(steps: readonly CommandStep[]): Promise<void> {
    const phases = [...new Set(steps.map((s) => s.phase))].sort((a, b) => a - b);
    for (const phase of phases) {
      const results = await Promise.all(
        steps.filter((s) => s.phase === phase).map(async (s) => ({ step: s, result: await this.#runner.run(s.argv, s.input === undefined ? {} : { input: s.input }) })),
      );
      const failed = results.find((r) => r.result.code !== 0);
      if (failed !== undefined) throw commandFailed(failed.step.argv, failed.result.stderr);
    }
  }

  async #readState(name: string): Promise<LabState | null> {
    let text: string;
    try {
      text = await readFile(this.stateFile(name), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
    let s: Partial<LabState> | null = null;
    try {
      s = JSON.parse(text) as Partial<LabState>;
    } catch {
      // reported below
    }
    if (s === null || typeof s !== 'object' || s.version !== 1 || s.name !== name || typeof s.members !== 'number' || typeof s.clientAddresses !== 'number')
      throw new ShoalError('LAB_STATE_BAD', `${this.stateFile(name)}: not a lab state file; run \`shoal lab down --name ${name}\``);
    return s as LabState;
  }

  async #writeState(state: LabState): Promise<void> {
    await mkdir(this.#stateDir, { recursive: true, mode: 0o700 });
    const file = this.stateFile(state.name);
    await writeFile(`${file}.tmp`, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
    await rename(`${file}.tmp`, file);
  }
}

function memberNumber(node: string): number {
  return Number(node.slice(1));
}

function daemonOf(members: LabMembers, name: string, node: string): { pid: number | null; running: boolean } {
  const d = members.daemon(name, memberNumber(node));
  return { pid: d.pid, running: d.running };
}

/**
 * The commands that add member `i` of `plan` to a lab built with i−1 members:
 * the steps of labUpCommands(plan) for its namespace, and from the switch's
 * batch only the lines naming the switch ends of its links.
 */
export function memberAddCommands(plan: LabPlan, i: number): CommandStep[] {
  const namespace = `${plan.prefix}m${i}`;
  const sw = plan.namespaces[0] ?? '';
  const swEnds = new Set(plan.links.filter((l) => l.b.namespace === namespace && l.a.namespace === sw).map((l) => l.a.dev));
  const steps: CommandStep[] = [{ argv: ['ip', '-batch', '-'], input: `netns add ${namespace}\n`, phase: 0 }];
  for (const s of labUpCommands(plan)) {
    const argv = s.argv.join(' ');
    if (argv.startsWith(`ip netns exec ${namespace} `) || argv === `ip -n ${namespace} -batch -`) steps.push(s);
    else if (argv === `ip -n ${sw} -batch -`) {
      const lines = (s.input ?? '').split('\n').filter((line) => line.split(' ').some((word) => swEnds.has(word)));
      if (lines.length > 0) steps.push({ ...s, input: `${lines.join('\n')}\n` });
    }
  }
  return steps;
}

function commandFailed(argv: readonly string[], stderr: string): ShoalError {
  const why = stderr.trim().split('\n').slice(0, 2).join('; ') || 'no message';
  return new ShoalError('LAB_COMMAND_FAILED', `\`${argv.join(' ')}\` failed: ${why}`);
}
