// Runs before `npm test` and `npm run lab` so that each command does its own
// set-up on a fresh clone: install the locked dependencies when they are
// missing or older than package-lock.json. Plain Node, no dependencies.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const lock = join(root, 'package-lock.json');
const installed = join(root, 'node_modules', '.package-lock.json');

const stale = !existsSync(installed) || statSync(installed).mtimeMs < statSync(lock).mtimeMs;
if (stale) {
  console.error('shoal: installing dependencies (npm ci)…');
  execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
}

// System packages (scripts/system-packages.txt): the namespace lab and the
// interop tests need strongSwan, tshark, iperf3, iproute2, nftables…
// Installed with apt when one is missing and we can (root, Debian); otherwise
// the missing ones are named and the command fails, never half-runs.
const listFile = join(root, 'scripts', 'system-packages.txt');
const wanted = readFileSync(listFile, 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'))
  .map((l) => l.split(/\s+/))
  .map(([pkg, bin]) => ({ pkg, bin }));
const missing = wanted.filter((w) => !existsSync(w.bin));
if (missing.length > 0) {
  const names = missing.map((m) => m.pkg);
  const canInstall = process.getuid?.() === 0 && existsSync('/usr/bin/apt-get');
  if (!canInstall) {
    console.error(`shoal: missing system packages: ${names.join(' ')} (install them as root: apt-get install -y ${names.join(' ')})`);
    process.exit(1);
  }
  console.error(`shoal: installing system packages: ${names.join(' ')}…`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  // tshark's package asks whether non-root users may capture: answer "no" up front.
  execFileSync('debconf-set-selections', { input: 'wireshark-common wireshark-common/install-setuid boolean false\n', env });
  execFileSync('apt-get', ['update'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '--no-install-recommends', ...names], { stdio: 'inherit', env });
}
