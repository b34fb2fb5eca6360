/**
 * Structured logs: one JSON object per line with time, level, event and
 * fields, so they can be grepped by people and parsed by machines. The
 * daemon also keeps the newest lines in a bounded ring, which `shoal log`
 * and the shell's `show log` read over the admin socket (a box on a serial
 * console may have nowhere else to look).
 *
 * Every field passes through log-safe.ts on its way in: strings from the
 * network are escaped and cut there, once, for every call site.
 */
import { safeLogFields, safeLogString } from './log-safe.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function isLogLevel(x: unknown): x is LogLevel {
  return typeof x === 'string' && (LOG_LEVELS as readonly string[]).includes(x);
}

/** Whether a line of `level` passes a filter at `min`. */
export function atLeast(level: LogLevel, min: LogLevel): boolean {
  return RANK[level] >= RANK[min];
}

export interface Logger {
  log(level: LogLevel, event: string, fields?: Record<string, unknown>): void;
}

/** Lines the daemon keeps for `shoal log`. */
export const LOG_RING_LINES = 2000;

/** The newest `capacity` log lines (without their newline), oldest dropped first. */
export class LogRing {
  private readonly lines: { level: LogLevel; line: string }[] = [];
  private start = 0;

  constructor(readonly capacity = LOG_RING_LINES) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`log ring capacity must be >= 1: ${capacity}`);
  }

  push(level: LogLevel, line: string): void {
    if (this.lines.length < this.capacity) this.lines.push({ level, line });
    else {
      this.lines[this.start] = { level, line };
      this.start = (this.start + 1) % this.capacity;
    }
  }

  /** The last `n` lines at `minLevel` or above, oldest first. */
  last(n: number, minLevel: LogLevel = 'debug'): string[] {
    const out: string[] = [];
    for (let k = this.lines.length - 1; k >= 0 && out.length < n; k--) {
      const e = this.lines[(this.start + k) % this.lines.length]!;
      if (atLeast(e.level, minLevel)) out.push(e.line);
    }
    return out.reverse();
  }
}

export function jsonLogger(write: (line: string) => void, minLevel: LogLevel = 'info', base: Record<string, unknown> = {}, ring?: LogRing): Logger {
  const safeBase = safeLogFields(base);
  return {
    log(level, event, fields = {}) {
      if (!atLeast(level, minLevel)) return;
      const line = JSON.stringify({ time: new Date().toISOString(), level, event: safeLogString(event), ...safeBase, ...safeLogFields(fields) });
      ring?.push(level, line);
      write(`${line}\n`);
    },
  };
}

export const silentLogger: Logger = { log: () => undefined };
