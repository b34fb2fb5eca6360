/**
 * `shoal lab up | down | status | exec`: the lab's network (src/lab/lab.ts).
 * up builds the namespaces only; down also stops the member daemons; status
 * shows every node with its daemon and what it says of the cluster; exec runs
 * a command in a node's namespace and exits with its exit code.
 */
import { Command } from 'commander';
import type { LabDownReport, LabStatus } from '../../../lab/lab.js';
import type { MemberObservation } from '../../../lab/members.js';
import { LAB_ADDRESSES, LAB_LIMITS } from '../../../lab/plan.js';
import { formatMs, formatTable, printJson, printLine } from '../output.js';
import { clientAddressesOption, membersOption, nameArg, nameOption, openLab, type NameFlags, type UpFlags } from './lab-shared.js';
import { jsonOption } from './sim.js';

export function upCommand(): Command {
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

export function downCommand(): Command {
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

export function statusCommand(): Command {
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

export function execCommand(): Command {
  return new Command('exec')
    .description("run a command in a node's namespace (sw, m1.., rt, cl, ap); exits with its exit code")
    .usage('[--name <lab>] <node> -- <command...>')
    .addOption(nameOption())
    .argument('<node>', 'sw, m1..m16, rt, cl or ap')
    .argument('<command...>', 'the program and its arguments')
    .passThroughOptions()
    .action(async (node: string, command: string[], flags: NameFlags) => {
      const argv = command[0] === '--' ? command.slice(1) : command;
      process.exitCode = await openLab().exec(flags.name, node, argv);
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
