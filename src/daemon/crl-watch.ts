/**
 * CRL files that may be replaced while the daemon runs (`shoal pki revoke`,
 * then crl.pem copied to the member): read at start-up, and read again when
 * one of them changed, so a revocation takes effect without a restart.
 *
 *   current(now) ─► due? (at most once per minIntervalMs) ─► stat each file
 *     (inode, size, mtime) ─► unchanged: the state in memory
 *     changed ─► read + build (signatures checked) ─► new state, 'crl.reloaded'
 *             └► unreadable or refused ─► keep the old state, 'crl.refused' (once per
 *                distinct error), and try again when next due
 *
 * The check is a stat per file, no read, and happens only where a certificate
 * is judged (a join, an IKE_AUTH), never on the packet path.
 */
import { readFileSync, statSync } from 'node:fs';
import { ShoalError } from '../lib/errors.js';
import type { LogLevel } from '../mgmt/log.js';

/** One CRL file's content as DER CRLs: PEM ("X509 CRL" blocks) or a single raw DER CRL. */
export function crlDerOf(bytes: Uint8Array): Uint8Array[] {
  const text = Buffer.from(bytes).toString('latin1');
  const blocks = [...text.matchAll(/-----BEGIN X509 CRL-----([A-Za-z0-9+/=\s]+)-----END X509 CRL-----/g)];
  if (blocks.length === 0) return [new Uint8Array(bytes)];
  return blocks.map((m) => new Uint8Array(Buffer.from((m[1] ?? '').replace(/\s+/g, ''), 'base64')));
}

export interface CrlFile {
  path: string;
  crls: Uint8Array[];
}

export function readCrlFile(path: string): CrlFile {
  try {
    return { path, crls: crlDerOf(readFileSync(path)) };
  } catch (e) {
    throw new ShoalError('BAD_CREDENTIALS', `cannot read CRL ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** What tells one version of a file from the next without reading it. */
function stampOf(path: string): string {
  try {
    const s = statSync(path, { bigint: true });
    return `${s.ino}:${s.size}:${s.mtimeNs}`;
  } catch (e) {
    return `missing:${(e as NodeJS.ErrnoException).code ?? '?'}`;
  }
}

export type CrlLog = (level: LogLevel, event: string, fields: Record<string, unknown>) => void;

export interface CrlWatchOptions {
  /** Stat the files at most this often (ms of the `now` given to current()); 0 = on every call. */
  minIntervalMs: number;
  /** What the files are for, in log lines ("cluster trust", "ipsec clients"). */
  purpose: string;
  log?: CrlLog;
}

/**
 * The state built from some CRL files, rebuilt when they change. `build`
 * checks the CRLs (signatures against the trusted CAs) and throws to refuse them.
 */
export class CrlWatch<T> {
  private state: T;
  private stamps: string[];
  private checkedAt = Number.NEGATIVE_INFINITY;
  private lastError = '';

  /** Reads and builds now: throws BAD_CREDENTIALS naming the file or the CRL, so a daemon does not start with a CRL it cannot use. */
  constructor(
    private readonly paths: readonly string[],
    private readonly build: (files: CrlFile[]) => T,
    private readonly options: CrlWatchOptions,
  ) {
    this.stamps = paths.map(stampOf);
    try {
      this.state = build(paths.map(readCrlFile));
    } catch (e) {
      if (e instanceof ShoalError) throw e;
      throw new ShoalError('BAD_CREDENTIALS', `${options.purpose}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** The state for the files as they are now (re-read if changed and due). Never throws. */
  current(now: number): T {
    // A clock that went backwards makes the check due rather than stuck.
    if (now - this.checkedAt < this.options.minIntervalMs && now >= this.checkedAt) return this.state;
    this.checkedAt = now;
    const stamps = this.paths.map(stampOf);
    if (stamps.every((s, i) => s === this.stamps[i])) return this.state;
    try {
      this.state = this.build(this.paths.map(readCrlFile));
      this.stamps = stamps;
      this.lastError = '';
      this.options.log?.('info', 'crl.reloaded', { purpose: this.options.purpose, files: [...this.paths] });
    } catch (e) {
      // The stamps stay old, so the next due check tries again (a copy may have been half written).
      const error = e instanceof Error ? e.message : String(e);
      if (error !== this.lastError) this.options.log?.('warn', 'crl.refused', { purpose: this.options.purpose, error, note: 'the previous CRLs stay in force' });
      this.lastError = error;
    }
    return this.state;
  }
}
