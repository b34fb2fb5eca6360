/**
 * Network namespaces for integration tests: a run-unique prefix, addresses
 * from 198.18.0.0/15 only, and cleanup of everything the run made (also of
 * namespaces a crashed earlier run with the same prefix left). Every command
 * failure throws with the command and its stderr: a missing privilege or tool
 * fails the test loudly.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export function runPrefix(tag: string): string {
  return `st${tag}${process.pid % 10000}${randomBytes(2).toString('hex')}-`;
}

export function sh(argv: string[], input?: string): string {
  try {
    return execFileSync(argv[0] ?? 'false', argv.slice(1), { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`${argv.join(' ')} failed: ${(err.stderr ?? err.message).trim()}`);
  }
}

/** Run `ip -batch` lines inside one namespace (or in the root one for `netns add` only). */
export function ipBatch(ns: string | null, lines: string[]): void {
  sh(ns === null ? ['ip', '-batch', '-'] : ['ip', '-n', ns, '-batch', '-'], `${lines.join('\n')}\n`);
}

export function listNamespaces(prefix: string): string[] {
  return sh(['ip', 'netns', 'list'])
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(prefix));
}

export function deleteNamespaces(prefix: string): void {
  for (const ns of listNamespaces(prefix)) sh(['ip', 'netns', 'del', ns]);
}

/**
 * An interconnect LAN: a bridge in its own namespace and one namespace per
 * member with `ic0` at 198.18.3.(10+i)/24, multicast routed out of ic0.
 */
export function interconnect(prefix: string, members: number): { ns: (i: number) => string; address: (i: number) => string } {
  const sw = `${prefix}sw`;
  const ns = (i: number): string => `${prefix}m${i}`;
  const address = (i: number): string => `198.18.3.${10 + i}`;
  ipBatch(null, [sw, ...Array.from({ length: members }, (_, k) => ns(k + 1))].map((n) => `netns add ${n}`));
  const swLines = ['link add ic type bridge mcast_snooping 0', 'link set ic up', 'link set lo up'];
  for (let i = 1; i <= members; i++) swLines.push(`link add ic${i} type veth peer name ic0 netns ${ns(i)}`, `link set ic${i} master ic up`);
  ipBatch(sw, swLines);
  for (let i = 1; i <= members; i++) {
    ipBatch(ns(i), ['link set lo up', `addr add ${address(i)}/24 dev ic0`, 'link set ic0 up multicast on', 'route add 224.0.0.0/4 dev ic0']);
  }
  return { ns, address };
}

/** Start a process inside a namespace; the caller stops it by PID. */
export function spawnIn(ns: string, argv: string[], log: (line: string) => void): ChildProcess {
  const child = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.setEncoding('utf8').on('data', (d: string) => log(d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => log(d));
  return child;
}
