/**
 * Certificate validity periods. src/pki never reads the clock: callers pass
 * the dates in, and validityFrom builds a period from a time they supply.
 */
export interface Validity {
  notBefore: Date;
  notAfter: Date;
}

const DAY_MS = 24 * 3600 * 1000;

/** Slack before `now` so a peer whose clock is a little behind still accepts the certificate. */
export const BACKDATE_MS = DAY_MS;

/** Valid from a day before `now` for `days` days after it. */
export function validityFrom(now: Date | number, days: number): Validity {
  const t = typeof now === 'number' ? now : now.getTime();
  if (!Number.isFinite(t)) throw new RangeError('validityFrom: now is not a valid time');
  if (!(days > 0)) throw new RangeError(`validityFrom: days must be positive, not ${days}`);
  return { notBefore: new Date(t - BACKDATE_MS), notAfter: new Date(t + days * DAY_MS) };
}
