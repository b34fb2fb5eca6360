/**
 * `shoal run --config <file>` runs one member in the foreground until SIGTERM
 * or SIGINT. `shoal status | members | units` ask a running member over its
 * admin socket (`--socket`, default from SHOAL_ADMIN_SOCKET or
 * /run/shoal/shoal.sock), with `--json` for automation.
 */
import { Command } from 'commander';
import { ShoalError } from '../../../lib/errors.js';
import { askMember } from '../../admin/client.js';
import type { PlainCommand } from '../../admin/protocol.js';
import type { MemberView, StatusView, UnitsView } from '../../admin/views.js';
import { formatTable, printJson, printLine } from '../output.js';
import { defaultSocket } from './admin-query.js';

/** Where `run --flash` writes the booted personality (tmpfs on the appliance). */
export const DEFAULT_RUNTIME_DIR = '/run/shoal/personality';

export function runCommand(): Command {
  return new Command('run')
    .description('run one cluster member in the foreground (logs are JSON lines on stderr), from a config file or from the signed flash personality')
    .option('-c, --config <file>', 'member configuration (JSON)')
    .option('--flash <device>', 'boot the signed personality on this flash device directory instead (see flash-image/FORMAT.md)')
    .option('--trust-root <pem>', 'with --flash: the administrator key or certificate this box was provisioned with')
    .option('--runtime-dir <dir>', 'with --flash: where the booted personality is written', DEFAULT_RUNTIME_DIR)
    .action(async (opts: { config?: string; flash?: string; trustRoot?: string; runtimeDir: string }) => {
      if ((opts.config === undefined) === (opts.flash === undefined)) throw new ShoalError('BAD_USAGE', 'run: give either --config <file> or --flash <device>');
      if (opts.flash !== undefined && opts.trustRoot === undefined) throw new ShoalError('BAD_USAGE', 'run --flash: --trust-root <pem> is required');
      // The supervisor restarts the member in this process when its configuration changes (reload, or updated while excluded).
      const { Supervisor, fileConfigSource } = await import('../../../daemon/supervisor.js');
      const { bootFlashSource } = await import('../../../daemon/flash-source.js');
      const flash =
        opts.flash !== undefined ? await bootFlashSource({ device: opts.flash, trustRootPath: opts.trustRoot!, runtimeDir: opts.runtimeDir }) : null;
      const supervisor = await Supervisor.run(flash ?? fileConfigSource(opts.config!));
      if (flash) {
        const b = flash.booted;
        supervisor.current.logger.log('info', 'personality', {
          slot: b.slot,
          configVersion: b.configVersion,
          wasOnTrial: b.trial,
          rolledBack: b.rolledBack,
          signer: Buffer.from(b.signerKeyId).toString('hex').slice(0, 16),
        });
      }
      // The last resort behind every entry point's own guard: restart the member here rather than exit.
      const recover = (e: unknown): void => supervisor.recover(e);
      process.on('uncaughtException', recover);
      process.on('unhandledRejection', recover);
      const failed = await new Promise<Error | null>((resolve) => {
        const stop = (): void => resolve(null);
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
        void supervisor.failed.then(resolve);
      });
      process.off('uncaughtException', recover);
      process.off('unhandledRejection', recover);
      await supervisor.stop();
      if (failed) throw failed;
    });
}

function query(name: PlainCommand, description: string, show: (result: unknown) => void): Command {
  return new Command(name)
    .description(description)
    .option('-s, --socket <path>', 'admin socket of the member', defaultSocket())
    .option('--json', 'print JSON')
    .action(async (opts: { socket: string; json?: boolean }) => {
      const result = await askMember(opts.socket, name);
      if (opts.json) printJson(result);
      else show(result);
    });
}

/** Unit numbers as compact ranges: "0-3 7 9-12". */
export function unitRanges(units: readonly number[]): string {
  const out: string[] = [];
  let start = -1;
  let prev = -2;
  for (const u of [...units].sort((a, b) => a - b)) {
    if (u !== prev + 1) {
      if (start >= 0) out.push(start === prev ? `${start}` : `${start}-${prev}`);
      start = u;
    }
    prev = u;
  }
  if (start >= 0) out.push(start === prev ? `${start}` : `${start}-${prev}`);
  return out.join(' ');
}

export function queryCommands(): Command[] {
  return [
    query('status', "this member's role, master, term and counters", (r) => {
      const s = r as StatusView;
      printLine(`cluster ${s.cluster}: member ${s.self} is ${s.role}; master ${s.master ?? 'none'} (term ${s.term})`);
      printLine(`members ${s.members}, keepalives per window n=${s.n}, units served ${s.servedUnits}, key epoch ${s.keyEpoch}, config version ${s.configVersion}`);
      if (s.excluded) printLine(`excluded: ${s.excluded}`);
      const counters = Object.entries(s.counters).sort(([a], [b]) => a.localeCompare(b));
      if (counters.length > 0) printLine(formatTable(counters, [{ header: 'COUNTER', value: ([k]) => k }, { header: 'VALUE', value: ([, v]) => v }]));
    }),
    query('members', 'the members as this member sees them', (r) => {
      const rows = r as MemberView[];
      printLine(
        formatTable(rows, [
          { header: 'MEMBER', value: (m) => m.address + (m.self ? ' *' : '') },
          { header: 'ROLE', value: (m) => m.role },
          { header: 'UNITS', value: (m) => m.units },
          { header: 'LOSS P', value: (m) => (m.loss === null ? '—' : m.loss.toFixed(4)), align: 'right' },
        ]),
      );
    }),
    query('units', 'the work-unit table: units per owner, and the units this member serves', (r) => {
      const v = r as UnitsView;
      const perOwner = new Map<string, number>();
      for (const o of v.owners) perOwner.set(o ?? 'unassigned', (perOwner.get(o ?? 'unassigned') ?? 0) + 1);
      printLine(formatTable([...perOwner].sort(([a], [b]) => a.localeCompare(b)), [
        { header: 'OWNER', value: ([o]) => o },
        { header: 'UNITS', value: ([, n]) => n },
      ]));
      printLine(`${v.self} serves ${v.served.length} units: ${unitRanges(v.served) || 'none'}`);
    }),
  ];
}
