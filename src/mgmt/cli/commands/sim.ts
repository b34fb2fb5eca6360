/** `shoal sim`: the deterministic simulated cluster demo (src/sim/demo.ts), as tables or JSON. */
import { Command, Option } from 'commander';
import type { DemoReport } from '../../../sim/demo.js';
import { DEMO_LIMITS, type DemoOptions } from '../../../sim/demo-options.js';
import { decimalNumber, wholeNumber } from '../options.js';
import { EXIT_FAILED, EXIT_OK, formatMs, formatTable, printJson, printLine } from '../output.js';

const L = DEMO_LIMITS;

export function membersOption(): Option {
  return new Option('--members <n>', `members at the start, 198.18.0.1 upwards (${L.members.min}..${L.members.max})`)
    .default(L.members.default)
    .argParser(wholeNumber(L.members.min, L.members.max));
}

export function seedOption(): Option {
  return new Option('--seed <s>', 'simulator seed: the same seed gives the same run')
    .default(L.seed.default)
    .argParser(wholeNumber(L.seed.min, L.seed.max));
}

export function jsonOption(): Option {
  return new Option('--json', 'print one JSON object instead of tables');
}

interface SimFlags {
  members: number;
  seed: number;
  seconds: number;
  loss: number;
  json?: boolean;
}

export function simCommand(): Command {
  return new Command('sim')
    .description('run the simulated cluster demo: form, kill the master, add a member, check the invariants')
    .addOption(membersOption())
    .addOption(seedOption())
    .addOption(
      new Option('--seconds <t>', `simulated seconds to run at least (the phases take about 9)`)
        .default(L.seconds.default)
        .argParser(decimalNumber(L.seconds.min, L.seconds.max)),
    )
    .addOption(
      new Option('--loss <pct>', 'datagram loss on the simulated interconnect, percent')
        .default(L.lossPercent.default)
        .argParser(decimalNumber(L.lossPercent.min, L.lossPercent.max)),
    )
    .addOption(jsonOption())
    .action(async (flags: SimFlags) => {
      process.exitCode = await runAndPrint(
        { members: flags.members, seed: flags.seed, seconds: flags.seconds, lossPercent: flags.loss },
        flags.json === true,
      );
    });
}

/** Run the demo and print it; the exit code (0 when the cluster converged and stayed safe). */
export async function runAndPrint(options: DemoOptions, json: boolean): Promise<number> {
  // Loaded here, not at start-up: the cluster core and the certificate library take half a second to load.
  const { runDemo } = await import('../../../sim/demo.js');
  const report = await runDemo(options);
  if (json) printJson(report);
  else printReport(report);
  return report.ok ? EXIT_OK : EXIT_FAILED;
}

export function printReport(r: DemoReport): void {
  const o = r.options;
  printLine(`Simulated cluster: ${o.members} member${o.members === 1 ? '' : 's'}, seed ${o.seed}, ${o.lossPercent}% loss, ${r.unitCount} units`);
  printLine();

  const f = r.formation;
  printLine(
    f.converged
      ? `Formed in ${formatMs(f.convergedAfterMs)}; master ${f.master ?? '—'}. After the first rebalance round:`
      : `Did not form in time; master ${f.master ?? 'none'}:`,
  );
  printLine(
    formatTable(f.members, [
      { header: 'MEMBER', value: (m) => m.id },
      { header: 'ROLE', value: (m) => m.role },
      { header: 'UNITS', value: (m) => m.units },
      { header: 'N', value: (m) => m.n },
    ]),
  );
  printLine();

  const k = r.failover;
  if (k === null) {
    printLine('Failover: skipped (one member: nobody to take over).');
  } else {
    printLine(`Killed master ${k.killed} (it served ${k.orphanedUnits} units):`);
    printLine(`  new master ${k.newMaster ?? 'none'} after ${formatMs(k.newMasterAfterMs)}`);
    printLine(`  all ${r.unitCount} units served again after ${formatMs(k.allUnitsServedAfterMs)}`);
  }
  printLine();

  const j = r.join;
  printLine(
    `Added member ${j.added}: joined after ${formatMs(j.joinedAfterMs)}; ` +
      (j.evenAfterMs === null ? 'loads not even after the next rebalance round.' : `loads even ${formatMs(j.evenAfterMs)} later (next rebalance round):`),
  );
  printLine(
    formatTable(j.loads, [
      { header: 'MEMBER', value: (l) => l.id },
      { header: 'BEFORE', value: (l) => l.before },
      { header: 'AFTER', value: (l) => l.after },
    ]),
  );
  printLine(`  spread ${j.spread} unit${j.spread === 1 ? '' : 's'}`);
  printLine();

  const e = r.final;
  printLine(
    `At ${formatMs(e.atMs)}: master ${e.master ?? 'none'}; units per member ` +
      (e.members.map((m) => `${m.id}=${m.units}`).join(' ') || 'none'),
  );
  const i = r.invariants;
  printLine(`Invariants: ${i.converged ? 'converged (one master, all members agree, every unit served exactly once)' : `NOT converged: ${i.why}`}`);
  printLine(`Safety: ${i.safetyViolation ?? 'held after every event'}; double service ${formatMs(i.doubleServedMs)}`);
  for (const w of r.warnings) printLine(`Warning: ${w}`);
  const s = r.speed;
  printLine(
    `Speed: ${s.simulatedSeconds.toFixed(1)} simulated s in ${s.wallSeconds.toFixed(2)} wall s ` +
      `(${s.ratio.toFixed(1)} simulated s per wall s, ${s.events} events)`,
  );
  printLine(r.ok ? 'Result: OK' : `Result: FAILED: ${r.problem}`);
}
