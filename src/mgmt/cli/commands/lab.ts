/**
 * `shoal lab`: with no subcommand, the cluster for real. It builds the
 * namespace lab unless it is up, makes a throwaway development PKI, starts one
 * member daemon per member namespace, waits for one cluster with every unit
 * served once, sends UDP echo flows from the client namespace to the cluster
 * address, prints what happened, and leaves the cluster running.
 *
 *   up | down | status | exec      the lab's network (src/lab/lab.ts); down also stops the daemons
 *   start [member…] | kill <member> | add | partition [member…] | heal
 *                                  the member daemons (src/lab/members.ts)
 *
 * The simulated cluster demo is `shoal sim`.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { NamespaceLab, type LabDownReport, type LabStatus, type LabUpReport } from '../../../lab/lab.js';
import {
  DEFAULT_LAB_MODE,
  parseLabMode,
  parseMemberName,
  type ClusterReport,
  type LabMode,
  type MemberObservation,
  type PkiReport,
  type StartedMember,
  type TrafficReport,
} from '../../../lab/members.js';
import { CLUSTER, DEFAULT_LAB_NAME, LAB_ADDRESSES, LAB_LIMITS, LAB_NAME_PATTERN } from '../../../lab/plan.js';
import { ShoalError } from '../../../lib/errors.js';
import { NodeCommandRunner } from '../../../ports/command-node.js';
import { wholeNumber } from '../options.js';
import { EXIT_FAILED, EXIT_OK, formatMs, formatTable, printJson, printLine } from '../output.js';
import { jsonOption } from './sim.js';

/** What bare `shoal lab` builds and sends when the lab is not up yet. */
export const LAB_DEFAULTS = {
  clientAddresses: 200,
  demoAddresses: 200,
  demoPorts: 5,
  demoWaitMs: 2000,
  /** Forming plus the master's first rebalance (every 2 s) fits well inside this. */
  clusterTimeoutMs: 20_000,
} as const;

interface NameFlags {
  name: string;
  json?: boolean;
}

interface UpFlags extends NameFlags {
  members: number;
  clientAddresses: number;
}

interface LabFlags extends UpFlags {
  mode: LabMode;
}

interface ModeFlags extends NameFlags {
  mode?: LabMode;
}

/**
 * The lab command hands the settings it inherits (exit override, error output)
 * on to its own subcommands. (The program enables positional options in
 * main.ts, so `shoal lab up --members 3` means up's --members, not the lab's.)
 */
class LabCommand extends Command {
  override copyInheritedSettings(source: Command): this {
    super.copyInheritedSettings(source);
    for (const sub of this.commands) sub.copyInheritedSettings(this);
    return this;
  }
}

export function labCommand(): Command {
  const lab = new LabCommand('lab')
    .description(
      'run the cluster in the namespace lab: build it (unless up), start a member daemon per member, wait for the cluster, ' +
        'send UDP echo traffic, and leave it running (needs root; the simulated demo is `shoal sim`)',
    )
    .enablePositionalOptions()
    .addOption(nameOption())
    .addOption(membersOption())
    .addOption(clientAddressesOption(LAB_DEFAULTS.clientAddresses))
    .addOption(modeOption().default(DEFAULT_LAB_MODE))
    .addOption(jsonOption())
    .action(async (flags: LabFlags, command: Command) => {
      process.exitCode = await runLab(flags, command.getOptionValueSource('members') === 'cli');
    });
  for (const sub of [upCommand(), downCommand(), statusCommand(), execCommand(), startCommand(), killCommand(), addCommand(), partitionCommand(), healCommand()])
    lab.addCommand(sub);
  return lab;
}

function nameOption(): Option {
  return new Option('--name <lab>', `lab name: namespaces are shl-<lab>-*`).default(DEFAULT_LAB_NAME).argParser((value: string) => {
    if (!LAB_NAME_PATTERN.test(value) || value.length > LAB_LIMITS.nameMaxLength)
      throw new InvalidArgumentError(`expected 1 to ${LAB_LIMITS.nameMaxLength} lower-case letters and digits.`);
    return value;
  });
}

function membersOption(): Option {
  const m = LAB_LIMITS.members;
  return new Option('--members <n>', `member namespaces (${m.min}..${m.max})`).default(m.default).argParser(wholeNumber(m.min, m.max));
}

function clientAddressesOption(fallback: number): Option {
  const c = LAB_LIMITS.clientAddresses;
  return new Option('--client-addresses <k>', `extra client addresses from ${LAB_ADDRESSES.clientExtraFirst} up (${c.min}..${c.max})`)
    .default(fallback)
    .argParser(wholeNumber(c.min, c.max));
}

function modeOption(): Option {
  return new Option('--mode <mode>', 'how frames for the cluster address reach every member: unicast or multicast').argParser((value: string) => {
    try {
      return parseLabMode(value);
    } catch (e) {
      throw new InvalidArgumentError(e instanceof Error ? e.message : String(e));
    }
  });
}

function openLab(): NamespaceLab {
  return new NamespaceLab({ runner: new NodeCommandRunner() });
}

/** ` --name x` when x is not the default lab: what the printed hints need. */
function nameArg(name: string): string {
  return name === DEFAULT_LAB_NAME ? '' : ` --name ${name}`;
}

function memberNumbers(s: LabStatus): number[] {
  return Array.from({ length: s.members }, (_, k) => k + 1);
}

/** Member names from the command line, each checked against the lab's members. */
function chosenMembers(s: LabStatus, names: readonly string[]): number[] {
  if (names.length === 0) return memberNumbers(s);
  const chosen = [...new Set(names.map(parseMemberName))].sort((a, b) => a - b);
  const unknown = chosen.filter((i) => i > s.members);
  if (unknown.length > 0)
    throw new ShoalError('LAB_UNKNOWN_NODE', `lab '${s.name}' has members m1..m${s.members}, not ${unknown.map((i) => `m${i}`).join(' ')}`);
  return chosen;
}

interface LabRunReport {
  name: string;
  labDir: string;
  /** Null when the lab was already up. */
  built: LabUpReport | null;
  pki: PkiReport;
  mode: LabMode;
  started: StartedMember[];
  cluster: ClusterReport;
  traffic: TrafficReport;
  elapsedMs: number;
}

async function runLab(flags: LabFlags, membersGiven: boolean): Promise<number> {
  const t0 = performance.now();
  const lab = openLab();
  const name = flags.name;
  let built: LabUpReport | null = null;
  let status: LabStatus;
  try {
    status = await lab.status(name);
  } catch (e) {
    if (!(e instanceof ShoalError && e.code === 'LAB_NOT_UP')) throw e;
    built = await lab.up({ name, members: flags.members, clientAddresses: flags.clientAddresses });
    status = built.status;
  }
  if (!status.up) throw new ShoalError('LAB_INCOMPLETE', `lab '${name}' is incomplete (namespaces missing or a build did not finish): run \`shoal lab down${nameArg(name)}\``);

  const members = lab.members;
  const pki = await members.ensurePki(name, status.members);
  const started: StartedMember[] = [];
  for (const i of memberNumbers(status)) {
    if (members.daemon(name, i).running) continue;
    await members.writeConfig(name, i, flags.mode);
    started.push(await members.start(name, i));
  }
  const cluster = await members.waitForCluster(name, status.members, LAB_DEFAULTS.clusterTimeoutMs, { balanced: true });
  const extra = status.clientAddresses;
  const traffic = await members.trafficDemo(
    name,
    extra > 0
      ? { addresses: Math.min(LAB_DEFAULTS.demoAddresses, extra), portsPerAddress: LAB_DEFAULTS.demoPorts, waitMs: LAB_DEFAULTS.demoWaitMs }
      : { firstSource: LAB_ADDRESSES.client, addresses: 1, portsPerAddress: 20, waitMs: LAB_DEFAULTS.demoWaitMs },
  );
  const report: LabRunReport = {
    name,
    labDir: members.labDir(name),
    built,
    pki,
    mode: flags.mode,
    started,
    cluster,
    traffic,
    elapsedMs: performance.now() - t0,
  };
  if (flags.json === true) printJson(report);
  else printLabRun(report, status, membersGiven ? flags.members : null);
  return traffic.missing === 0 && traffic.duplicated === 0 ? EXIT_OK : EXIT_FAILED;
}

/** `askedMembers`: the --members given on the command line, if any. */
function printLabRun(r: LabRunReport, s: LabStatus, askedMembers: number | null): void {
  const n = nameArg(r.name);
  if (r.built !== null)
    printLine(`Lab '${r.name}' built in ${formatMs(r.built.elapsedMs)}: ${s.members} members, router, client (+${s.clientAddresses} addresses), application host; namespaces ${s.prefix}*.`);
  else printLine(`Lab '${r.name}' is already up (${s.members} members${askedMembers !== null && askedMembers !== s.members ? `; --members ${askedMembers} ignored` : ''}).`);
  printLine(
    r.pki.createdCa
      ? `Development PKI: a throwaway CA and ${r.pki.issued.length} member certificates in ${r.pki.dir}`
      : `Development PKI: ${r.pki.dir}${r.pki.issued.length > 0 ? ` (issued ${r.pki.issued.map((i) => `m${i}`).join(' ')})` : ''}`,
  );
  printLine(
    r.started.length > 0
      ? `Started ${r.started.length} member daemon(s) in ${r.mode} mode: ${r.started.map((m) => `m${m.member} pid ${m.pid}`).join(', ')} (logs ${r.labDir}/m<i>.log)`
      : 'Every member daemon was already running.',
  );
  printLine();
  printCluster(r.cluster, `Cluster of ${r.cluster.members.length} formed in ${formatMs(r.cluster.elapsedMs)} (loads even after the first rebalance); master ${r.cluster.master}:`);
  printLine();
  const t = r.traffic;
  printLine(
    `Traffic: ${t.flows} UDP echo flows (${t.addresses} client address${t.addresses === 1 ? '' : 'es'} from ${t.firstSource} × ${t.portsPerAddress} ports) ` +
      `from the client namespace to ${t.target}:${t.port}, through the router:`,
  );
  printLine(
    `  ${t.answeredOnce} answered exactly once, ${t.missing} missing, ${t.duplicated} duplicated; median ${t.medianMs === null ? '—' : `${t.medianMs.toFixed(1)} ms`}` +
      ` (${formatMs(t.elapsedMs)} in all)`,
  );
  printLine(`  echoes per member: ${t.perMember.map((m) => `m${m.member}=${m.answered}`).join(' ')}`);
  printLine(t.missing === 0 && t.duplicated === 0 ? 'Result: OK' : 'Result: FAILED (some flows were not answered exactly once)');
  printLine();
  printLine('The cluster keeps running. Look around:');
  printLine(`  shoal lab status${n}`);
  printLine(`  shoal lab exec${n} cl -- ping -c1 ${CLUSTER.outsideAddress}`);
  printLine(`  shoal status --socket ${r.labDir}/m1.sock        (also: members, units)`);
  printLine(`  shoal lab kill${n} m2 · shoal lab start${n} m2 · shoal lab add${n} · shoal lab partition${n} · shoal lab heal${n}`);
  printLine(`Stop it: shoal lab down${n}`);
}

function printCluster(c: ClusterReport, title: string): void {
  printLine(title);
  printLine(
    formatTable(c.members, [
      { header: 'MEMBER', value: (m) => `m${m.member}` },
      { header: 'ADDRESS', value: (m) => m.address },
      { header: 'PID', value: (m) => m.pid ?? '-' },
      { header: 'ROLE', value: (m) => m.role },
      { header: 'UNITS', value: (m) => m.units },
    ]),
  );
}

function upCommand(): Command {
  return new Command('up')
    .description('build the namespace lab only: switch, members, router, client and application host (needs root)')
    .addOption(nameOption())
    .addOption(membersOption())
    .addOption(clientAddressesOption(LAB_LIMITS.clientAddresses.default))
    .addOption(jsonOption())
    .action(async (flags: UpFlags) => {
      const lab = openLab();
      const r = await lab.up({ name: flags.name, members: flags.members, clientAddresses: flags.clientAddresses });
      if (flags.json === true) return printJson(r);
      printLine(`Lab '${flags.name}' up in ${formatMs(r.elapsedMs)} (${r.commands} commands).`);
      printStatus(r.status, []);
      printLine();
      printLine(`Start the members: shoal lab start${nameArg(flags.name)}`);
      printLine(`Try: shoal lab exec${nameArg(flags.name)} cl -- ping -c 1 ${LAB_ADDRESSES.routerOuter}`);
      printLine(`Remove: shoal lab down${nameArg(flags.name)}`);
    });
}

function downCommand(): Command {
  return new Command('down')
    .description('stop the member daemons, remove every namespace of the lab (shl-<lab>-*) and its directory; does nothing when it is down')
    .addOption(nameOption())
    .addOption(jsonOption())
    .action(async (flags: NameFlags) => {
      const r: LabDownReport = await openLab().down(flags.name);
      if (flags.json === true) return printJson(r);
      if (r.removedNamespaces.length === 0 && !r.removedStateFile && !r.removedLabDir && r.stoppedDaemons.length === 0)
        return printLine(`Lab '${flags.name}' is not up: nothing to remove.`);
      const daemons = r.stoppedDaemons.length > 0 ? `stopped ${r.stoppedDaemons.map((d) => `m${d.member} (pid ${d.pid})`).join(' ')}; ` : '';
      printLine(
        `Lab '${flags.name}' down in ${formatMs(r.elapsedMs)}: ${daemons}removed ${r.removedNamespaces.length} namespace(s)` +
          `${r.removedStateFile ? ', the state file' : ''}${r.removedLabDir ? ' and the lab directory' : ''}.`,
      );
      if (r.removedNamespaces.length > 0) printLine(`  ${r.removedNamespaces.join(' ')}`);
    });
}

function statusCommand(): Command {
  return new Command('status')
    .description('show the lab: nodes, namespaces, addresses, member daemons, certificates and the cluster addresses')
    .addOption(nameOption())
    .addOption(jsonOption())
    .action(async (flags: NameFlags) => {
      const lab = openLab();
      const s = await lab.status(flags.name);
      if (flags.json === true) return printJson(s);
      printStatus(s, await lab.members.observe(flags.name));
    });
}

function execCommand(): Command {
  return new Command('exec')
    .description("run a command in a node's namespace (sw, m1.., rt, cl, ap); exits with its exit code")
    .usage('[--name <lab>] <node> -- <command...>')
    .addOption(nameOption())
    .argument('<node>', 'sw, m1..m8, rt, cl or ap')
    .argument('<command...>', 'the program and its arguments')
    .passThroughOptions()
    .action(async (node: string, command: string[], flags: NameFlags) => {
      const argv = command[0] === '--' ? command.slice(1) : command;
      process.exitCode = await openLab().exec(flags.name, node, argv);
    });
}

function startCommand(): Command {
  return new Command('start')
    .description('start member daemons (default: every member not running) and wait until the loads are even')
    .argument('[member...]', 'm1, m2, … (each must not be running)')
    .addOption(nameOption())
    .addOption(modeOption())
    .addOption(jsonOption())
    .action(async (names: string[], flags: ModeFlags) => {
      const lab = openLab();
      const s = await lab.status(flags.name);
      const members = lab.members;
      const chosen = chosenMembers(s, names).filter((i) => names.length > 0 || !members.daemon(flags.name, i).running);
      await members.ensurePki(flags.name, s.members);
      const started: StartedMember[] = [];
      for (const i of chosen) {
        const mode = flags.mode ?? members.configuredMode(flags.name, i) ?? DEFAULT_LAB_MODE;
        await members.writeConfig(flags.name, i, mode);
        started.push(await members.start(flags.name, i));
      }
      const cluster = await members.waitForCluster(flags.name, (await members.running(flags.name)).length, LAB_DEFAULTS.clusterTimeoutMs, { balanced: true });
      if (flags.json === true) return printJson({ started, cluster });
      printLine(started.length > 0 ? `Started ${started.map((m) => `m${m.member} (pid ${m.pid})`).join(' ')}.` : 'Every member daemon was already running.');
      printCluster(cluster, `Cluster of ${cluster.members.length}, loads even after ${formatMs(cluster.elapsedMs)}; master ${cluster.master}:`);
    });
}

function killCommand(): Command {
  return new Command('kill')
    .description("kill a member's daemon with SIGKILL (by its recorded PID): the survivors take over its units")
    .argument('<member>', 'm1, m2, …')
    .addOption(nameOption())
    .addOption(jsonOption())
    .action(async (name: string, flags: NameFlags) => {
      const lab = openLab();
      const s = await lab.status(flags.name);
      const [i] = chosenMembers(s, [name]);
      if (i === undefined) return;
      const r = await lab.members.kill(flags.name, i, 'SIGKILL');
      if (flags.json === true) return printJson({ ...r, signal: 'SIGKILL' });
      printLine(`Killed m${r.member} (pid ${r.pid}) with SIGKILL. Watch the survivors: shoal lab status${nameArg(flags.name)}`);
    });
}

function addCommand(): Command {
  return new Command('add')
    .description('add one member to the running lab: its namespace, certificate and daemon; waits until it serves units')
    .addOption(nameOption())
    .addOption(modeOption())
    .addOption(jsonOption())
    .action(async (flags: ModeFlags) => {
      const lab = openLab();
      const members = lab.members;
      const grown = await lab.grow(flags.name);
      const i = grown.member;
      await members.ensurePki(flags.name, i);
      const mode = flags.mode ?? members.configuredMode(flags.name, 1) ?? DEFAULT_LAB_MODE;
      await members.writeConfig(flags.name, i, mode);
      const started = await members.start(flags.name, i);
      const cluster = await members.waitForCluster(flags.name, (await members.running(flags.name)).length, LAB_DEFAULTS.clusterTimeoutMs, { balanced: true });
      if (flags.json === true) return printJson({ member: i, grewInMs: grown.elapsedMs, started, cluster });
      printLine(`Added m${i}: namespace ${grown.status.prefix}m${i} in ${formatMs(grown.elapsedMs)}; daemon pid ${started.pid} (${mode} mode).`);
      printCluster(cluster, `Cluster of ${cluster.members.length}, loads even after ${formatMs(cluster.elapsedMs)}; master ${cluster.master}:`);
    });
}

function partitionCommand(): Command {
  return new Command('partition')
    .description('cut the interconnect (nftables in each member namespace drops the control traffic): each cut member elects itself master')
    .argument('[member...]', 'the members to cut off (default: every member)')
    .addOption(nameOption())
    .action(async (names: string[], flags: NameFlags) => {
      const lab = openLab();
      const s = await lab.status(flags.name);
      const chosen = chosenMembers(s, names);
      await lab.members.partition(flags.name, chosen);
      printLine(
        `Cut the interconnect of ${chosen.map((i) => `m${i}`).join(' ')} (UDP port ${CLUSTER.controlPort} dropped on ic0). ` +
          `See the masters: shoal lab status${nameArg(flags.name)}; undo: shoal lab heal${nameArg(flags.name)}`,
      );
    });
}

function healCommand(): Command {
  return new Command('heal')
    .description('restore the interconnect cut by `shoal lab partition`: the masters meet and one remains')
    .addOption(nameOption())
    .action(async (flags: NameFlags) => {
      const lab = openLab();
      const s = await lab.status(flags.name);
      await lab.members.heal(flags.name, memberNumbers(s));
      printLine(`Healed the interconnect of every member. See the cluster: shoal lab status${nameArg(flags.name)}`);
    });
}

function printStatus(s: LabStatus, observed: readonly MemberObservation[]): void {
  const state = s.up ? 'up' : s.phase === 'building' ? 'INCOMPLETE (a build did not finish)' : 'INCOMPLETE (namespaces missing)';
  printLine(`Lab '${s.name}': ${state}; ${s.members} member(s); namespaces ${s.prefix}*; built ${s.createdAt}`);
  const seen = new Map(observed.map((o) => [`m${o.member}`, o]));
  printLine(
    formatTable(s.nodes, [
      { header: 'NODE', value: (n) => n.node },
      { header: 'ROLE', value: (n) => n.role },
      { header: 'NAMESPACE', value: (n) => n.namespace },
      { header: 'PRESENT', value: (n) => (n.present ? 'yes' : 'NO') },
      { header: 'MEMBER ID', value: (n) => n.memberId ?? '-' },
      {
        header: 'DAEMON',
        value: (n) => (n.daemon === null ? '-' : n.daemon.pid === null ? 'not started' : n.daemon.running ? `pid ${n.daemon.pid}` : `exited (pid ${n.daemon.pid})`),
      },
      {
        header: 'CLUSTER',
        value: (n) => {
          const o = seen.get(n.node);
          if (n.role !== 'member' || o === undefined) return '-';
          return o.status === null ? 'no answer' : `${o.status.role}, ${o.status.servedUnits} units`;
        },
      },
      {
        header: 'ADDRESSES',
        value: (n) =>
          [...n.addresses, ...(n.extraAddresses === null ? [] : [`+${n.extraAddresses.count} (${n.extraAddresses.first}..${n.extraAddresses.last})`])].join(' ') ||
          '-',
      },
    ]),
  );
  const c = s.cluster;
  printLine(
    `Cluster (owned by the member daemons in userspace): outside ${c.outsideAddress}/${c.outsidePrefixLength}, ` +
      `inside gateway ${c.insideGateway}/${c.insidePrefixLength}, control ${c.controlGroup} port ${c.controlPort} on the interconnect`,
  );
  const pki = s.nodes.find((n) => n.certificates !== null)?.certificates;
  if (pki !== undefined && pki !== null) printLine(`Development PKI: CA ${pki.ca}; member certificate and key ${pki.certificate.replace(/m\d+\.pem$/, 'm<i>.pem')}, .key`);
  if (s.strayNamespaces.length > 0) printLine(`Stray namespaces with the lab's prefix: ${s.strayNamespaces.join(' ')}`);
}
