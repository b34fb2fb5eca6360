/**
 * The version in package.json, found at run time by walking up from this
 * module (dist/src/mgmt/cli/ when built, src/mgmt/cli/ under vitest), so it
 * does not depend on how deep the build output is.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE_NAME = 'shoal';
const MAX_LEVELS = 8;

export function packageVersion(from: string = import.meta.url): string {
  let dir = dirname(fileURLToPath(from));
  for (let i = 0; i < MAX_LEVELS; i++) {
    const version = versionIn(join(dir, 'package.json'));
    if (version !== null) return version;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return '0.0.0-unknown';
}

function versionIn(path: string): string | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return null;
  }
  try {
    const pkg: unknown = JSON.parse(text);
    if (typeof pkg !== 'object' || pkg === null) return null;
    const { name, version } = pkg as { name?: unknown; version?: unknown };
    return name === PACKAGE_NAME && typeof version === 'string' ? version : null;
  } catch {
    return null;
  }
}
