/**
 * The fuzz pass: every parser in src/wire/, every cluster control message
 * type and the IKE handler, each with `--inputs` seeded mutated inputs
 * (default 1,000,000): only typed decode errors, never another exception,
 * and what decodes round-trips (test/support/fuzz/). Prints one line per
 * target and exits 1 if any target had a finding, with the input in hex.
 * `npm test` runs a short pass of the same targets (test/fuzz/).
 *
 * Usage: npm run fuzz -- [--inputs 1000000] [--seed 1] [--target <regular expression over the names>]
 */
import { cpus, loadavg } from 'node:os';
import { allTargets, fuzzTarget } from '../test/support/fuzz/run.js';

function flag(name: string): string | undefined {
  const k = process.argv.indexOf(name);
  return k >= 0 ? process.argv[k + 1] : undefined;
}

const inputs = Number(flag('--inputs') ?? 1_000_000);
const seed = Number(flag('--seed') ?? 1);
const only = flag('--target');
if (!Number.isInteger(inputs) || inputs < 0 || !Number.isInteger(seed)) {
  console.error('usage: npm run fuzz -- [--inputs N] [--seed S] [--target REGEXP]');
  process.exit(2);
}
const pattern = only === undefined ? null : new RegExp(only);
const targets = allTargets().filter((t) => pattern === null || pattern.test(t.name));
console.log(`fuzz: ${targets.length} targets × ${inputs.toLocaleString('en')} inputs, seed ${seed}; ${cpus()[0]?.model ?? '?'}, load ${loadavg()[0]?.toFixed(2)}`);
const t0 = performance.now();
let findings = 0;
for (const t of targets) {
  const r = await fuzzTarget(t, inputs, seed);
  const rate = r.inputs / (r.ms / 1000);
  console.log(
    `${r.name.padEnd(32)} ${r.inputs.toLocaleString('en').padStart(10)} inputs  ${(r.ms / 1000).toFixed(1).padStart(7)} s  ${Math.round(rate).toLocaleString('en').padStart(9)}/s  ` +
      `decoded ${r.decoded.toLocaleString('en')}, refused ${r.refused.toLocaleString('en')}  ${r.finding === null ? 'ok' : 'FINDING'}`,
  );
  if (r.finding !== null) {
    findings++;
    console.log(`  ${r.finding.message}`);
  }
}
console.log(`fuzz: ${findings} finding(s) in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
process.exitCode = findings === 0 ? 0 : 1;
