/**
 * Structured logs: one JSON object per line with time, level, event and
 * fields, so they can be grepped by people and parsed by machines.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  log(level: LogLevel, event: string, fields?: Record<string, unknown>): void;
}

export function jsonLogger(write: (line: string) => void, minLevel: LogLevel = 'info', base: Record<string, unknown> = {}): Logger {
  return {
    log(level, event, fields = {}) {
      if (RANK[level] < RANK[minLevel]) return;
      write(`${JSON.stringify({ time: new Date().toISOString(), level, event, ...base, ...fields })}\n`);
    },
  };
}

export const silentLogger: Logger = { log: () => undefined };
