/**
 * Cut and heal the lab's interconnect with nftables, inside the member
 * namespaces: a cut member drops UDP to and from the control port and the
 * data port beside it (forwarded packets, port + 1) on ic0, so
 * it hears no other member and elects itself master; healing removes the
 * table and the masters meet again. The rules live in one table of their own
 * (shoal_lab_partition), so healing never touches anything else.
 */
import { ShoalError } from '../lib/errors.js';
import { COMMAND_NOT_FOUND, type CommandRunner } from '../ports/command.js';
import { CLUSTER, MEMBER_DEVICES, labPrefix } from './plan.js';

/** The nftables table `partition` adds inside a member namespace. */
const PARTITION_TABLE = 'shoal_lab_partition';

/** The ruleset that cuts a member off the interconnect (replacing any earlier cut). */
export function partitionRules(): string {
  const ic = MEMBER_DEVICES.interconnect;
  // The control port and, beside it, the forwarded packets' data port (src/daemon/daemon.ts).
  const port = `${CLUSTER.controlPort}-${CLUSTER.controlPort + 1}`;
  return [
    // Replace any earlier cut: make sure the table exists, drop it, then write it whole.
    `table ip ${PARTITION_TABLE}`,
    `delete table ip ${PARTITION_TABLE}`,
    `table ip ${PARTITION_TABLE} {`,
    '  chain in {',
    '    type filter hook input priority 0; policy accept;',
    `    iifname "${ic}" udp dport ${port} drop`,
    `    iifname "${ic}" udp sport ${port} drop`,
    '  }',
    '  chain out {',
    '    type filter hook output priority 0; policy accept;',
    `    oifname "${ic}" udp dport ${port} drop`,
    `    oifname "${ic}" udp sport ${port} drop`,
    '  }',
    '}',
    '',
  ].join('\n');
}

/** The ruleset that undoes `partitionRules` (and does nothing where there is no cut). */
export function healRules(): string {
  return `table ip ${PARTITION_TABLE}\ndelete table ip ${PARTITION_TABLE}\n`;
}

/** Load `rules` with `nft -f -` in each member's namespace; fails when nftables is missing or any load fails. */
export async function applyNft(runner: CommandRunner, name: string, members: readonly number[], rules: string): Promise<void> {
  try {
    const v = await runner.run(['nft', '--version']);
    if (v.code !== 0) throw new ShoalError('LAB_NFT_MISSING', `\`nft --version\` failed (exit ${v.code}): install nftables`);
  } catch (e) {
    if (e instanceof ShoalError && e.code === COMMAND_NOT_FOUND)
      throw new ShoalError('LAB_NFT_MISSING', '`nft` not found: partition and heal need nftables (apt-get install nftables)', { cause: e });
    throw e;
  }
  const results = await Promise.all(
    members.map(async (i) => ({ i, r: await runner.run(['ip', 'netns', 'exec', `${labPrefix(name)}m${i}`, 'nft', '-f', '-'], { input: rules }) })),
  );
  const bad = results.find((x) => x.r.code !== 0);
  if (bad !== undefined) throw new ShoalError('LAB_COMMAND_FAILED', `nft in m${bad.i} failed (exit ${bad.r.code}): ${bad.r.stderr.trim().split('\n')[0] ?? ''}`);
}
