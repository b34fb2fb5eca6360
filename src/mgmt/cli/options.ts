/** Option-value parsers for commander: a bad value is an InvalidArgumentError, which the CLI reports as usage (exit 2). */
import { InvalidArgumentError } from 'commander';

const WHOLE = /^\d+$/;
const DECIMAL = /^\d+(\.\d+)?$/;

/** A whole number in [min, max]. */
export function wholeNumber(min: number, max: number): (value: string) => number {
  return (value) => {
    const v = Number(value);
    if (!WHOLE.test(value.trim()) || v < min || v > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}.`);
    return v;
  };
}

/** A non-negative decimal number in [min, max]. */
export function decimalNumber(min: number, max: number): (value: string) => number {
  return (value) => {
    const v = Number(value);
    if (!DECIMAL.test(value.trim()) || v < min || v > max) throw new InvalidArgumentError(`expected a number from ${min} to ${max}.`);
    return v;
  };
}
