/**
 * What every bench module returns from run(): one figure per measurement,
 * with the conditions it was taken under, so run-all can print and compare
 * them without knowing any bench's internals. No test asserts on these.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface BenchResult {
  name: string;
  figure: number;
  unit: string;
  conditions: Record<string, string | number>;
}

/** A figure as bench/results.json keeps it: with when it was measured, since a file mixes runs. */
export interface StoredResult extends BenchResult {
  measuredAt?: string;
}

interface ResultsFile {
  measuredAt: string;
  machine: Record<string, string | number>;
  results: StoredResult[];
}

/** dist/bench/result.js → the source tree's bench/results.json. */
export const RESULTS_FILE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'results.json');

/** One line per result, for running a bench module directly. */
export function formatResult(r: BenchResult): string {
  const figure = Number.isInteger(r.figure) ? String(r.figure) : r.figure.toFixed(3);
  const conditions = Object.entries(r.conditions)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  return `${r.name}: ${figure} ${r.unit}  (${conditions})`;
}

/**
 * Write `results` into bench/results.json: each replaces the figure of the
 * same name and every other figure stays (stamped with the time of the run
 * that measured it). The lab benches take minutes and run on their own or
 * behind a flag, so a run of some benches must not drop the others' figures.
 * Returns the file written.
 */
export function saveResults(results: readonly BenchResult[], file: string = RESULTS_FILE): string {
  const measuredAt = new Date().toISOString();
  let kept: StoredResult[] = [];
  // Sections other benches keep beside the flat list (e.g. `ipsec`) survive a run that does not touch them.
  let others: Record<string, unknown> = {};
  if (existsSync(file)) {
    const old = JSON.parse(readFileSync(file, 'utf8')) as Partial<ResultsFile> & Record<string, unknown>;
    kept = (old.results ?? []).map((r) => ({ ...r, measuredAt: r.measuredAt ?? old.measuredAt ?? 'unknown' }));
    const { measuredAt: _m, machine: _c, results: _r, ...rest } = old;
    others = rest;
  }
  const fresh = new Map(results.map((r) => [r.name, { ...r, measuredAt }]));
  const merged = kept.map((r) => fresh.get(r.name) ?? r);
  for (const [name, r] of fresh) if (!kept.some((k) => k.name === name)) merged.push(r);
  const machine = { node: process.version, cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? 'unknown', loadavg: os.loadavg().map((l) => l.toFixed(2)).join(' ') };
  const out = { ...others, measuredAt, machine, results: merged };
  writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  return file;
}
