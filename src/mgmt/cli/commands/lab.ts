/**
 * `shoal lab`: with no subcommand, the simulated cluster demo (as `shoal sim`),
 * since the member daemons that run inside the namespace lab are not built yet.
 * `shoal lab up | down | status | exec` build, remove, show and enter the
 * namespace lab's network (src/lab/).
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { NamespaceLab, type LabDownReport, type LabStatus } from '../../../lab/lab.js';
import { DEFAULT_LAB_NAME, LAB_LIMITS, LAB_NAME_PATTERN } from '../../../lab/plan.js';
import { NodeCommandRunner } from '../../../ports/command-node.js';
import { DEMO_LIMITS } from '../../../sim/demo-options.js';
import { wholeNumber } from '../options.js';
import { formatMs, formatTable, printJson, printLine } from '../output.js';
import { jsonOption, membersOption, runAndPrint, seedOption } from './sim.js';

export const LAB_NOT_BUILT =
  'The network-namespace lab is not built yet; running the simulated cluster demo (shoal sim) instead.';

interface LabFlags {
  members: number;
  seed: number;
  json?: boolean;
}

interface NameFlags {
  name: string;
  json?: boolean;
}

interface UpFlags extends NameFlags {
  members: number;
  clientAddresses: number;
}

/**
 * The lab command hands the settings it inherits (exit override, error output)
 * on to its own subcommands. (The program enables positional options in
 * main.ts, so `shoal lab up --members 3` means up's --members, not the demo's.)
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
    .description('run the cluster lab (for now: the simulated cluster demo, as `shoal sim`); up/down/status/exec manage the namespace lab')
    .enablePositionalOptions()
    .addOption(membersOption())
    .addOption(seedOption())
    .addOption(jsonOption())
    .action(async (flags: LabFlags) => {
      const json = flags.json === true;
      // With --json stdout carries only the JSON object.
      printLine(LAB_NOT_BUILT, json ? process.stderr : process.stdout);
      if (!json) printLine();
      process.exitCode = await runAndPrint(
        { members: flags.members, seed: flags.seed, seconds: DEMO_LIMITS.seconds.default, lossPercent: DEMO_LIMITS.lossPercent.default },
        json,
      );
    });
  for (const sub of [upCommand(), downCommand(), statusCommand(), execCommand()]) lab.addCommand(sub);
  return lab;
}

function nameOption(): Option {
  return new Option('--name <lab>', `lab name: namespaces are shl-<lab>-*`).default(DEFAULT_LAB_NAME).argParser((value: string) => {
    if (!LAB_NAME_PATTERN.test(value) || value.length > LAB_LIMITS.nameMaxLength)
      throw new InvalidArgumentError(`expected 1 to ${LAB_LIMITS.nameMaxLength} lower-case letters and digits.`);
    return value;
  });
}

function openLab(): NamespaceLab {
  return new NamespaceLab({ runner: new NodeCommandRunner() });
}

function upCommand(): Command {
  const m = LAB_LIMITS.members;
  const c = LAB_LIMITS.clientAddresses;
  return new Command('up')
    .description('build the namespace lab: switch, members, router, client and application host (needs root)')
    .addOption(nameOption())
    .addOption(new Option('--members <n>', `member namespaces (${m.min}..${m.max})`).default(m.default).argParser(wholeNumber(m.min, m.max)))
    .addOption(
      new Option('--client-addresses <k>', `extra client addresses from 198.18.16.10 up (${c.min}..${c.max})`)
        .default(c.default)
        .argParser(wholeNumber(c.min, c.max)),
    )
    .addOption(jsonOption())
    .action(async (flags: UpFlags) => {
      const lab = openLab();
      const r = await lab.up({ name: flags.name, members: flags.members, clientAddresses: flags.clientAddresses });
      if (flags.json === true) return printJson(r);
      printLine(`Lab '${flags.name}' up in ${formatMs(r.elapsedMs)} (${r.commands} commands).`);
      printStatus(r.status);
      printLine();
      printLine(`Try: shoal lab exec --name ${flags.name} cl -- ping -c 1 198.18.1.1`);
      printLine(`Remove: shoal lab down --name ${flags.name}`);
    });
}

function downCommand(): Command {
  return new Command('down')
    .description("remove every namespace of the lab (shl-<lab>-*), with or without its state file; does nothing when it is down")
    .addOption(nameOption())
    .addOption(jsonOption())
    .action(async (flags: NameFlags) => {
      const r: LabDownReport = await openLab().down(flags.name);
      if (flags.json === true) return printJson(r);
      if (r.removedNamespaces.length === 0 && !r.removedStateFile) return printLine(`Lab '${flags.name}' is not up: nothing to remove.`);
      printLine(`Lab '${flags.name}' down in ${formatMs(r.elapsedMs)}: removed ${r.removedNamespaces.length} namespace(s)${r.removedStateFile ? ' and the state file' : ''}.`);
      if (r.removedNamespaces.length > 0) printLine(`  ${r.removedNamespaces.join(' ')}`);
    });
}

function statusCommand(): Command {
  return new Command('status')
    .description('show the lab: nodes, namespaces, addresses and the cluster addresses')
    .addOption(nameOption())
    .addOption(jsonOption())
    .action(async (flags: NameFlags) => {
      const s = await openLab().status(flags.name);
      if (flags.json === true) return printJson(s);
      printStatus(s);
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

function printStatus(s: LabStatus): void {
  const state = s.up ? 'up' : s.phase === 'building' ? 'INCOMPLETE (a build did not finish)' : 'INCOMPLETE (namespaces missing)';
  printLine(`Lab '${s.name}': ${state}; ${s.members} member(s); namespaces ${s.prefix}*; built ${s.createdAt}`);
  printLine(
    formatTable(s.nodes, [
      { header: 'NODE', value: (n) => n.node },
      { header: 'ROLE', value: (n) => n.role },
      { header: 'NAMESPACE', value: (n) => n.namespace },
      { header: 'PRESENT', value: (n) => (n.present ? 'yes' : 'NO') },
      { header: 'MEMBER ID', value: (n) => n.memberId ?? '-' },
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
  if (s.strayNamespaces.length > 0) printLine(`Stray namespaces with the lab's prefix: ${s.strayNamespaces.join(' ')}`);
}
