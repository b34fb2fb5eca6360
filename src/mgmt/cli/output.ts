/**
 * How the CLI prints: aligned tables and JSON on stdout, one-line errors on
 * stderr, and the exit codes every command uses.
 */

export const EXIT_OK = 0;
/** The command ran but what it checked failed (e.g. the cluster did not converge). */
export const EXIT_FAILED = 1;
/** Bad usage: unknown command or option, or an option value out of range. */
export const EXIT_USAGE = 2;

export interface Column<T> {
  header: string;
  value: (row: T) => string | number;
  /** Default: right for numbers, left otherwise. */
  align?: 'left' | 'right';
}

export interface Writer {
  write(text: string): unknown;
}

/** Rows as aligned text columns, header first, each line indented by `indent`. */
export function formatTable<T>(rows: readonly T[], columns: readonly Column<T>[], indent = '  '): string {
  const cells = rows.map((r) => columns.map((c) => c.value(r)));
  const right = columns.map((c, i) => c.align === 'right' || (c.align === undefined && cells.some((row) => typeof row[i] === 'number')));
  const text = [columns.map((c) => c.header), ...cells.map((row) => row.map(String))];
  const widths = columns.map((_, i) => Math.max(...text.map((line) => (line[i] ?? '').length)));
  return text
    .map((line) =>
      indent +
      line
        .map((cell, i) => (right[i] ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function printLine(text = '', out: Writer = process.stdout): void {
  out.write(`${text}\n`);
}

export function printJson(value: unknown, out: Writer = process.stdout): void {
  out.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** One line on stderr, "shoal: <message>", whatever the message holds. */
export function printError(message: string, err: Writer = process.stderr): void {
  err.write(`shoal: ${message.replace(/\s*\n\s*/g, ' ').trim()}\n`);
}

/** Milliseconds for people: "433 ms", "1.9 s"; "—" for none. */
export function formatMs(ms: number | null): string {
  if (ms === null) return '—';
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}
