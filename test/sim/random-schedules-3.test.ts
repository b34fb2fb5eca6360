/**
 * The property (part 3 of 4, each with its own fixed seed so CI replays the
 * same schedules): whatever happens during the chaos phase, once the network is
 * whole and clean again the cluster converges (one master, every unit served
 * exactly once, loads even), and no safety invariant breaks along the way.
 * fast-check prints the shrunk failing schedule to replay.
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { fixtures } from './harness.js';
import { SCHEDULES_PER_FILE, runSchedule, scheduleArb } from './random-schedule.js';

describe('random schedules of kills, restarts, partitions and loss (part 3)', () => {
  it(`converge afterwards (${SCHEDULES_PER_FILE} schedules)`, async () => {
    const fx = await fixtures();
    let worst = 0;
    fc.assert(
      fc.property(scheduleArb, (s) => {
        const out = runSchedule(fx, s);
        worst = Math.max(worst, out.settleMs);
        if (!out.ok) throw new Error(out.why);
      }),
      { numRuns: SCHEDULES_PER_FILE, seed: 2026112800 + 3 },
    );
    console.log(`part 3: ${SCHEDULES_PER_FILE} schedules converged; slowest settled ${worst.toFixed(0)} ms after the heal`);
  });
});
