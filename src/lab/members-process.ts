/**
 * The lab's member daemon processes: start, signal, list and stop them.
 *
 * A daemon is `ip netns exec shl-<lab>-m<i> node dist/src/mgmt/cli/main.js run
 * --config m<i>.json`, started detached so it outlives the `shoal lab` that
 * started it. Its PID goes to m<i>.pid and the process's start time (field 22
 * of /proc/<pid>/stat) to m<i>.start: a recorded PID counts as running only
 * while /proc shows a live process with the recorded start time, so a PID the
 * kernel has reused is never signalled.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { ShoalError } from '../lib/errors.js';
import { writePrivate, type MemberLayout } from './members-files.js';
import { labPrefix } from './plan.js';
import { DAEMON_NODE_FLAGS } from '../daemon/node-flags.js';

export interface DaemonState {
  member: number;
  /** The recorded PID; null when the member was never started. */
  pid: number | null;
  running: boolean;
}

export interface StartedMember {
  member: number;
  pid: number;
  log: string;
}

/**
 * Start member-i's daemon, detached, in its namespace; refuses when it already
 * runs. `cli` names the built CLI (asked only once the member may start).
 */
export async function startDaemon(layout: MemberLayout, name: string, i: number, nodePath: string, cli: () => string): Promise<StartedMember> {
  const f = layout.files(name, i);
  const now = daemonState(layout, name, i);
  if (now.running) throw new ShoalError('LAB_MEMBER_RUNNING', `m${i} of lab '${name}' is already running (pid ${now.pid})`);
  if (!existsSync(f.config)) throw new ShoalError('LAB_MEMBER_UNCONFIGURED', `m${i} of lab '${name}' has no configuration (${f.config})`);
  const cliFile = cli();
  const out = openSync(f.log, 'a', 0o600);
  let child;
  try {
    child = spawn('ip', ['netns', 'exec', `${labPrefix(name)}m${i}`, nodePath, ...DAEMON_NODE_FLAGS, cliFile, 'run', '--config', f.config], {
      detached: true,
      stdio: ['ignore', out, out],
    });
  } finally {
    closeSync(out);
  }
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (e: NodeJS.ErrnoException) =>
      reject(new ShoalError(e.code === 'ENOENT' ? 'LAB_IP_MISSING' : 'LAB_START_FAILED', `starting m${i}: ${e.message}`, { cause: e })),
    );
  });
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new ShoalError('LAB_START_FAILED', `starting m${i}: no process id`);
  const started = procStat(pid)?.startTime;
  if (started === undefined) throw new ShoalError('LAB_START_FAILED', `m${i} (pid ${pid}) exited at once: see ${f.log}`);
  await writePrivate(f.start, `${started}\n`);
  await writePrivate(f.pid, `${pid}\n`);
  return { member: i, pid, log: f.log };
}

/** Signal member-i's daemon by its recorded PID and wait until it is gone. */
export async function killDaemon(layout: MemberLayout, name: string, i: number, signal: NodeJS.Signals): Promise<{ member: number; pid: number }> {
  const d = daemonState(layout, name, i);
  if (!d.running || d.pid === null) throw new ShoalError('LAB_MEMBER_NOT_RUNNING', `m${i} of lab '${name}' is not running`);
  process.kill(d.pid, signal);
  if (!(await waitGone(d.pid, 3000))) throw new ShoalError('LAB_KILL_FAILED', `m${i} (pid ${d.pid}) is still running after ${signal}`);
  return { member: i, pid: d.pid };
}

/** Member-i's recorded PID and whether that process still runs. */
export function daemonState(layout: MemberLayout, name: string, i: number): DaemonState {
  const f = layout.files(name, i);
  let pid: number | null = null;
  try {
    const n = Number(readFileSync(f.pid, 'utf8').trim());
    if (Number.isInteger(n) && n > 1) pid = n;
  } catch {
    // never started
  }
  let started: string | null = null;
  try {
    started = readFileSync(f.start, 'utf8').trim();
  } catch {
    // never started
  }
  return { member: i, pid, running: pid !== null && started !== null && isLive(pid, started) };
}

/** Every member with a PID file, running or not, by member number. */
export async function daemonStates(layout: MemberLayout, name: string): Promise<DaemonState[]> {
  let entries: string[];
  try {
    entries = await readdir(layout.labDir(name));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  return entries
    .map((e) => /^m(\d+)\.pid$/.exec(e)?.[1])
    .filter((x): x is string => x !== undefined)
    .map(Number)
    .sort((a, b) => a - b)
    .map((i) => daemonState(layout, name, i));
}

/** The members whose daemon is alive. */
export async function runningDaemons(layout: MemberLayout, name: string): Promise<DaemonState[]> {
  return (await daemonStates(layout, name)).filter((d) => d.running);
}

/** Stop every running daemon of the lab: SIGTERM, then SIGKILL after `graceMs`. */
export async function stopDaemons(layout: MemberLayout, name: string, graceMs: number): Promise<{ member: number; pid: number }[]> {
  const alive = await runningDaemons(layout, name);
  for (const d of alive) if (d.pid !== null) process.kill(d.pid, 'SIGTERM');
  const stopped: { member: number; pid: number }[] = [];
  for (const d of alive) {
    if (d.pid === null) continue;
    if (!(await waitGone(d.pid, graceMs))) {
      process.kill(d.pid, 'SIGKILL');
      if (!(await waitGone(d.pid, 3000))) throw new ShoalError('LAB_KILL_FAILED', `m${d.member} (pid ${d.pid}) survived SIGKILL`);
    }
    stopped.push({ member: d.member, pid: d.pid });
  }
  return stopped;
}

/** A file under dist/ of the package (the built CLI, the flows script). */
export function distFile(root: string, relative: string): string {
  const file = join(root, 'dist', relative);
  if (!existsSync(file)) throw new ShoalError('LAB_DIST_MISSING', `${file} is missing: run \`npm run build\` first`);
  return file;
}

/** The directory holding the shoal package.json, walking up from this module (src/lab or dist/src/lab). */
export function packageRoot(from: string = import.meta.url): string {
  let dir = dirname(fileURLToPath(from));
  for (let k = 0; k < 8; k++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown };
      if (pkg.name === 'shoal') return dir;
    } catch {
      // not here
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new ShoalError('LAB_DIST_MISSING', 'cannot find the shoal package root (package.json) above this module');
}

/** Waits until `pid` has exited (gone, or a zombie waiting for its parent). */
async function waitGone(pid: number, timeoutMs: number): Promise<boolean> {
  const t0 = performance.now();
  const startTime = procStat(pid)?.startTime;
  while (startTime !== undefined && isLive(pid, startTime)) {
    if (performance.now() - t0 > timeoutMs) return false;
    await sleep(20);
  }
  return true;
}

/** State and start time (field 22, clock ticks after boot) of a live process; null when it has exited (gone or zombie). */
function procStat(pid: number): { state: string; startTime: string } | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = fields[0] ?? '';
  const startTime = fields[19];
  if (state === 'Z' || state === 'X' || startTime === undefined) return null;
  return { state, startTime };
}

/** True while `pid` is a live process started at `startTime` (so not a reused PID). */
function isLive(pid: number, startTime: string): boolean {
  return procStat(pid)?.startTime === startTime;
}

