/**
 * Runs one member from a config source and restarts it, in this process,
 * when its configuration changes:
 *
 *   source.load() ─► startDaemonWith(config) ─► a running member
 *   admin `reload` ─► source.load() now ─► different? ─► answer, then stop and start again
 *   every pollMs while the member is excluded for its config version:
 *       source.changed()? ─► load ─► different? ─► stop and start again (it rejoins)
 *
 * A serving member is restarted only when told (`reload`, which `shoal config
 * commit` sends): a restart drops its units, so an edit half-way through must
 * not take it down. An excluded member serves nothing, so it follows its
 * source by itself and rejoins as soon as the operator has updated it.
 *
 * A configuration that does not validate is logged and skipped: the member
 * keeps running what it has. If the new one fails to start (its admin socket
 * taken, say), the old one is started again; if that fails too, `failed`
 * settles and `shoal run` exits with the error.
 */
import { statSync } from 'node:fs';
import type { DaemonConfig } from './config.js';
import { readDaemonConfig, startDaemonWith, type Daemon, type DaemonHooks } from './daemon.js';

/**
 * Where a member's configuration comes from. The file source is below; a
 * signed flash personality is another (it verifies and parses in load()).
 */
export interface ConfigSource {
  /** For logs and errors: a path, a slot name. */
  readonly where: string;
  /** Read and validate now; a bad configuration throws ShoalError('BAD_CONFIG') naming the field. */
  load(): DaemonConfig;
  /** Cheap (polled): whether the source may differ from what the last load() read. */
  changed(): boolean;
  /**
   * Work a source needs before load() sees a change (a flash personality is
   * verified and written out again); the supervisor awaits it first.
   */
  refresh?(): Promise<void>;
  /** A member started from what load() returned last (a flash slot on trial is good now). */
  started?(): Promise<void>;
}

/** What a poll compares: a file's inode, size and mtime ('missing' when it is not there). */
export function fileSignature(path: string): string {
  try {
    const s = statSync(path);
    return `${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch {
    return 'missing';
  }
}

/** A JSON file: changed when its inode, size or mtime differs from the last load's. */
export function fileConfigSource(path: string): ConfigSource {
  const signature = (): string => fileSignature(path);
  let loaded: string | null = null;
  return {
    where: path,
    load() {
      // Taken before reading: a write after it is seen as a change at the next poll.
      const sig = signature();
      try {
        return readDaemonConfig(path);
      } finally {
        loaded = sig; // a bad file is not read again until it changes
      }
    },
    changed: () => signature() !== loaded,
  };
}

export interface SupervisorOptions {
  /** How often an excluded member looks at its source (at most 1 s). */
  pollMs?: number;
  /** Starts one run of the member (default startDaemonWith; tests embed a member with its own logger). */
  start?: (config: DaemonConfig, hooks: DaemonHooks) => Promise<Daemon>;
}

export interface ReloadAnswer {
  /** Whether the source's configuration differs from the one running (then the member restarts). */
  changed: boolean;
  /** The config version the member runs, or is restarting with. */
  configVersion: number;
}

export const DEFAULT_POLL_MS = 500;
/**
 * The last resort: an exception no entry point caught restarts the member in
 * this process (it rejoins; its sessions live on in the other members'
 * replicas). More than this many within RECOVERY_WINDOW_MS is a fault a
 * restart does not cure: `failed` settles and `shoal run` exits with it.
 */
export const MAX_RECOVERIES = 3;
export const RECOVERY_WINDOW_MS = 60_000;

/** The configuration compared as a whole: every change restarts the member. */
function same(a: DaemonConfig, b: DaemonConfig): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class Supervisor {
  private daemon: Daemon;
  /** The configuration running, or the one a queued restart will run. */
  private target: DaemonConfig;
  private queue: Promise<void> = Promise.resolve();
  private readonly poll: NodeJS.Timeout;
  private stopped = false;
  /** The member is not running (both starts failed). */
  private down = false;
  private fail: (e: Error) => void = () => undefined;
  /** Settles when the member could be started neither with the new configuration nor the old. */
  readonly failed: Promise<Error>;
  restarts = 0;
  private recoveries: number[] = [];

  private constructor(
    private readonly source: ConfigSource,
    private readonly start: (config: DaemonConfig) => Promise<Daemon>,
    first: Daemon,
    pollMs: number,
  ) {
    this.daemon = first;
    this.target = first.config;
    this.failed = new Promise((resolve) => (this.fail = resolve));
    // Timer and promise entry points: what they throw is logged, never left to end the process.
    this.poll = setInterval(() => {
      try {
        this.watch();
      } catch (e) {
        this.daemon.logger.log('error', 'supervisor.exception', { where: 'watch', error: message(e) });
      }
    }, pollMs);
    this.poll.unref();
  }

  static async run(source: ConfigSource, options: SupervisorOptions = {}): Promise<Supervisor> {
    const pollMs = Math.min(options.pollMs ?? DEFAULT_POLL_MS, 1000);
    const start = options.start ?? ((config, hooks) => startDaemonWith(config, undefined, undefined, hooks));
    let self: Supervisor | null = null;
    const hooks: DaemonHooks = { reload: () => self?.reload() ?? { changed: false, configVersion: 0 } };
    const first = await start(source.load(), hooks);
    await source.started?.();
    self = new Supervisor(source, (c) => start(c, hooks), first, pollMs);
    return self;
  }

  /** The member running now. */
  get current(): Daemon {
    return this.daemon;
  }

  /** The admin socket's `reload`: read the source now; a different configuration restarts the member after this answer. */
  reload(): ReloadAnswer | Promise<ReloadAnswer> {
    const decide = (): ReloadAnswer => {
      const next = this.source.load(); // a bad configuration throws: the admin reply carries the field's error
      if (same(next, this.target)) return { changed: false, configVersion: this.target.configVersion };
      this.restartWith(next, 'reload requested');
      return { changed: true, configVersion: next.configVersion };
    };
    return this.source.refresh ? this.source.refresh().then(decide) : decide();
  }

  /**
   * An exception nothing else caught (`shoal run` hands over uncaughtException
   * and unhandledRejection): logged with its stack, and the member restarted
   * with the configuration it runs, at most MAX_RECOVERIES times a window.
   */
  recover(e: unknown, now = performance.now()): void {
    this.recoveries = [...this.recoveries.filter((t) => now - t < RECOVERY_WINDOW_MS), now];
    const error = e instanceof Error ? (e.stack ?? e.message) : String(e);
    this.daemon.logger.log('error', 'uncaught', { error: error.slice(0, 2000), recoveries: this.recoveries.length, withinMs: RECOVERY_WINDOW_MS });
    if (this.stopped || this.down) return;
    if (this.recoveries.length > MAX_RECOVERIES) {
      this.down = true;
      this.fail(e instanceof Error ? e : new Error(message(e)));
      return;
    }
    this.restartWith(this.target, 'uncaught exception');
  }

  private refreshing = false;

  private watch(): void {
    if (this.stopped || this.down || this.refreshing || this.daemon.runner.core.status().role !== 'excluded' || !this.source.changed()) return;
    const follow = (): void => {
      let next: DaemonConfig;
      try {
        next = this.source.load();
      } catch (e) {
        this.daemon.logger.log('error', 'config-invalid', { source: this.source.where, error: message(e) });
        return;
      }
      if (!same(next, this.target)) this.restartWith(next, 'config source changed while excluded');
    };
    if (!this.source.refresh) return follow();
    this.refreshing = true;
    this.source
      .refresh()
      .then(follow, (e: unknown) => this.daemon.logger.log('error', 'config-invalid', { source: this.source.where, error: message(e) }))
      .finally(() => (this.refreshing = false));
  }

  private restartWith(next: DaemonConfig, why: string): void {
    this.target = next;
    // After the current turn: a reload's answer goes out before its admin socket closes.
    this.queue = this.queue
      .then(() => new Promise((r) => setImmediate(r)))
      .then(() => this.restart(next, why))
      .catch((e: unknown) => this.daemon.logger.log('error', 'supervisor.exception', { where: 'restart', error: message(e) })); // the queue stays usable
  }

  private async restart(next: DaemonConfig, why: string): Promise<void> {
    if (this.stopped || next !== this.target) return; // a later change supersedes this one
    const old = this.daemon;
    old.logger.log('info', 'restarting', { why, source: this.source.where, configVersion: next.configVersion, was: old.config.configVersion });
    // A member that fails to stop cleanly is still replaced: what it holds (its socket, its TAPs) the start reports.
    await old.stop().catch((e: unknown) => old.logger.log('error', 'stop-failed', { configVersion: old.config.configVersion, error: message(e) }));
    try {
      this.daemon = await this.start(next);
      this.restarts++;
      await this.source.started?.().catch((e: unknown) => this.daemon.logger.log('error', 'config-source', { source: this.source.where, error: message(e) }));
    } catch (e) {
      old.logger.log('error', 'restart-failed', { configVersion: next.configVersion, error: message(e) });
      this.target = old.config;
      try {
        this.daemon = await this.start(old.config);
      } catch (e2) {
        this.down = true;
        this.fail(e2 instanceof Error ? e2 : new Error(message(e2)));
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.poll);
    await this.queue;
    if (!this.down) await this.daemon.stop();
  }
}
