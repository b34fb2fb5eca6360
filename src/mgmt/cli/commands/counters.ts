/** `shoal counters`: a member's traffic per side and direction, ESP packets, drops by reason, failovers and replication backlog. */
import type { Command } from 'commander';
import type { CountersView } from '../../admin/counters-view.js';
import { formatTable, printLine } from '../output.js';
import { adminCommand, formatBytes } from './admin-query.js';

export function printCounters(c: CountersView): void {
  if (c.traffic.length === 0) printLine('traffic: this member has no data plane');
  else {
    printLine('traffic');
    printLine(
      formatTable(c.traffic, [
        { header: 'SIDE', value: (t) => t.side },
        { header: 'RX PACKETS', value: (t) => t.rxPackets },
        { header: 'RX BYTES', value: (t) => formatBytes(t.rxBytes), align: 'right' },
        { header: 'TX PACKETS', value: (t) => t.txPackets },
        { header: 'TX BYTES', value: (t) => formatBytes(t.txBytes), align: 'right' },
      ]),
    );
  }
  printLine(`esp packets: in ${c.esp.in}, out ${c.esp.out}`);
  if (c.drops.length === 0) printLine('drops: none');
  else {
    printLine('drops');
    printLine(
      formatTable(c.drops, [
        { header: 'LAYER', value: (d) => d.layer },
        { header: 'REASON', value: (d) => d.reason },
        { header: 'COUNT', value: (d) => d.count },
      ]),
    );
  }
  printLine(`failovers: ${c.failovers} units taken over from failed or departed members`);
  const r = c.replication;
  printLine(`replication: ${r.ready ? 'ready' : 'waiting for bulk sync'}, backlog ${r.backlog} unacknowledged, ${r.records} records held`);
}

export function countersCommand(): Command {
  return adminCommand(
    'counters',
    'traffic per side and direction, ESP packets, drops by layer and reason, failovers and the replication backlog of this member',
    () => ({ command: 'counters' }),
    (r) => printCounters(r as CountersView),
  );
}
