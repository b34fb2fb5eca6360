/**
 * `npm run bench`: runs every benchmark, prints its figures, and writes them
 * to bench/results.json (one object per figure: name, figure, unit, conditions;
 * figures of benches not run this time are kept, see saveResults).
 *
 * `npm run bench -- --lab` also runs the benches that build a namespace lab
 * of member daemons (failover, control traffic): together they take about
 * three minutes, so they are not part of the default run. Each also runs on
 * its own: `npm run bench:failover`, `npm run bench:control-traffic`.
 */
import { formatResult, saveResults, type BenchResult } from './result.js';
import { run as controlTraffic } from './control-traffic.js';
import { run as distribution } from './distribution.js';
import { run as esp } from './esp.js';
import { run as failover } from './failover.js';
import { run as filter } from './filter.js';
import { run as forwarding } from './forwarding.js';
import { run as simulator } from './simulator.js';
import { run as tap } from './tap.js';

const benches: [string, () => Promise<BenchResult[]>][] = [
  ['filter', filter],
  ['distribution', distribution],
  ['simulator', simulator],
  ['tap', tap],
  ['forwarding', forwarding],
  ['esp', esp],
];
if (process.argv.includes('--lab')) benches.push(['control-traffic', () => controlTraffic()], ['failover', () => failover()]);

const results: BenchResult[] = [];
for (const [name, bench] of benches) {
  console.log(`# ${name}`);
  const t0 = performance.now();
  for (const r of await bench()) {
    console.log(formatResult(r));
    results.push(r);
  }
  console.log(`# ${name}: ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}

console.log(`wrote ${saveResults(results)}`);
