/**
 * Who may read the metrics: on a loopback address, whoever is on the box; on
 * any other address, only a scraper that sends the configured bearer token
 * (`Authorization: Bearer <token>`, RFC 6750 §2.1), read from a file
 * (`metrics.bearerTokenFile`) so that it stays out of the configuration text.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ShoalError } from '../../lib/errors.js';
import { parseIpv4 } from '../../lib/ipv4.js';

/** Shorter tokens could be guessed by a scraper that keeps trying. */
export const MIN_TOKEN_LENGTH = 16;
/** RFC 6750 §2.1 b64token. */
const TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/** 127.0.0.0/8: only processes on this box reach it. */
export function isLoopback(host: string): boolean {
  return parseIpv4(host) >>> 24 === 127;
}

/** The token in `path`: one line (a final newline is ignored), at least MIN_TOKEN_LENGTH characters. */
export function readBearerToken(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ShoalError('METRICS_TOKEN', `metrics.bearerTokenFile: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const token = text.replace(/\r?\n$/, '');
  if (!TOKEN.test(token)) throw new ShoalError('METRICS_TOKEN', `metrics.bearerTokenFile: ${path} must hold one token of letters, digits and -._~+/ (nothing else)`);
  if (token.length < MIN_TOKEN_LENGTH) throw new ShoalError('METRICS_TOKEN', `metrics.bearerTokenFile: the token in ${path} has ${token.length} characters; use at least ${MIN_TOKEN_LENGTH}`);
  return token;
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** Whether an Authorization header carries `token`; compared in constant time (equal-length digests). */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer +(\S+) *$/i.exec(header ?? '');
  return m !== null && timingSafeEqual(digest(m[1] ?? ''), digest(token));
}
