/**
 * What the `shoal lab` subcommands share: the lab's defaults, the options
 * (--name, --members, --client-addresses, --mode), choosing members by name,
 * the hints that repeat --name, and the cluster table they print.
 *
 * Kept apart from lab.ts so the subcommand files (lab-topology.ts,
 * lab-members.ts) and bare `shoal lab` use one definition of each.
 */
import { InvalidArgumentError, Option } from 'commander';
import { NamespaceLab, type LabStatus } from '../../../lab/lab.js';
import { parseLabMode, parseMemberName, type ClusterReport, type LabMode } from '../../../lab/members.js';
import { DEFAULT_LAB_NAME, LAB_ADDRESSES, LAB_LIMITS, LAB_NAME_PATTERN } from '../../../lab/plan.js';
import { ShoalError } from '../../../lib/errors.js';
import { NodeCommandRunner } from '../../../ports/command-node.js';
import { wholeNumber } from '../options.js';
import { formatTable, printLine } from '../output.js';

/** What bare `shoal lab` builds and sends when the lab is not up yet. */
export const LAB_DEFAULTS = {
  clientAddresses: 200,
  demoAddresses: 200,
  demoPorts: 5,
  demoWaitMs: 2000,
  /** Forming plus the master's first rebalance (every 2 s) fits well inside this. */
  clusterTimeoutMs: 20_000,
} as const;

export interface NameFlags {
  name: string;
  json?: boolean;
}

export interface UpFlags extends NameFlags {
  members: number;
  clientAddresses: number;
}

export interface LabFlags extends UpFlags {
  mode: LabMode;
}

export interface ModeFlags extends NameFlags {
  mode?: LabMode;
}

export function nameOption(): Option {
  return new Option('--name <lab>', `lab name: namespaces are shl-<lab>-*`).default(DEFAULT_LAB_NAME).argParser((value: string) => {
    if (!LAB_NAME_PATTERN.test(value) || value.length > LAB_LIMITS.nameMaxLength)
      throw new InvalidArgumentError(`expected 1 to ${LAB_LIMITS.nameMaxLength} lower-case letters and digits.`);
    return value;
  });
}

export function membersOption(): Option {
  const m = LAB_LIMITS.members;
  return new Option('--members <n>', `member namespaces (${m.min}..${m.max})`).default(m.default).argParser(wholeNumber(m.min, m.max));
}

export function clientAddressesOption(fallback: number): Option {
  const c = LAB_LIMITS.clientAddresses;
  return new Option('--client-addresses <k>', `extra client addresses from ${LAB_ADDRESSES.clientExtraFirst} up (${c.min}..${c.max})`)
    .default(fallback)
    .argParser(wholeNumber(c.min, c.max));
}

export function modeOption(): Option {
  return new Option('--mode <mode>', 'how frames for the cluster address reach the members: unicast, multicast (every member sees them) or forwarding (the master forwards)').argParser((value: string) => {
    try {
      return parseLabMode(value);
    } catch (e) {
      throw new InvalidArgumentError(e instanceof Error ? e.message : String(e));
    }
  });
}

export function openLab(): NamespaceLab {
  return new NamespaceLab({ runner: new NodeCommandRunner() });
}

/** ` --name x` when x is not the default lab: what the printed hints need. */
export function nameArg(name: string): string {
  return name === DEFAULT_LAB_NAME ? '' : ` --name ${name}`;
}

export function memberNumbers(s: LabStatus): number[] {
  return Array.from({ length: s.members }, (_, k) => k + 1);
}

/** Member names from the command line, each checked against the lab's members. */
export function chosenMembers(s: LabStatus, names: readonly string[]): number[] {
  if (names.length === 0) return memberNumbers(s);
  const chosen = [...new Set(names.map(parseMemberName))].sort((a, b) => a - b);
  const unknown = chosen.filter((i) => i > s.members);
  if (unknown.length > 0)
    throw new ShoalError('LAB_UNKNOWN_NODE', `lab '${s.name}' has members m1..m${s.members}, not ${unknown.map((i) => `m${i}`).join(' ')}`);
  return chosen;
}

export function printCluster(c: ClusterReport, title: string): void {
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
