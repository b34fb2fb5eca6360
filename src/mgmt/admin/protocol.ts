/**
 * The admin socket protocol (version 2): a Unix stream socket; the client
 * sends one JSON line `{"command": "...", "args": {...}}` (`args` only where
 * the command takes some), the daemon answers one JSON line
 * `{"ok": true, "result": ...}` or `{"ok": false, "error": "..."}` and closes.
 * Version 1 requests (`{"command"}` alone) are version 2 requests without args.
 *
 *   status | members | units           the cluster as this member sees it
 *   tunnels | sessions | counters      its IKE SAs, CHILD SAs, traffic and drops
 *   log {lines, level}                 the newest lines of its log ring
 *   cluster-leave | cluster-join       stop serving and leave the cluster / join again
 *   tunnel-kill {id}                   delete an IKE SA (the client is sent a Delete)
 *   reload                             re-read the config source; restart the member if it changed
 *
 * Parsing is pure and total: every line yields a request or a one-line error.
 */
import { LOG_RING_LINES, isLogLevel, type LogLevel } from '../log.js';

export const ADMIN_COMMANDS = ['status', 'members', 'units', 'tunnels', 'sessions', 'counters', 'log', 'cluster-leave', 'cluster-join', 'tunnel-kill', 'reload'] as const;
export type AdminCommand = (typeof ADMIN_COMMANDS)[number];

/** The commands that take no args. */
export type PlainCommand = Exclude<AdminCommand, 'log' | 'tunnel-kill'>;

export type AdminRequest =
  | { command: PlainCommand }
  | { command: 'log'; args: LogArgs }
  | { command: 'tunnel-kill'; args: { id: string } };

export interface LogArgs {
  /** How many lines, newest last. */
  lines: number;
  /** Only lines at this level or above. */
  level: LogLevel;
}

export type AdminReply = { ok: true; result: unknown } | { ok: false; error: string };

/** Largest request accepted: commands are tiny; anything bigger is not a client of ours. */
export const MAX_REQUEST_BYTES = 4096;

export const DEFAULT_LOG_ARGS: LogArgs = { lines: 50, level: 'debug' };

/** A tunnel id: the responder's IKE SPI, 8 bytes in hex, as `tunnels` shows it. */
const TUNNEL_ID = /^[0-9a-f]{16}$/;

export function isAdminCommand(x: unknown): x is AdminCommand {
  return typeof x === 'string' && (ADMIN_COMMANDS as readonly string[]).includes(x);
}

type Parsed = { ok: true; request: AdminRequest } | { ok: false; error: string };

/** One request line (without its newline). */
export function parseAdminRequest(line: string): Parsed {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return { ok: false, error: 'request is not JSON' };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ok: false, error: 'request is not a JSON object' };
  const { command, args } = raw as { command?: unknown; args?: unknown };
  if (!isAdminCommand(command)) return { ok: false, error: `unknown command ${JSON.stringify(command) ?? 'undefined'}` };
  if (args !== undefined && (typeof args !== 'object' || args === null || Array.isArray(args))) return { ok: false, error: `${command}: args must be a JSON object` };
  const a = (args ?? {}) as Record<string, unknown>;
  switch (command) {
    case 'log':
      return parseLogArgs(a);
    case 'tunnel-kill': {
      const unknown = unknownKeys(a, ['id']);
      if (unknown) return { ok: false, error: `tunnel-kill: unknown argument '${unknown}'` };
      const id = typeof a['id'] === 'string' ? a['id'].toLowerCase() : undefined;
      if (id === undefined || !TUNNEL_ID.test(id)) return { ok: false, error: `tunnel-kill: id must be a tunnel id (16 hex digits, as 'tunnels' shows it), not ${JSON.stringify(a['id']) ?? 'missing'}` };
      return { ok: true, request: { command, args: { id } } };
    }
    default: {
      const unknown = unknownKeys(a, []);
      if (unknown) return { ok: false, error: `${command}: unknown argument '${unknown}'` };
      return { ok: true, request: { command } };
    }
  }
}

function parseLogArgs(a: Record<string, unknown>): Parsed {
  const unknown = unknownKeys(a, ['lines', 'level']);
  if (unknown) return { ok: false, error: `log: unknown argument '${unknown}'` };
  const lines = a['lines'] ?? DEFAULT_LOG_ARGS.lines;
  if (typeof lines !== 'number' || !Number.isInteger(lines) || lines < 1 || lines > LOG_RING_LINES) {
    return { ok: false, error: `log: lines must be a whole number from 1 to ${LOG_RING_LINES}` };
  }
  const level = a['level'] ?? DEFAULT_LOG_ARGS.level;
  if (!isLogLevel(level)) return { ok: false, error: `log: level must be one of debug, info, warn, error` };
  return { ok: true, request: { command: 'log', args: { lines, level } } };
}

function unknownKeys(a: Record<string, unknown>, known: readonly string[]): string | undefined {
  return Object.keys(a).find((k) => !known.includes(k));
}

/** The request line a client sends (with its newline). */
export function encodeAdminRequest(request: AdminRequest): string {
  return `${JSON.stringify(request)}\n`;
}
