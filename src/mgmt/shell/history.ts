/**
 * The shell's history file (~/.shoal_history): one command per line, oldest
 * first like bash's, at most HISTORY_MAX lines, readable by its owner only.
 * readline keeps its history newest first; these convert at the edge.
 */
import { chmodSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const HISTORY_MAX = 1000;

export function defaultHistoryFile(): string {
  return join(process.env['HOME'] ?? homedir(), '.shoal_history');
}

/** readline's initial history (newest first); none when the file is missing or unreadable. */
export function loadHistory(path: string, max = HISTORY_MAX): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .slice(-max)
    .reverse();
}

/**
 * Writes readline's history (newest first) to `path`: blanks trimmed from the
 * ends (a completed word leaves one), each command once (its newest use),
 * bounded; replaced whole, so a reader never sees half.
 */
export function saveHistory(path: string, newestFirst: readonly string[], max = HISTORY_MAX): void {
  const seen = new Set<string>();
  const kept: string[] = [];
  for (const line of newestFirst) {
    const l = line.trim();
    if (l === '' || seen.has(l)) continue;
    seen.add(l);
    kept.push(l);
    if (kept.length === max) break;
  }
  const lines = kept.reverse();
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, lines.length === 0 ? '' : `${lines.join('\n')}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}
