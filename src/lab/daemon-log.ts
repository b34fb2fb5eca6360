/**
 * Reading the member daemons' JSON logs (src/mgmt/log.ts, one file per member
 * in the lab directory) from a byte offset on: what the lab benches and the
 * lab tests time events by. Each line's `time` is the daemon's wall clock, so
 * it compares with the wall-clock ms of any other process on the machine.
 */
import { open, stat } from 'node:fs/promises';

/** One line of a daemon's JSON log (src/mgmt/log.ts), with its time as wall-clock ms. */
export interface LogLine {
  at: number;
  level: string;
  event: string;
  fields: Record<string, unknown>;
}

export async function fileSize(file: string): Promise<number> {
  return stat(file).then(
    (s) => s.size,
    () => 0,
  );
}

/** The JSON log lines written to `file` after byte `offset` (other lines, e.g. a crash trace, are skipped). */
export async function logLinesSince(file: string, offset: number): Promise<LogLine[]> {
  const f = await open(file, 'r');
  let text: string;
  try {
    const size = (await f.stat()).size;
    const buf = Buffer.alloc(Math.max(0, size - offset));
    await f.read(buf, 0, buf.length, offset);
    text = buf.toString('utf8');
  } finally {
    await f.close();
  }
  const lines: LogLine[] = [];
  for (const raw of text.split('\n')) {
    if (!raw.startsWith('{')) continue;
    try {
      const o = JSON.parse(raw) as Record<string, unknown>;
      const at = typeof o.time === 'string' ? Date.parse(o.time) : NaN;
      if (typeof o.event === 'string' && Number.isFinite(at)) lines.push({ at, level: String(o.level), event: o.event, fields: o });
    } catch {
      // a partly written last line: the next poll reads it whole
    }
  }
  return lines;
}
