/**
 * `npm run bench`: runs every benchmark, prints its figures, and writes them
 * to bench/results.json (one object per figure: name, figure, unit, conditions).
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import { formatResult, type BenchResult } from './result.js';
import { run as distribution } from './distribution.js';
import { run as filter } from './filter.js';
import { run as simulator } from './simulator.js';
import { run as tap } from './tap.js';

const benches: [string, () => Promise<BenchResult[]>][] = [
  ['filter', filter],
  ['distribution', distribution],
  ['simulator', simulator],
  ['tap', tap],
];

const results: BenchResult[] = [];
for (const [name, bench] of benches) {
  console.log(`# ${name}`);
  for (const r of await bench()) {
    console.log(formatResult(r));
    results.push(r);
  }
}

// dist/bench/run-all.js → the source tree's bench/results.json
const out = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'results.json');
const machine = { node: process.version, cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? 'unknown', loadavg: os.loadavg().map((l) => l.toFixed(2)).join(' ') };
writeFileSync(out, `${JSON.stringify({ measuredAt: new Date().toISOString(), machine, results }, null, 2)}\n`);
console.log(`wrote ${out}`);
