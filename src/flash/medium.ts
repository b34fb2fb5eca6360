/**
 * The flash device as a tiny file-system port: one flat directory of named
 * files. The slot store (slots.ts) speaks only to this interface, so the same
 * code runs on a real directory (below) and on the in-memory medium that
 * simulates power cuts (medium-memory.ts).
 *
 * Durability follows POSIX: written data survives a power cut only after
 * fsync(name); a creation, rename or unlink only after syncDir().
 */
import { mkdir, open, readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ShoalError } from '../lib/errors.js';

export interface Medium {
  /** Where it is, for messages. */
  readonly where: string;
  /** The file's bytes, or null when there is no such file. */
  read(name: string): Promise<Uint8Array | null>;
  /** Creates or truncates `name` and writes `data` (private to the owner); not durable until fsync. */
  write(name: string, data: Uint8Array): Promise<void>;
  /** Makes `name`'s data durable. */
  fsync(name: string): Promise<void>;
  /** Replaces `to` with `from` atomically (visible at once, durable after syncDir). */
  rename(from: string, to: string): Promise<void>;
  /** Removes `name`; no error when it is already gone. */
  unlink(name: string): Promise<void>;
  list(): Promise<string[]>;
  /** Makes the directory's entries (creations, renames, unlinks) durable. */
  syncDir(): Promise<void>;
}

/**
 * Replaces `name` so that after a power cut it holds either the old bytes or
 * the new, never a mix: write a temporary, fsync it, rename it over, fsync
 * the directory.
 */
export async function atomicWrite(m: Medium, name: string, data: Uint8Array): Promise<void> {
  const tmp = `${name}.tmp`;
  await m.write(tmp, data);
  await m.fsync(tmp);
  await m.rename(tmp, name);
  await m.syncDir();
}

function checkName(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw new ShoalError('BAD_DEVICE_FILE', `device file name '${name}' is not one plain path component`);
  return name;
}

function isMissing(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === 'ENOENT';
}

/** A directory on a real file system (created 0700 when missing). */
export async function directoryMedium(dir: string): Promise<Medium> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new ShoalError('BAD_DEVICE', `cannot use device directory ${dir}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const at = (name: string): string => join(dir, checkName(name));
  const sync = async (path: string, flags: string): Promise<void> => {
    const fh = await open(path, flags);
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  };
  return {
    where: dir,
    async read(name) {
      try {
        return new Uint8Array(await readFile(at(name)));
      } catch (e) {
        if (isMissing(e)) return null;
        throw e;
      }
    },
    async write(name, data) {
      await writeFile(at(name), data, { mode: 0o600 });
    },
    fsync: (name) => sync(at(name), 'r+'),
    rename: (from, to) => rename(at(from), at(to)),
    async unlink(name) {
      try {
        await unlink(at(name));
      } catch (e) {
        if (!isMissing(e)) throw e;
      }
    },
    list: () => readdir(dir),
    syncDir: () => sync(dir, 'r'),
  };
}
