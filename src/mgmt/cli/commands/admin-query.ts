/**
 * What the commands that talk to a running member share: the admin socket
 * option (`--socket`, default from SHOAL_ADMIN_SOCKET or /run/shoal/shoal.sock),
 * `--json`, one request per run, and small formatters for people. The shell
 * runs these same commands, so its output is theirs by construction.
 */
import { Command } from 'commander';
import { DEFAULT_ADMIN_SOCKET } from '../../../daemon/config.js';
import { askMember } from '../../admin/client.js';
import type { AdminRequest } from '../../admin/protocol.js';
import { printJson } from '../output.js';

export function defaultSocket(): string {
  return process.env['SHOAL_ADMIN_SOCKET'] ?? DEFAULT_ADMIN_SOCKET;
}

export interface AdminOptions {
  socket: string;
  json?: boolean;
}

/**
 * A command that sends one request (made from its arguments and options)
 * and prints the answer: `show` for people, JSON with --json (the answer
 * as it came, or as `json` turns it).
 */
export function adminCommand<O extends AdminOptions>(
  name: string,
  description: string,
  request: (args: string[], opts: O) => AdminRequest,
  show: (result: unknown, opts: O) => void,
  json: (result: unknown) => unknown = (r) => r,
): Command {
  return new Command(name)
    .description(description)
    .option('-s, --socket <path>', 'admin socket of the member', defaultSocket())
    .option('--json', 'print JSON')
    .action(async (...params: unknown[]) => {
      // commander passes the declared arguments, then the options, then the command
      const opts = params[params.length - 2] as O;
      const args = params.slice(0, -2).map(String);
      const result = await askMember(opts.socket, request(args, opts));
      if (opts.json) printJson(json(result));
      else show(result, opts);
    });
}

/** A command whose subcommands get the settings it inherits (exit override, error output), like `lab`'s. */
class GroupCommand extends Command {
  override copyInheritedSettings(source: Command): this {
    super.copyInheritedSettings(source);
    for (const sub of this.commands) sub.copyInheritedSettings(this);
    return this;
  }
}

/** `shoal <name> <sub> …`: a group of subcommands. */
export function groupCommand(name: string, description: string, subs: readonly Command[]): Command {
  const group = new GroupCommand(name).description(description);
  for (const sub of subs) group.addCommand(sub);
  return group;
}

/** An age for people: "42s", "3m05s", "2h07m", "3d04h". */
export function formatAge(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, '0')}h`;
}

/** A byte count for people: "812 B", "4.2 KiB", "1.3 MiB", "2.0 GiB". */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}
