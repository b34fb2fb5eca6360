/**
 * The side-by-side figures of the IPsec benches: one row per figure with
 * Shoal's and strongSwan's medians and the ratio Shoal/strongSwan, printed
 * as a table and saved to bench/results.json twice over:
 *
 * - as ordinary figures in `results` (one per side and row, plus the ratio),
 *   merged by saveResults like every other bench's;
 * - as a table under the top-level `ipsec` key (`ipsec.<bench>`: rows,
 *   conditions, the runs behind each median), replacing only this bench's part.
 *
 * saveResults (bench/result.ts) writes only its own keys, so a later run of
 * another bench drops `ipsec` until an IPsec bench runs again; the flat
 * figures survive.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { median } from '../lab-bench.js';
import { RESULTS_FILE, saveResults, type BenchResult } from '../result.js';

export interface SideBySideRow {
  /** e.g. "TCP aes256gcm16 goodput". */
  figure: string;
  unit: string;
  shoal: number[];
  strongswan: number[];
  /** Lower is better (CPU, memory): for the reader only, the ratio is Shoal/strongSwan either way. */
  lowerIsBetter: boolean;
}

export interface Summary {
  figure: string;
  unit: string;
  shoal: number;
  strongswan: number;
  ratio: number;
  lowerIsBetter: boolean;
  runs: { shoal: number[]; strongswan: number[] };
}

const r3 = (x: number): number => (Number.isFinite(x) ? Math.round(x * 1000) / 1000 : x);

export function summarize(rows: readonly SideBySideRow[]): Summary[] {
  return rows.map((r) => {
    const shoal = median(r.shoal);
    const strongswan = median(r.strongswan);
    return { figure: r.figure, unit: r.unit, shoal: r3(shoal), strongswan: r3(strongswan), ratio: r3(shoal / strongswan), lowerIsBetter: r.lowerIsBetter, runs: { shoal: r.shoal.map(r3), strongswan: r.strongswan.map(r3) } };
  });
}

function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  return a >= 100 ? x.toFixed(0) : a >= 10 ? x.toFixed(1) : x.toFixed(2);
}

/** A Markdown table: figure | unit | Shoal | strongSwan | Shoal/strongSwan. */
export function formatTable(summary: readonly Summary[]): string {
  const lines = ['| figure | unit | Shoal (median) | strongSwan (median) | Shoal/strongSwan |', '|---|---|---|---|---|'];
  for (const s of summary) lines.push(`| ${s.figure} | ${s.unit} | ${fmt(s.shoal)} | ${fmt(s.strongswan)} | ${s.ratio.toFixed(2)}${s.lowerIsBetter ? ' (lower is better)' : ''} |`);
  return lines.join('\n');
}

function readIpsecKey(file: string): Record<string, unknown> {
  if (!existsSync(file)) return {};
  const doc = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  return (typeof doc.ipsec === 'object' && doc.ipsec !== null ? doc.ipsec : {}) as Record<string, unknown>;
}

/** Save into bench/results.json: flat figures via saveResults, then the table under `ipsec.<bench>`. */
export function saveSideBySide(bench: string, summary: readonly Summary[], conditions: Record<string, string | number>, file: string = RESULTS_FILE): string {
  const flat: BenchResult[] = summary.flatMap((s) => [
    { name: `ipsec ${bench}: ${s.figure}, Shoal`, figure: s.shoal, unit: s.unit, conditions: { ...conditions, runs: s.runs.shoal.length } },
    { name: `ipsec ${bench}: ${s.figure}, strongSwan`, figure: s.strongswan, unit: s.unit, conditions: { ...conditions, runs: s.runs.strongswan.length } },
    { name: `ipsec ${bench}: ${s.figure}, Shoal/strongSwan`, figure: s.ratio, unit: 'ratio', conditions: { ...conditions, lowerIsBetter: String(s.lowerIsBetter) } },
  ]);
  // saveResults keeps only its own keys: take `ipsec` (the other IPsec bench's table) across it.
  const ipsec = readIpsecKey(file);
  saveResults(flat, file);
  const doc = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  ipsec[bench] = { measuredAt: new Date().toISOString(), conditions, rows: summary };
  doc.ipsec = ipsec;
  writeFileSync(file, `${JSON.stringify(doc, null, 2)}\n`);
  return file;
}
