/**
 * The stricter property: with kills and restarts (of members and of the
 * master, even instant restarts) on a clean network, no unit is ever served by
 * two members at once, checked after every simulated event, and the cluster
 * converges afterwards.
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { fixtures } from './harness.js';
import { SCHEDULES_PER_FILE, cleanScheduleArb, runSchedule } from './random-schedule.js';

describe('random kills and restarts on a clean network', () => {
  it(`never serve a unit twice (${SCHEDULES_PER_FILE} schedules)`, async () => {
    const fx = await fixtures();
    fc.assert(
      fc.property(cleanScheduleArb, (s) => {
        const out = runSchedule(fx, s, true);
        if (!out.ok) throw new Error(out.why);
      }),
      { numRuns: SCHEDULES_PER_FILE, seed: 2026112899 },
    );
  });
});
