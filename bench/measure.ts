/**
 * The timing loop the in-process benches share: run a round of work until a
 * wall-clock budget is spent, and report per wall second and per second of
 * this process's CPU (closer to "per core" when the host is busy).
 */
export interface Measured {
  perSecond: number;
  perCpuSecond: number;
  /** Folded round results, returned so the work cannot be optimised away. */
  sink: number;
}

/** Runs `round` (which handles `perRound` items and returns a number to fold) until `seconds` of wall time elapse. */
export function measureRounds(round: () => number, perRound: number, seconds: number): Measured {
  let sink = 0;
  let count = 0;
  const cpu = process.cpuUsage();
  const start = performance.now();
  const deadline = start + seconds * 1000;
  let now = start;
  while (now < deadline) {
    sink = (sink + round()) | 0;
    count += perRound;
    now = performance.now();
  }
  const used = process.cpuUsage(cpu);
  return { perSecond: count / ((now - start) / 1000), perCpuSecond: count / ((used.user + used.system) / 1e6), sink };
}
