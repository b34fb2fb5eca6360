/**
 * Drives one MemberCore with real (or test) ports:
 *
 *   transport datagram ─► core.handleDatagram ─┐
 *   data datagram ──────► core.handleDatagram ─┤               ┌► data.send (ForwardedPacket)
 *   timer at core.nextWakeAt() ─► core.tick ───┼─► actions ─► send ─┴► transport.send (the rest)
 *   application verdicts ─► core.approvalResult ┘            ├► AppHost hooks
 *                                                            ├► listeners (data plane: units, ARP)
 *                                                            └► logger
 *
 * The core never sees a socket or a timer; this is the only place they meet.
 * Every entry point here (a datagram, the timer, a join verdict) runs under
 * an EntryGuard: what the core, an application hook or a listener throws is
 * counted and logged, costs that one action, and the timer is armed again,
 * so the member keeps its keepalives going whatever an input did.
 */
import type { AppHost } from '../apps/app-host.js';
import type { Action } from '../cluster/membership/actions.js';
import type { MemberCore } from '../cluster/membership/core.js';
import { MessageType } from '../cluster/messages.js';
import { EntryGuard } from '../lib/guard.js';
import { formatIpv4 } from '../lib/ipv4.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../mgmt/log.js';
import type { ControlTransport } from '../ports/control-transport.js';
import type { Timers } from '../ports/timers.js';

export interface RunnerPorts {
  transport: ControlTransport;
  /**
   * Forwarding mode: the interconnect socket for forwarded packets only, so
   * a flood of them never queues in front of keepalives and elections in the
   * control socket (nor overflows it).
   */
  data?: ControlTransport;
  clock: Clock;
  timers: Timers;
  apps: AppHost;
  log: Logger;
}

export class MemberRunner {
  private cancelTimer: (() => void) | null = null;
  private timerAt = Infinity;
  private stopped = false;
  private readonly listeners: ((a: Action) => void)[] = [];
  /** Runs a callback after pending I/O has been read (tests may run it at once). */
  defer: (fn: () => void) => void = (fn) => void setImmediate(fn);
  /** Exceptions caught at this runner's entry points ('exception.<where>' in status). */
  readonly guard: EntryGuard;

  constructor(
    readonly core: MemberCore,
    private readonly ports: RunnerPorts,
  ) {
    this.guard = new EntryGuard('runner', ports.log, ports.clock);
  }

  /** Hear every action (the data plane follows units and the cluster-address announcements). */
  onAction(listener: (a: Action) => void): void {
    this.listeners.push(listener);
  }

  start(): void {
    this.ports.transport.onDatagram((bytes) => this.enter('datagram', () => this.core.handleDatagram(this.ports.clock.now(), bytes)));
    this.ports.data?.onDatagram((bytes) => this.enter('data', () => this.core.handleDatagram(this.ports.clock.now(), bytes)));
    this.apply(this.core.start(this.ports.clock.now()));
  }

  /** One entry point's work: the core's answer applied, the timer armed again even when something threw half-way. */
  private enter(where: string, produce: () => Action[]): void {
    if (this.stopped) return;
    this.guard.run(where, () => this.apply(produce()));
    this.guard.run('schedule', () => this.schedule());
  }

  /** Actions the core returned to a call made outside the runner (the data plane forwarding a packet). */
  applyActions(actions: Action[]): void {
    if (!this.stopped && actions.length > 0) this.apply(actions);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.cancelTimer?.();
    await this.ports.transport.close();
    await this.ports.data?.close();
  }

  private apply(actions: Action[]): void {
    for (const a of actions) {
      // One action that throws (an application hook, say) costs that action, not the ones after it.
      this.guard.run(a.kind, () => this.act(a));
      for (const l of this.listeners) this.guard.run(`listener.${a.kind}`, () => l(a));
    }
    this.schedule();
  }

  private act(a: Action): void {
    switch (a.kind) {
      case 'send':
        if (this.ports.data && a.message.type === MessageType.ForwardedPacket) this.ports.data.send(a.bytes, a.to);
        else this.ports.transport.send(a.bytes, a.to);
        break;
      case 'approve-join':
        this.approve(a.requestId, a);
        break;
      case 'log':
        this.ports.log.log(a.level, a.event, a.fields);
        break;
      case 'role':
        this.ports.log.log('info', 'role', { role: a.role, master: a.master === null ? null : formatIpv4(a.master), term: a.term });
        break;
      case 'join-refused':
        this.ports.log.log('error', 'join-refused', { reason: a.reason, detail: a.detail });
        break;
      case 'excluded':
        // Out of the cluster until the versions match: the supervisor watches the config source meanwhile.
        this.ports.log.log('error', 'config-version-mismatch', {
          configVersion: a.configVersion,
          masterConfigVersion: a.masterConfigVersion,
          master: formatIpv4(a.master),
          reason: a.reason,
        });
        break;
      case 'alarm':
        this.ports.log.log(a.raised ? 'warn' : 'info', 'alarm', { code: a.code, raised: a.raised, p: a.p });
        break;
      case 'units-gained':
      case 'units-lost':
      case 'members-changed':
        this.ports.apps.deliver(a);
        if (a.kind === 'members-changed') this.ports.log.log('info', 'members', { members: a.members.map(formatIpv4) });
        else this.ports.log.log('debug', a.kind, { count: a.units.length });
        break;
      default:
        break;
    }
  }

  private approve(requestId: number, a: Extract<Action, { kind: 'approve-join' }>): void {
    const verdict = this.ports.apps.approve(a.candidate);
    if (!(verdict instanceof Promise)) {
      // Answer after the current batch, so the NAK "in progress" goes out first.
      queueMicrotask(() => this.answer(requestId, verdict));
      return;
    }
    verdict.then(
      (v) => this.answer(requestId, v),
      (e: unknown) => this.answer(requestId, { approve: false, reason: `application failed: ${e instanceof Error ? e.message : String(e)}` }),
    );
  }

  private answer(requestId: number, verdict: Parameters<MemberCore['approvalResult']>[2]): void {
    this.enter('approval', () => this.core.approvalResult(this.ports.clock.now(), requestId, verdict));
  }

  private schedule(): void {
    if (this.stopped) return;
    const at = this.core.nextWakeAt();
    if (at === this.timerAt) return;
    this.cancelTimer?.();
    this.timerAt = at;
    if (!Number.isFinite(at)) return;
    this.cancelTimer = this.ports.timers.after(at - this.ports.clock.now(), () => {
      this.timerAt = Infinity;
      this.cancelTimer = null;
      // Node runs due timers before it reads pending I/O: after the loop was busy (a burst of
      // handshakes, a GC pause, a loaded CPU), keepalives that did arrive in time are still in the
      // socket when the watchdog timer fires. Read them first (setImmediate runs after the poll
      // phase), then let the core judge the watchdogs.
      this.defer(() => this.enter('tick', () => this.core.tick(this.ports.clock.now())));
    });
  }
}
