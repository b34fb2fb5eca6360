/**
 * The options of the simulated cluster demo (demo.ts) and their limits, apart
 * from the demo itself so a CLI can describe and check them without loading
 * the cluster core and the certificate library.
 */
import { ShoalError } from '../lib/errors.js';

export const DEMO_LIMITS = {
  members: { min: 1, max: 64, default: 3 },
  seconds: { min: 1, max: 3600, default: 12 },
  lossPercent: { min: 0, max: 100, default: 0 },
  seed: { min: 0, max: 0xffff_ffff, default: 1 },
} as const;

export interface DemoOptions {
  /** Members at the start, 1..64 (198.18.0.1..N); one more joins later. Default 3. */
  members?: number;
  /** Simulator seed (unsigned 32-bit). Default 1. */
  seed?: number;
  /**
   * Simulated seconds to run at least: after the phases the cluster runs in
   * steady state until then. The phases take what they take. Default 12.
   */
  seconds?: number;
  /** Per-delivery datagram loss, percent. Default 0. */
  lossPercent?: number;
  /** Wall-clock milliseconds, for the speed figure only. Default performance.now(). */
  wallMs?: () => number;
}

/** The options with defaults filled in, as a report shows them. */
export interface DemoSettings {
  members: number;
  seed: number;
  seconds: number;
  lossPercent: number;
}

function checkRange(name: keyof typeof DEMO_LIMITS, value: number, integer: boolean): number {
  const { min, max } = DEMO_LIMITS[name];
  if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw new ShoalError('BAD_DEMO_OPTION', `${name} must be ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}, not ${value}`);
  }
  return value;
}

/** The options with defaults filled in; throws ShoalError('BAD_DEMO_OPTION') when one is out of range. */
export function demoOptions(o: DemoOptions): DemoSettings {
  const d = DEMO_LIMITS;
  return {
    members: checkRange('members', o.members ?? d.members.default, true),
    seed: checkRange('seed', o.seed ?? d.seed.default, true),
    seconds: checkRange('seconds', o.seconds ?? d.seconds.default, false),
    lossPercent: checkRange('lossPercent', o.lossPercent ?? d.lossPercent.default, false),
  };
}
