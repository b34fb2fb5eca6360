/**
 * The commands an administrator runs against a member, one-shot and in the
 * shell: tunnels, sessions, tunnel kill, counters, log, cluster leave|join,
 * and the shell itself (which needs the whole program to dispatch to).
 */
import type { Command } from 'commander';
import { clusterCommand } from './cluster.js';
import { countersCommand } from './counters.js';
import { logCommand } from './log.js';
import { shellCommand } from './shell.js';
import { tunnelCommands } from './tunnels.js';

export function adminCommands(program: () => Command): Command[] {
  return [...tunnelCommands(), countersCommand(), logCommand(), clusterCommand(), shellCommand(program)];
}
