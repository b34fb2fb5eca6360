/**
 * The digest of the installed software, which a personality names and boot
 * compares: SHA-256 over package.json, dist/src/**\/*.js (the program; tests
 * and benchmarks are not part of it) and build/Release/*.node (native
 * add-ons), in sorted path order, each file framed as
 *   path (UTF-8) ‖ 0x00 ‖ u64 big-endian length ‖ contents
 * after the prefix "shoal software digest v1\0". Deterministic: independent
 * of directory order, timestamps and where the tree is installed.
 * Dependencies under node_modules are not covered (see flash-image/FORMAT.md).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ShoalError } from '../lib/errors.js';

const PREFIX = 'shoal software digest v1\0';

/** Relative paths (with '/') of the files the digest covers under `root`. */
export function softwareFiles(root: string): string[] {
  const out: string[] = [];
  if (existsSync(join(root, 'package.json'))) out.push('package.json');
  const walk = (rel: string, keep: (name: string) => boolean, deep: boolean): void => {
    const abs = join(root, rel);
    if (!existsSync(abs)) return;
    for (const e of readdirSync(abs, { withFileTypes: true })) {
      const path = `${rel}/${e.name}`;
      if (e.isDirectory() && deep) walk(path, keep, deep);
      else if (e.isFile() && keep(e.name)) out.push(path);
    }
  };
  walk('dist/src', (n) => n.endsWith('.js'), true);
  walk('build/Release', (n) => n.endsWith('.node'), false);
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

export function softwareDigest(root: string): Uint8Array {
  const files = softwareFiles(root);
  if (!files.some((f) => f.startsWith('dist/src/'))) {
    throw new ShoalError('BAD_SOFTWARE', `no built software under ${join(root, 'dist/src')} (run npm run build, or give the digest)`);
  }
  const h = createHash('sha256').update(PREFIX);
  const len = Buffer.alloc(8);
  for (const rel of files) {
    const data = readFileSync(join(root, rel));
    len.writeBigUInt64BE(BigInt(data.length));
    h.update(rel, 'utf8').update('\0').update(len).update(data);
  }
  return new Uint8Array(h.digest());
}

/** The root of this installation: the nearest directory above this module holding package.json. */
export function installationRoot(from = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new ShoalError('BAD_SOFTWARE', `no package.json above ${from}`);
    dir = up;
  }
  return dir;
}

/** A digest written as 64 hex digits, optionally after "sha256:". */
export function parseDigest(text: string): Uint8Array {
  const hex = text.trim().replace(/^sha256:/i, '');
  if (!/^[0-9a-f]{64}$/i.test(hex)) throw new ShoalError('BAD_DIGEST', `'${text}' is not a SHA-256 digest (64 hex digits)`);
  return new Uint8Array(Buffer.from(hex, 'hex'));
}
