/**
 * `shoal tunnels` (the IKE SAs on a member), `shoal sessions` (their CHILD
 * SAs) and `shoal tunnel kill <id>` (delete one: its client is sent a
 * Delete, the other members learn it ended). A tunnel lives on the member
 * that owns its work unit: ask that member.
 */
import type { Command } from 'commander';
import { ShoalError } from '../../../lib/errors.js';
import type { SessionView, TunnelView } from '../../admin/ipsec-views.js';
import { formatTable, printLine } from '../output.js';
import { adminCommand, formatAge, formatBytes, groupCommand, type AdminOptions } from './admin-query.js';

const TUNNEL_ID = /^[0-9a-fA-F]{16}$/;

export function printTunnels(rows: readonly TunnelView[]): void {
  if (rows.length === 0) return printLine('no tunnels on this member');
  printLine(
    formatTable(rows, [
      { header: 'ID', value: (t) => t.id },
      { header: 'PEER', value: (t) => t.peer },
      { header: 'IDENTITY', value: (t) => t.identity || '—' },
      { header: 'VIRTUAL IP', value: (t) => t.virtualIp ?? '—' },
      { header: 'UNIT', value: (t) => t.unit },
      { header: 'STATE', value: (t) => t.state },
      { header: 'AGE', value: (t) => formatAge(t.ageMs), align: 'right' },
      { header: 'CHILD SAS', value: (t) => t.children },
      { header: 'IN', value: (t) => formatBytes(t.bytesIn), align: 'right' },
      { header: 'OUT', value: (t) => formatBytes(t.bytesOut), align: 'right' },
    ]),
  );
}

export function printSessions(rows: readonly SessionView[]): void {
  if (rows.length === 0) return printLine('no sessions on this member');
  printLine(
    formatTable(rows, [
      { header: 'SPI IN', value: (s) => s.spiIn },
      { header: 'SPI OUT', value: (s) => s.spiOut },
      { header: 'TUNNEL', value: (s) => s.tunnel },
      { header: 'ESP', value: (s) => s.esp },
      { header: 'PKTS IN', value: (s) => s.packetsIn },
      { header: 'PKTS OUT', value: (s) => s.packetsOut },
      { header: 'IN', value: (s) => formatBytes(s.bytesIn), align: 'right' },
      { header: 'OUT', value: (s) => formatBytes(s.bytesOut), align: 'right' },
      { header: 'AGE', value: (s) => formatAge(s.ageMs), align: 'right' },
    ]),
  );
}

export function tunnelCommands(): Command[] {
  const tunnels = adminCommand(
    'tunnels',
    'the IKE SAs (tunnels) on this member: id, client, identity, virtual IP, unit, age, CHILD SAs, bytes',
    () => ({ command: 'tunnels' }),
    (r) => printTunnels(r as TunnelView[]),
  );
  const sessions = adminCommand(
    'sessions',
    'the CHILD SAs (sessions) on this member: SPIs, tunnel, algorithms, packets and bytes each way, age',
    () => ({ command: 'sessions' }),
    (r) => printSessions(r as SessionView[]),
  );
  const kill = adminCommand<AdminOptions>(
    'kill',
    "delete a tunnel: its client is sent a Delete and the cluster forgets it (ask the member that has it, see 'shoal tunnels')",
    ([id = '']) => {
      if (!TUNNEL_ID.test(id)) throw new ShoalError('BAD_TUNNEL_ID', `tunnel kill: '${id}' is not a tunnel id (16 hex digits, as 'shoal tunnels' shows it)`);
      return { command: 'tunnel-kill', args: { id: id.toLowerCase() } };
    },
    (r) => {
      const k = r as { id: string; deleteSent: boolean };
      printLine(k.deleteSent ? `tunnel ${k.id} deleted; its client was sent a Delete` : `tunnel ${k.id} deleted (it was not established: no Delete to send)`);
    },
  ).argument('<id>', "the tunnel's id (its responder SPI, as 'shoal tunnels' shows it)");
  return [tunnels, sessions, groupCommand('tunnel', 'act on one tunnel (IKE SA)', [kill])];
}
