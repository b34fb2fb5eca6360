/** Reading and writing the files `shoal flash` works on: inputs unreadable → usage error (exit 2); outputs replaced atomically. */
import { chmod, readFile, rename, writeFile } from 'node:fs/promises';
import { ShoalError } from '../../../lib/errors.js';

export async function readInput(path: string, what: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    throw new ShoalError('BAD_INPUT', `cannot read ${what} ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/**
 * Writes via `<path>.tmp` and a rename, so an interrupted write never leaves
 * half a file. Secret files (private keys, images, which carry the member
 * key) are 0600. `exclusive` refuses to replace an existing file.
 */
export async function writeOutput(path: string, data: string | Uint8Array, o: { secret: boolean; exclusive?: boolean }): Promise<void> {
  const mode = o.secret ? 0o600 : 0o644;
  try {
    if (o.exclusive === true) await writeFile(path, data, { mode, flag: 'wx' });
    else {
      await writeFile(`${path}.tmp`, data, { mode });
      await chmod(`${path}.tmp`, mode);
      await rename(`${path}.tmp`, path);
    }
  } catch (e) {
    const why = (e as { code?: unknown }).code === 'EEXIST' ? 'already exists (not replaced)' : e instanceof Error ? e.message : String(e);
    throw new ShoalError('BAD_OUTPUT', `cannot write ${path}: ${why}`);
  }
}
