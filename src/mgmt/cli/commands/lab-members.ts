/**
 * `shoal lab start | kill | add | partition | heal`: the member daemons
 * (src/lab/members.ts). start and add wait until the loads are even again;
 * kill uses the recorded PID (never a reused one); partition and heal cut and
 * restore the interconnect with nftables inside the member namespaces.
 */
import { Command } from 'commander';
import { DEFAULT_LAB_MODE, type StartedMember } from '../../../lab/members.js';
import { CLUSTER } from '../../../lab/plan.js';
import { formatMs, printJson, printLine } from '../output.js';
import { chosenMembers, LAB_DEFAULTS, memberNumbers, modeOption, nameArg, nameOption, openLab, printCluster, type ModeFlags, type NameFlags } from './lab-shared.js';
import { jsonOption } from './sim.js';

export function startCommand(): Command {
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

export function killCommand(): Command {
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

export function addCommand(): Command {
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

export function partitionCommand(): Command {
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

export function healCommand(): Command {
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
