/**
 * The composition root of one member: the only place that creates OS
 * resources and wires them into the cores.
 *
 *   config file ─► DaemonConfig ─► credentials ─► MemberCore
 *   UDP multicast transport ─┐  (+ a unicast data socket on port + 1 in forwarding mode)
 *   system clock + timers ───┼─► MemberRunner ─► AppHost(apps)
 *   admin socket ◄───────────┘   (admin-handler.ts: views, leave/join, tunnel kill)
 *   metrics endpoint (config "metrics") ◄── the same views as Prometheus text
 */
import { readFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { dirname, resolve } from 'node:path';
import { AppHost } from '../apps/app-host.js';
import type { ClusterApplication } from '../apps/application.js';
import { DemoApp, type DemoEvent } from '../apps/demo/demo-app.js';
import { MemberCore } from '../cluster/membership/core.js';
import { ForwardSide } from '../cluster/messages.js';
import { ShoalError } from '../lib/errors.js';
import { formatIpv4, parseIpv4 } from '../lib/ipv4.js';
import { AdminServer } from '../mgmt/admin/server.js';
import { jsonLogger, LogRing, type Logger } from '../mgmt/log.js';
import { readBearerToken } from '../mgmt/metrics/bearer.js';
import { MetricsServer } from '../mgmt/metrics/http.js';
import { UdpControlTransport } from '../ports/control-transport-udp.js';
import { cryptoRandom } from '../ports/crypto-random.js';
import { systemClock, systemTimers } from '../ports/timers.js';
import { openLinuxTap } from '../ports/tap-linux.js';
import type { TapDevice } from '../ports/tap.js';
import { memberMac } from '../stack/delivery-mode.js';
import { parseDaemonConfig, type DaemonConfig } from './config.js';
import { DataPlane } from './data-plane.js';
import { makeIpsecHandler } from './ipsec-setup.js';
import type { IpsecHandler } from '../apps/ipsec/ipsec-handler.js';
import { IPSEC_APP, IpsecApp } from '../apps/ipsec/ipsec-app.js';
import { ReplicationDriver } from './replication-driver.js';
import { loadCredentials } from './credentials.js';
import { MemberRunner } from './member-runner.js';
import { memberAdmin } from './admin-handler.js';
import { FailoverCount } from './failover-count.js';

export interface Daemon {
  config: DaemonConfig;
  runner: MemberRunner;
  logger: Logger;
  stop(): Promise<void>;
}

/** What the member's supervisor (supervisor.ts) plugs into one run of the daemon. */
export interface DaemonHooks {
  /** The admin socket's `reload`: re-read the config source, restart if it changed (answers before restarting). */
  reload?: () => unknown;
}

export function readDaemonConfig(path: string): DaemonConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ShoalError('BAD_CONFIG', `cannot read configuration ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const base = dirname(resolve(path));
  return parseDaemonConfig(raw, (p) => resolve(base, p));
}

/** A demo application event as log fields: members as addresses, unit lists as counts and a short sample. */
function demoFields(e: DemoEvent): Record<string, unknown> {
  switch (e.kind) {
    case 'approve':
      return { candidate: formatIpv4(e.candidate), verdict: e.verdict };
    case 'members':
      return { added: e.added.map(formatIpv4), removed: e.removed.map(formatIpv4) };
    case 'gained':
    case 'lost':
      return { count: e.units.length, units: e.units.slice(0, 8) };
  }
}

/** The TAPs and the host for the cluster's addresses; closes what it opened if a later step fails. */
function openDataPlane(config: DaemonConfig, core: MemberCore, logger: Logger): DataPlane {
  const o = config.outer;
  if (!o) throw new ShoalError('BAD_CONFIG', 'config: outer: missing');
  const self = parseIpv4(config.memberAddress);
  const i = config.inner;
  const outer = openLinuxTap({ name: o.tap, kind: 'tap' });
  let inner: TapDevice | undefined;
  try {
    if (i) inner = openLinuxTap({ name: i.tap, kind: 'tap' });
    return new DataPlane(
      { outer, ...(inner ? { inner } : {}) },
      core,
      {
        mode: o.mode,
        outer: { address: o.clusterIp, ownMac: memberMac(self, 'outer'), subnet: o.subnet, gateway: o.gateway, mtu: o.mtu },
        ...(i ? { inner: { address: i.address, ownMac: memberMac(self, 'inner'), subnet: i.subnet, gateway: i.gateway, routes: i.routes, mtu: i.mtu } } : {}),
      },
      systemClock,
      systemTimers,
      logger,
    );
  } catch (e) {
    outer.close();
    inner?.close();
    throw e;
  }
}

/**
 * The member's CPU priority. Its keepalives must leave within a fraction of
 * the 200 ms watchdog window; on a box shared with other work (the lab's
 * clients, a CI runner's test workers) a normal priority let a busy CPU delay
 * them long enough for healthy members to be declared dead.
 */
export const DAEMON_NICE = -10;
const STALL_CHECK_MS = 50;

function raisePriority(logger: Logger): void {
  try {
    setPriority(0, DAEMON_NICE);
  } catch (e) {
    logger.log('warn', 'priority-unchanged', { wanted: DAEMON_NICE, error: e instanceof Error ? e.message : String(e) });
  }
}

export async function startDaemon(configPath: string, log?: Logger, apps?: ClusterApplication[]): Promise<Daemon> {
  return startDaemonWith(readDaemonConfig(configPath), log, apps);
}

export async function startDaemonWith(config: DaemonConfig, log?: Logger, apps?: ClusterApplication[], hooks: DaemonHooks = {}): Promise<Daemon> {
  // 'self', not 'member': events about other members (member-removed …) carry a 'member' field of their own.
  // The newest lines stay in memory too, for `shoal log` (a logger passed in by a test keeps its own).
  const ring = new LogRing();
  const logger = log ?? jsonLogger((l) => process.stderr.write(l), config.logLevel, { self: config.memberAddress }, ring);
  if (!log) raisePriority(logger); // a daemon process of its own, not one embedded in a test
  const { credentials, trust } = loadCredentials(config, (level, event, fields) => logger.log(level, event, fields));
  const wallOffset = systemClock.wallNow() - systemClock.now();
  // The data plane is made after the core; the core asks it for hand-over markers only once running.
  let dataPlane: DataPlane | null = null;
  let ipsec: IpsecHandler | null = null;
  const core = new MemberCore(
    {
      self: parseIpv4(config.memberAddress),
      clusterId: config.clusterId,
      configVersion: config.configVersion,
      incarnation: Math.floor(systemClock.wallNow()),
      credentials,
      trust,
      timing: config.timing,
      maxSkewMs: 30_000,
      handoffMarker: (unit) => dataPlane?.handoffMarker(unit) ?? 0,
    },
    cryptoRandom,
    wallOffset,
  );
  const transport = await UdpControlTransport.open({ address: config.memberAddress, group: config.group, port: config.port });
  // Forwarded packets get a socket of their own: in one queue with keepalives, a flood of them delayed
  // the keepalives past the watchdog (or overflowed the queue), and members were removed.
  let data: UdpControlTransport | undefined;
  try {
    if (config.outer?.mode === 'forwarding') data = await UdpControlTransport.open({ address: config.memberAddress, group: config.group, port: config.port + 1, multicast: false });
  } catch (e) {
    await transport.close();
    throw e;
  }
  const closeTransports = async (): Promise<void> => {
    await transport.close();
    await data?.close();
  };
  // The tunnel handler exists before the runner: its application hooks are wired into the runner's app host.
  let replication: ReplicationDriver | null = null;
  let ipsecApp: IpsecApp | null = null;
  if (config.ipsec) {
    try {
      ipsec = makeIpsecHandler(config, logger, cryptoRandom, () => systemClock.wallNow());
    } catch (e) {
      await closeTransports();
      throw e;
    }
    ipsecApp = new IpsecApp(ipsec, { records: (app, unit) => replication?.replicator.records(app, unit) ?? [] }, () => systemClock.now(), (event, fields) =>
      logger.log('info', event, fields),
    );
  }
  const demo = new DemoApp({ maxEvents: 100, log: (e) => logger.log('info', `demo.${e.kind}`, demoFields(e)) });
  const host = new AppHost(apps ?? (ipsecApp ? [demo, ipsecApp] : [demo]));
  const runner = new MemberRunner(core, { transport, ...(data ? { data } : {}), clock: systemClock, timers: systemTimers, apps: host, log: logger });
  const repl = new ReplicationDriver(core, runner, systemClock, systemTimers, logger, (unit) => ipsecApp?.exportOwned(unit) ?? []);
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  // A turn that held the loop for half a watchdog window is logged: it is what makes healthy members look dead.
  let stallCheckAt = systemClock.now();
  const stallWatch = setInterval(() => {
    const now = systemClock.now();
    const late = now - stallCheckAt - STALL_CHECK_MS;
    stallCheckAt = now;
    if (late > config.timing.watchdogMs / 2) logger.log('warn', 'event-loop-stall', { ms: Math.round(late) });
  }, STALL_CHECK_MS);
  stallWatch.unref();
  replication = repl;
  runner.onAction((a) => repl.onAction(a));
  const failovers = new FailoverCount(core.self, (u) => core.ctx.view.ownerOf(u));
  runner.onAction((a) => failovers.onAction(a));
  if (ipsec) {
    const handler = ipsec;
    handler.replicate = (now, unit, key, body) => repl.publish(now, IPSEC_APP, unit, key, body);
    handler.replicationAcked = (unit, key) => repl.replicator.acked(IPSEC_APP, unit, key);
  }
  if (config.outer) {
    try {
      dataPlane = openDataPlane(config, core, logger);
    } catch (e) {
      await closeTransports();
      throw e;
    }
    const dp = dataPlane;
    if (ipsec) dp.host.attach(ipsec);
    dp.ready = () => repl.ready;
    repl.onReady(() => {
      // Records that arrived with the bulk sync: adopt the units gained while waiting, then serve them.
      ipsecApp?.unitsGained(core.servedUnits());
      dp.becameReady();
    });
    runner.onAction((a) => dp.onAction(a));
    if (config.outer.mode === 'forwarding') {
      dp.forwarder = (to, unit, side, packet) =>
        runner.applyActions(core.forward(systemClock.now(), to, unit, side === 'inner' ? ForwardSide.Inner : ForwardSide.Outer, packet));
    }
  }
  const adminParts = memberAdmin({
    clusterName: config.clusterName,
    core,
    runner,
    clock: systemClock,
    dataPlane: () => dataPlane,
    ipsec,
    replication: repl,
    loopDelay,
    ring,
    failovers,
    reload: hooks.reload,
  });
  let admin: AdminServer;
  let metrics: MetricsServer | null = null;
  try {
    admin = await AdminServer.listen(config.adminSocket, adminParts.handle, { logger });
    try {
      if (config.metrics) {
        const file = config.metrics.bearerTokenFile;
        metrics = await MetricsServer.listen(config.metrics, adminParts.metrics, file === undefined ? undefined : readBearerToken(file));
      }
    } catch (e) {
      await admin.close();
      throw e;
    }
  } catch (e) {
    dataPlane?.stop();
    await closeTransports();
    throw e;
  }
  dataPlane?.start();
  runner.start();
  loopDelay.reset(); // start-up (module loading, credentials) is not what the figure is for
  logger.log('info', 'started', {
    cluster: config.clusterName,
    admin: config.adminSocket,
    group: config.group,
    port: config.port,
    metrics: metrics ? `${metrics.address.host}:${metrics.address.port}` : null,
  });
  return {
    config,
    runner,
    logger,
    async stop() {
      clearInterval(stallWatch);
      loopDelay.disable();
      repl.stop();
      dataPlane?.stop();
      await admin.close();
      await metrics?.close();
      await runner.stop();
      logger.log('info', 'stopped');
    },
  };
}
