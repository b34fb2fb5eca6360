/**
 * The Prometheus text exposition format, version 0.0.4: pure formatting of
 * metric families into the body a scraper reads.
 *
 *   # HELP shoal_drops_total Packets dropped, by layer and reason.
 *   # TYPE shoal_drops_total counter
 *   shoal_drops_total{layer="host",reason="not-mine"} 12
 *
 * HELP text escapes backslash and newline; label values escape backslash,
 * double quote and newline (the format's only escapes). Names are checked:
 * a bad one is a programming error, thrown at once rather than scraped wrong.
 */

export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export type MetricType = 'counter' | 'gauge';

export interface Sample {
  labels?: Readonly<Record<string, string>>;
  value: number;
}

export interface MetricFamily {
  name: string;
  help: string;
  type: MetricType;
  samples: readonly Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** Go's float formatting as Prometheus reads it: NaN, +Inf, -Inf, else the shortest decimal. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function formatLabels(labels: Readonly<Record<string, string>> | undefined, metric: string): string {
  const entries = Object.entries(labels ?? {});
  if (entries.length === 0) return '';
  for (const [k] of entries) {
    if (!LABEL_NAME.test(k) || k.startsWith('__')) throw new RangeError(`metric ${metric}: bad label name '${k}'`);
  }
  return `{${entries.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',')}}`;
}

/** The exposition body: each family's HELP and TYPE lines, then its samples; ends with a newline. */
export function formatExposition(families: readonly MetricFamily[]): string {
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const f of families) {
    if (!METRIC_NAME.test(f.name)) throw new RangeError(`bad metric name '${f.name}'`);
    if (seen.has(f.name)) throw new RangeError(`metric ${f.name} appears twice`);
    seen.add(f.name);
    lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) lines.push(`${f.name}${formatLabels(s.labels, f.name)} ${formatValue(s.value)}`);
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}
