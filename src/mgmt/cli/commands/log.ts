/**
 * `shoal log`: the newest lines of a member's log ring (the JSON lines it
 * also writes to stderr), filtered by level: `shoal log --level warn -n 20`.
 * People get one aligned line per entry; --json gives the entries as objects.
 */
import { Option, type Command } from 'commander';
import { LOG_LEVELS, LOG_RING_LINES, type LogLevel } from '../../log.js';
import { DEFAULT_LOG_ARGS } from '../../admin/protocol.js';
import { wholeNumber } from '../options.js';
import { printLine } from '../output.js';
import { adminCommand, type AdminOptions } from './admin-query.js';

interface LogOptions extends AdminOptions {
  lines: number;
  level: LogLevel;
}

/** A log line for people: "<time> <LEVEL> <event> key=value …"; a line that is not JSON as it is. */
export function formatLogLine(line: string): string {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch {
    return line;
  }
  if (typeof o !== 'object' || o === null) return line;
  const { time, level, event, ...fields } = o as Record<string, unknown>;
  const rest = Object.entries(fields).map(([k, v]) => `${k}=${typeof v === 'string' && /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v)}`);
  return [String(time ?? ''), String(level ?? '').toUpperCase().padEnd(5), String(event ?? ''), ...rest].join(' ');
}

export function logCommand(): Command {
  return adminCommand<LogOptions>(
    'log',
    "the newest lines of this member's log (kept in memory; the full log is the daemon's stderr)",
    (_args, o) => ({ command: 'log', args: { lines: o.lines, level: o.level } }),
    (r) => {
      const lines = r as string[];
      if (lines.length === 0) printLine('no log lines at that level');
      for (const l of lines) printLine(formatLogLine(l));
    },
    (lines) => (lines as string[]).map((l) => JSON.parse(l) as unknown),
  )
    .addOption(new Option('-n, --lines <n>', 'how many lines').argParser(wholeNumber(1, LOG_RING_LINES)).default(DEFAULT_LOG_ARGS.lines))
    .addOption(new Option('--level <level>', 'only lines at this level or above').choices(LOG_LEVELS).default(DEFAULT_LOG_ARGS.level));
}
