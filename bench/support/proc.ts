/**
 * What the IPsec benches read about a server process from /proc: CPU time
 * (utime + stime of the whole thread group, field 14 + 15 of /proc/<pid>/stat)
 * and resident memory (VmRSS of /proc/<pid>/status); and pinning a process
 * with every thread to one core (`taskset -a -p`).
 */
import { readFileSync } from 'node:fs';
import { NodeCommandRunner } from '../../src/ports/command-node.js';

/** USER_HZ: 100 on every Linux this runs on (getconf CLK_TCK). */
const CLOCK_TICKS = 100;
const runner = new NodeCommandRunner();

/** utime + stime of `pid` (all its threads) in seconds; throws when the process is gone. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): utime is field 14, stime field 15.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`cannot read CPU times of pid ${pid}: ${stat}`);
  return (utime + stime) / CLOCK_TICKS;
}

/** The summed CPU seconds of several processes. */
export function cpuSecondsOf(pids: readonly number[]): number {
  return pids.reduce((s, p) => s + cpuSeconds(p), 0);
}

/** Resident set size of `pid` in bytes (VmRSS). */
export function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (m === null) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

export function rssBytesOf(pids: readonly number[]): number {
  return pids.reduce((s, p) => s + rssBytes(p), 0);
}

/** Pin every thread of `pid` to `cpu` (taskset -a -p -c); throws with taskset's output on failure. */
export async function pinProcess(pid: number, cpu: number): Promise<void> {
  const r = await runner.run(['taskset', '-a', '-p', '-c', String(cpu), String(pid)]);
  if (r.code !== 0) throw new Error(`taskset -a -p -c ${cpu} ${pid}: exit ${r.code}\n${(r.stdout + r.stderr).trim()}`);
}

/** UDP datagrams a namespace's kernel dropped for a full socket receive buffer (Udp RcvbufErrors in /proc/net/snmp). */
export async function udpRcvbufErrors(ns: string): Promise<number> {
  const r = await runner.run(['ip', 'netns', 'exec', ns, 'cat', '/proc/net/snmp']);
  const udp = r.stdout.split('\n').filter((l) => l.startsWith('Udp:'));
  const names = udp[0]?.split(/\s+/) ?? [];
  const values = udp[1]?.split(/\s+/) ?? [];
  const k = names.indexOf('RcvbufErrors');
  if (r.code !== 0 || k < 0) throw new Error(`no Udp RcvbufErrors in /proc/net/snmp of ${ns}: ${r.stderr}`);
  return Number(values[k]);
}
