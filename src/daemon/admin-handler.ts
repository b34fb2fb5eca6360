/**
 * What a running member answers on its admin socket and its metrics
 * endpoint, from the parts the composition root made. Reads go through the
 * views (mgmt/admin/*-view.ts), so the CLI, the shell and a scrape show the
 * same figures; the three commands that act (cluster leave/join, tunnel kill)
 * drive the core and the IPsec handler here and apply what they return.
 *
 *   request ─► status | members | units | tunnels | sessions | counters | log ─► view
 *           ─► cluster-leave ─► core.leave ─► runner (units lost, apps) ─► replication reset
 *           ─► cluster-join  ─► core.rejoin ─► runner
 *           ─► tunnel-kill   ─► ipsec.kill (Delete to the client, tombstone) ─► data plane sends it
 */
import type { Histogram } from 'node:perf_hooks';
import type { IpsecHandler } from '../apps/ipsec/ipsec-handler.js';
import type { MemberCore } from '../cluster/membership/core.js';
import type { Clock } from '../lib/clock.js';
import { ShoalError } from '../lib/errors.js';
import { countersView, type CountersView } from '../mgmt/admin/counters-view.js';
import { sessionsView, tunnelsView } from '../mgmt/admin/ipsec-views.js';
import type { AdminRequest } from '../mgmt/admin/protocol.js';
import { membersView, statusView, unitsView } from '../mgmt/admin/views.js';
import type { LogRing } from '../mgmt/log.js';
import { formatExposition } from '../mgmt/metrics/exposition.js';
import { shoalMetrics } from '../mgmt/metrics/shoal-metrics.js';
import type { DataPlane } from './data-plane.js';
import type { FailoverCount } from './failover-count.js';
import type { MemberRunner } from './member-runner.js';
import type { ReplicationDriver } from './replication-driver.js';

export interface MemberParts {
  clusterName: string;
  core: MemberCore;
  runner: MemberRunner;
  clock: Clock;
  /** Made after the admin parts in some start-ups, hence a getter. */
  dataPlane: () => DataPlane | null;
  ipsec: IpsecHandler | null;
  replication: ReplicationDriver;
  loopDelay: Histogram;
  ring: LogRing;
  failovers: FailoverCount;
  /** `reload`, when a supervisor runs this member from a config source (supervisor.ts). */
  reload?: (() => unknown) | undefined;
}

/** Event-loop delay since start in ms (the histogram counts nanoseconds), two decimals. */
function eventLoop(h: Histogram): { p99Ms: number; maxMs: number } {
  return { p99Ms: Math.round(h.percentile(99) / 1e4) / 100, maxMs: Math.round(h.max / 1e4) / 100 };
}

function counters(p: MemberParts): CountersView {
  const dp = p.dataPlane();
  const repl = p.replication.counters();
  return countersView({
    traffic: dp?.traffic() ?? [],
    host: dp?.counters() ?? null,
    ipsec: p.ipsec?.allCounters() ?? null,
    control: p.core.status().counters,
    failovers: p.failovers.count,
    replication: { ready: p.replication.ready, backlog: repl['inFlight'] ?? 0, records: repl['records'] ?? 0 },
  });
}

export function memberAdmin(p: MemberParts): { handle: (request: AdminRequest) => unknown; metrics: () => string } {
  const now = (): number => p.clock.now();
  const sas = () => p.ipsec?.responder.state.sas.values() ?? [];
  const handle = (request: AdminRequest): unknown => {
    switch (request.command) {
      case 'status': {
        const ipsec = p.ipsec;
        return {
          ...statusView(p.core, p.clusterName),
          dataPlane: p.dataPlane()?.counters() ?? null,
          ipsec: ipsec ? { sas: ipsec.responder.state.sas.size, counters: Object.fromEntries(ipsec.allCounters()) } : null,
          replication: { ready: p.replication.ready, ...p.replication.counters() },
          // Exceptions caught at the control plane's entry points (datagram, tick, approval, actions, listeners).
          runner: p.runner.guard.counters(),
          // How long the event loop was held (keepalives and packets wait meanwhile), since start.
          eventLoop: eventLoop(p.loopDelay),
        };
      }
      case 'members':
        return membersView(p.core);
      case 'units':
        return unitsView(p.core);
      case 'tunnels':
        return tunnelsView(sas(), now());
      case 'sessions':
        return sessionsView(sas(), now());
      case 'counters':
        return counters(p);
      case 'log':
        return p.ring.last(request.args.lines, request.args.level);
      case 'cluster-leave':
        return leave(p);
      case 'cluster-join':
        return join(p);
      case 'tunnel-kill':
        return kill(p, request.args.id);
      case 'reload':
        if (!p.reload) throw new ShoalError('NO_CONFIG_SOURCE', 'this member was started without a config source to reload from');
        return p.reload();
    }
  };
  const metrics = (): string => {
    const tunnels = [...sas()];
    return formatExposition(
      shoalMetrics({
        status: statusView(p.core, p.clusterName),
        members: membersView(p.core),
        counters: counters(p),
        tunnels: { ike: tunnels.length, child: tunnels.reduce((n, sa) => n + sa.children.length, 0) },
        eventLoop: eventLoop(p.loopDelay),
      }),
    );
  };
  return { handle, metrics };
}

function leave(p: MemberParts): { role: string; released: number } {
  const role = p.core.status().role;
  if (role === 'left') throw new ShoalError('ALREADY_LEFT', "this member has left the cluster already; 'cluster join' brings it back");
  const released = p.core.servedUnits().length;
  p.runner.applyActions(p.core.leave(p.clock.now()));
  // Its replicas go stale from now on: on rejoining it waits for fresh bulk syncs before serving.
  p.replication.reset();
  return { role: p.core.status().role, released };
}

function join(p: MemberParts): { role: string } {
  const role = p.core.status().role;
  if (role !== 'left') throw new ShoalError('NOT_LEFT', `this member is not out of the cluster by 'cluster leave' (its role is ${role})`);
  p.runner.applyActions(p.core.rejoin(p.clock.now()));
  return { role: p.core.status().role };
}

function kill(p: MemberParts, id: string): { id: string; deleteSent: boolean } {
  if (p.ipsec === null) throw new ShoalError('NO_SUCH_TUNNEL', `no tunnel ${id}: this member runs no IPsec`);
  const out = p.ipsec.kill(p.clock.now(), id);
  if (out === null) throw new ShoalError('NO_SUCH_TUNNEL', `no tunnel ${id} on this member`);
  p.dataPlane()?.sendTunnelOutputs(out);
  return { id, deleteSent: out.some((o) => o.kind === 'udp') };
}
