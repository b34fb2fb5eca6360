/**
 * `shoal lab`: the network-namespace lab (real members on veth links) is a
 * later issue; until it exists this runs the simulated cluster demo instead.
 */
import { Command } from 'commander';
import { DEMO_LIMITS } from '../../../sim/demo-options.js';
import { printLine } from '../output.js';
import { jsonOption, membersOption, runAndPrint, seedOption } from './sim.js';

export const LAB_NOT_BUILT =
  'The network-namespace lab is not built yet; running the simulated cluster demo (shoal sim) instead.';

interface LabFlags {
  members: number;
  seed: number;
  json?: boolean;
}

export function labCommand(): Command {
  return new Command('lab')
    .description('run the cluster lab (for now: the simulated cluster demo, as `shoal sim`)')
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
}
