/** Real randomness for the daemon (keys, nonces, jitter): the operating system's CSPRNG. */
import { randomBytes } from 'node:crypto';
import type { RandomSource } from '../lib/random.js';

export const cryptoRandom: RandomSource = {
  u32: () => randomBytes(4).readUInt32BE(0),
  float: () => randomBytes(4).readUInt32BE(0) / 4294967296,
  bytes: (n) => new Uint8Array(randomBytes(n)),
};
