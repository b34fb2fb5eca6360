/**
 * `shoal cluster leave` takes the member out of the cluster: it stops
 * serving at once, and the others take its units over (with its sessions,
 * from their replicas) when it falls silent; `shoal cluster join` brings it
 * back, as a joiner that serves again once it has the others' records.
 */
import type { Command } from 'commander';
import { printLine } from '../output.js';
import { adminCommand, groupCommand } from './admin-query.js';

export function clusterCommand(): Command {
  const leave = adminCommand(
    'leave',
    'this member stops serving and leaves the cluster (the others take its units and tunnels over)',
    () => ({ command: 'cluster-leave' }),
    (r) => {
      const v = r as { released: number };
      printLine(`left the cluster: released ${v.released} units; 'cluster join' brings this member back`);
    },
  );
  const join = adminCommand(
    'join',
    'this member joins the cluster again after a leave',
    () => ({ command: 'cluster-join' }),
    (r) => printLine(`joining the cluster (role ${(r as { role: string }).role})`),
  );
  return groupCommand('cluster', "take this member out of the cluster and back in", [leave, join]);
}
