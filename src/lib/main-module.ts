/**
 * Whether the module at `moduleUrl` (its import.meta.url) is the script Node
 * was started with, so a module can also run as a small program (the lab's
 * traffic scripts run that way inside a namespace). Symlinks are resolved.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function isMainModule(moduleUrl: string): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}
