/**
 * What every bench module returns from run(): one figure per measurement,
 * with the conditions it was taken under, so run-all can print and compare
 * them without knowing any bench's internals. No test asserts on these.
 */
export interface BenchResult {
  name: string;
  figure: number;
  unit: string;
  conditions: Record<string, string | number>;
}

/** One line per result, for running a bench module directly. */
export function formatResult(r: BenchResult): string {
  const figure = Number.isInteger(r.figure) ? String(r.figure) : r.figure.toFixed(3);
  const conditions = Object.entries(r.conditions)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  return `${r.name}: ${figure} ${r.unit}  (${conditions})`;
}
