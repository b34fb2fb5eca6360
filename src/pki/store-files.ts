/**
 * The files of a CA directory (certs/README.md documents the layout) and how
 * they are written: every file to `<path>.tmp` and renamed, private keys and
 * the directory readable by the owner only, and one command at a time
 * (an exclusive lock file), so two `shoal pki` runs cannot lose an index entry.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ShoalError } from '../lib/errors.js';

export interface StorePaths {
  dir: string;
  caCert: string;
  caKey: string;
  index: string;
  crl: string;
  issuedDir: string;
  lock: string;
}

export function storePaths(dir: string): StorePaths {
  return {
    dir,
    caCert: join(dir, 'ca.pem'),
    caKey: join(dir, 'ca.key'),
    index: join(dir, 'index.json'),
    crl: join(dir, 'crl.pem'),
    issuedDir: join(dir, 'issued'),
    lock: join(dir, '.lock'),
  };
}

/** issued/<name>.pem and issued/<name>.key. */
export function issuedPaths(dir: string, name: string): { cert: string; key: string } {
  const issued = storePaths(dir).issuedDir;
  return { cert: join(issued, `${name}.pem`), key: join(issued, `${name}.key`) };
}

/** Letters, digits and . _ @ - (a file name and a CN at once); at most 128. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/;

/** Throws BAD_NAME unless `name` can name a certificate's files. */
export function checkName(name: string): string {
  if (!NAME.test(name) || name.includes('..')) {
    throw new ShoalError('BAD_NAME', `name '${name}': use letters, digits and . _ @ - (at most 128, starting with a letter or digit)`);
  }
  return name;
}

export async function makePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
}

/** Write `text` to `path` atomically with `mode` (0o600 for keys). */
export async function writeAtomic(path: string, text: string, mode: 0o600 | 0o644): Promise<void> {
  const tmp = `${path}.tmp`;
  await writeFile(tmp, text, { mode });
  await chmod(tmp, mode);
  await rename(tmp, path);
}

export async function readStoreFile(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw new ShoalError('PKI_NO_CA', `cannot read ${what} ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Throws PKI_NO_CA unless `dir` holds a CA (ca.pem, ca.key and index.json). */
export function requireCa(dir: string): StorePaths {
  const p = storePaths(dir);
  const missing = [p.caCert, p.caKey, p.index].filter((f) => !existsSync(f));
  if (missing.length > 0) throw new ShoalError('PKI_NO_CA', `no CA in ${dir} (missing ${missing.join(', ')}): run \`shoal pki init-ca --dir ${dir}\``);
  return p;
}

/** Run `fn` holding the directory's lock; a lock left by a crashed run is reported, not broken. */
export async function withStoreLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const lock = storePaths(dir).lock;
  let handle;
  try {
    handle = await open(lock, 'wx', 0o600);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new ShoalError('PKI_BUSY', `${lock} exists: another shoal pki command is using ${dir} (remove the file if none is)`);
    if (code === 'ENOENT') requireCa(dir); // no directory: say there is no CA there
    throw e;
  }
  try {
    try {
      await handle.writeFile(`${process.pid}\n`);
    } finally {
      await handle.close();
    }
    return await fn();
  } finally {
    await rm(lock, { force: true });
  }
}
