/**
 * Replace a file so that a reader (or a power cut) sees the old content or
 * the new one, never a mix:
 *
 *   write <path>.tmp-<pid>-<random> ─► fsync it ─► rename over <path> ─► fsync the directory
 *
 * A failure at any step removes the temporary file and leaves <path> as it
 * was. The file operations are a port so tests can make any step fail.
 *
 * The new file's mode is set with fchmod on the temporary file before any
 * byte is written, so it is exactly what `modeFor` says whatever the umask,
 * and a secret is never readable by others, not even for a moment.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { dirname } from 'node:path';
import { ShoalError } from '../lib/errors.js';

/** The synchronous node:fs calls the writer makes. */
export interface FileOps {
  openSync(path: string, flags: string, mode?: number): number;
  writeSync(fd: number, data: Uint8Array, offset: number, length: number): number;
  fsyncSync(fd: number): void;
  fchmodSync(fd: number, mode: number): void;
  closeSync(fd: number): void;
  renameSync(from: string, to: string): void;
  unlinkSync(path: string): void;
}

export const NODE_FILE_OPS: FileOps = {
  openSync: (path, flags, mode) => fs.openSync(path, flags, mode),
  writeSync: (fd, data, offset, length) => fs.writeSync(fd, data, offset, length),
  fsyncSync: (fd) => fs.fsyncSync(fd),
  fchmodSync: (fd, mode) => fs.fchmodSync(fd, mode),
  closeSync: (fd) => fs.closeSync(fd),
  renameSync: (from, to) => fs.renameSync(from, to),
  unlinkSync: (path) => fs.unlinkSync(path),
};

/** The mode of the file being replaced, or null when there is none. */
function existingMode(path: string): number | null {
  try {
    return fs.statSync(path).mode & 0o777;
  } catch {
    return null;
  }
}

/** The mode of the written file, from the replaced file's (null: a new file). */
export type ModeRule = (existing: number | null) => number;

/** By default a replacement keeps the old file's mode; a new file is 0644. */
export const KEEP_MODE: ModeRule = (existing) => existing ?? 0o644;

export function writeFileAtomic(path: string, text: string, ops: FileOps = NODE_FILE_OPS, modeFor: ModeRule = KEEP_MODE): void {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const data = Buffer.from(text, 'utf8');
  let fd: number | null = null;
  try {
    const mode = modeFor(existingMode(path));
    fd = ops.openSync(tmp, 'wx', mode & 0o600);
    ops.fchmodSync(fd, mode);
    for (let at = 0; at < data.length; ) at += ops.writeSync(fd, data, at, data.length - at);
    ops.fsyncSync(fd);
    ops.closeSync(fd);
    fd = null;
    ops.renameSync(tmp, path);
  } catch (e) {
    if (fd !== null) ignore(() => ops.closeSync(fd ?? -1));
    ignore(() => ops.unlinkSync(tmp));
    throw new ShoalError('WRITE_FAILED', `cannot write ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  syncDirectory(dirname(path), ops);
}

/** The rename is durable once the directory is; a file system that cannot sync a directory is not an error. */
function syncDirectory(dir: string, ops: FileOps): void {
  ignore(() => {
    const fd = ops.openSync(dir, 'r');
    try {
      ops.fsyncSync(fd);
    } finally {
      ops.closeSync(fd);
    }
  });
}

function ignore(f: () => void): void {
  try {
    f();
  } catch {
    // best effort: the outcome is already decided
  }
}
