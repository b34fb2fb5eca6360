/**
 * Runs fuzz targets: per target, build the corpus (seeded), check that every
 * corpus item itself passes, then `inputs` mutated inputs from one
 * SeededRandom per target. A target stops at its first finding; the others
 * still run. The whole pass is deterministic for a seed.
 */
import { SeededRandom } from '../../../src/lib/random.js';
import { fuzzInput } from './mutator.js';
import { FuzzFinding, type FuzzTarget } from './target.js';
import { controlTargets } from './targets-control.js';
import { wireTargets } from './targets-wire.js';
import { ikeHandlerTarget } from './target-ike-handler.js';

export interface TargetResult {
  name: string;
  inputs: number;
  decoded: number;
  refused: number;
  ms: number;
  finding: FuzzFinding | null;
}

/** Every parser in src/wire/, every control message type, and the IKE handler. */
export function allTargets(): FuzzTarget[] {
  return [...wireTargets(), ...controlTargets(), ikeHandlerTarget()];
}

/** A per-target seed, so adding a target does not change another's inputs. */
function targetSeed(seed: number, name: string): number {
  let h = seed >>> 0;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x9e3779b1) >>> 0;
  return h;
}

export async function fuzzTarget(target: FuzzTarget, inputs: number, seed: number): Promise<TargetResult> {
  const s = targetSeed(seed, target.name);
  const corpus = await target.corpus(s);
  if (corpus.length === 0) throw new Error(`${target.name}: empty corpus`);
  const result: TargetResult = { name: target.name, inputs: 0, decoded: 0, refused: 0, ms: 0, finding: null };
  const rng = new SeededRandom(s);
  const t0 = performance.now();
  try {
    for (const item of corpus) target.check(item);
    for (let i = 0; i < inputs; i++) {
      const outcome = target.check(fuzzInput(rng, corpus));
      result.inputs++;
      if (outcome === 'decoded') result.decoded++;
      else result.refused++;
    }
  } catch (e) {
    if (!(e instanceof FuzzFinding)) throw e;
    result.finding = e;
  }
  result.ms = performance.now() - t0;
  return result;
}
