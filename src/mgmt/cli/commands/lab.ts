/**
 * `shoal lab`: with no subcommand, the cluster for real. It builds the
 * namespace lab unless it is up, makes a throwaway development PKI, starts one
 * member daemon per member namespace, waits for one cluster with every unit
 * served once, sends UDP echo flows from the client namespace to the cluster
 * address, prints what happened, and leaves the cluster running.
 *
 *   up | down | status | exec      the lab's network (src/lab/lab.ts); down also stops the daemons (lab-topology.ts)
 *   start [member…] | kill <member> | add | partition [member…] | heal
 *                                  the member daemons (src/lab/members.ts; lab-members.ts)
 *
 * The simulated cluster demo is `shoal sim`.
 */
import { join } from 'node:path';
import { Command } from 'commander';
import type { LabStatus, LabUpReport } from '../../../lab/lab.js';
import { DEFAULT_LAB_MODE, type ClusterReport, type LabMode, type PkiReport, type StartedMember, type TrafficReport } from '../../../lab/members.js';
import { CLUSTER, LAB_ADDRESSES } from '../../../lab/plan.js';
import { runVpnDemo, strongSwanInstalled, type VpnDemoReport } from '../../../lab/vpn-demo.js';
import { ShoalError } from '../../../lib/errors.js';
import { EXIT_FAILED, EXIT_OK, formatMs, printJson, printLine } from '../output.js';
import { addCommand, healCommand, killCommand, partitionCommand, startCommand } from './lab-members.js';
import {
  clientAddressesOption,
  LAB_DEFAULTS,
  memberNumbers,
  membersOption,
  modeOption,
  nameArg,
  nameOption,
  openLab,
  printCluster,
  type LabFlags,
} from './lab-shared.js';
import { downCommand, execCommand, statusCommand, upCommand } from './lab-topology.js';
import { jsonOption } from './sim.js';

export { LAB_DEFAULTS } from './lab-shared.js';

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
  /** The real IPsec client's tunnel; null when strongSwan is not installed. */
  vpn: VpnDemoReport | null;
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
  const vpn = strongSwanInstalled()
    ? await runVpnDemo({ namespace: `${status.prefix}cl`, dir: join(members.labDir(name), 'client-strongswan'), pkiDir: members.pkiDir(name) })
    : null;
  const report: LabRunReport = {
    name,
    labDir: members.labDir(name),
    built,
    pki,
    mode: flags.mode,
    started,
    cluster,
    traffic,
    vpn,
    elapsedMs: performance.now() - t0,
  };
  if (flags.json === true) printJson(report);
  else printLabRun(report, status, membersGiven ? flags.members : null);
  const trafficOk = traffic.missing === 0 && traffic.duplicated === 0;
  return trafficOk && (vpn === null || vpn.ok) ? EXIT_OK : EXIT_FAILED;
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
  const v = r.vpn;
  if (v === null) {
    printLine('IPsec: strongSwan is not installed, so no real client was connected (apt-get install charon-systemd strongswan-swanctl libcharon-extra-plugins).');
  } else {
    printLine(`IPsec: a strongSwan client (${v.client}, ECDSA) in the client namespace connected to ${CLUSTER.outsideAddress} with ${v.proposals.ike} / ${v.proposals.esp}:`);
    if (v.error !== undefined) printLine(`  failed: ${v.error}`);
    else
      printLine(
        `  up in ${formatMs(v.connectMs)}, virtual address ${v.virtualAddress ?? '—'}, IKE SA ${v.responderSpi}; ` +
          `ping ${v.ping.target} through the tunnel: ${v.ping.received}/${v.ping.sent} answered${v.ping.avgMs === null ? '' : `, ${v.ping.avgMs.toFixed(1)} ms average`}; ` +
          `ESP packets in/out at the client ${v.esp.packetsIn}/${v.esp.packetsOut}`,
      );
  }
  const ok = t.missing === 0 && t.duplicated === 0 && (v === null || v.ok);
  printLine(ok ? 'Result: OK' : t.missing === 0 && t.duplicated === 0 ? 'Result: FAILED (the IPsec client did not pass traffic)' : 'Result: FAILED (some flows were not answered exactly once)');
  printLine();
  printLine('The cluster keeps running. Look around:');
  printLine(`  shoal lab status${n}`);
  printLine(`  shoal lab exec${n} cl -- ping -c1 ${CLUSTER.outsideAddress}`);
  printLine(`  the IPsec client again: its swanctl.conf and credentials are in ${r.labDir}/client-strongswan`);
  printLine(`  shoal status --socket ${r.labDir}/m1.sock        (also: members, units)`);
  printLine(`  shoal lab kill${n} m2 · shoal lab start${n} m2 · shoal lab add${n} · shoal lab partition${n} · shoal lab heal${n}`);
  printLine(`Stop it: shoal lab down${n}`);
}
