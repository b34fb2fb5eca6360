/**
 * Where node-gyp put Shoal's native addons (binding.gyp → build/Release/<name>.node),
 * found from this file's location so dist/ and src/ runs agree.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root: the nearest directory above this file holding binding.gyp. */
function packageRoot(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'binding.gyp'))) return dir;
    dir = dirname(dir);
  }
  return undefined;
}

export function addonFile(name: string): string {
  return join(packageRoot() ?? '.', 'build', 'Release', `${name}.node`);
}

/** Loads an addon file (Node caches it); throws what require throws. */
export function requireAddon(file: string): unknown {
  return createRequire(import.meta.url)(file) as unknown;
}
