/**
 * The configuration store of a member that runs from a JSON file
 * (`shoal config show | set | diff | commit | rollback`):
 *
 *   <config>            the active document, what `shoal run` reads
 *   <config>.candidate  staged edits, until commit or rollback
 *   <config>.v<N>       the active document as it was at config version N (the newest HISTORY_LIMIT)
 *
 *   set ─► candidate          diff ─► candidate vs active
 *   commit ─► validate (parseDaemonConfig) ─► configVersion + 1 ─► keep the old one as .v<N>
 *          ─► write atomically ─► drop the candidate ─► ask the running member to reload
 *   rollback ─► the newest kept version below the active one, committed again as configVersion + 1
 *
 * The version moves forward on every commit, a rollback included (the
 * membership rule compares versions, so a number is never reused for other
 * content); only a version staged by hand (`config set cluster.configVersion
 * 7`, to match the cluster's master) is taken as it is.
 *
 * The documents hold pre-shared keys: the candidate and the kept versions are
 * always written 0600 (an older, wider file is narrowed on the next write),
 * and the active document keeps the mode its administrator gave it, minus
 * every permission for others (a group that reads it is a choice; the world
 * is not).
 */
import { existsSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { DEFAULT_ADMIN_SOCKET, parseDaemonConfig } from '../daemon/config.js';
import { ShoalError } from '../lib/errors.js';
import { askMember } from './admin/client.js';
import { NODE_FILE_OPS, writeFileAtomic, type FileOps, type ModeRule } from './atomic-file.js';
import { diffDocs, isObject, parseValue, setPath, type Change, type Json, type JsonObject } from './config-doc.js';

/** How many earlier versions are kept for rollback. */
export const HISTORY_LIMIT = 10;
/** parseDaemonConfig's default when the document names none. */
const DEFAULT_CONFIG_VERSION = 1;
/** The candidate and the kept versions: the owner only, whatever they were and whatever the umask. */
const SECRET_MODE: ModeRule = () => 0o600;
/** The active document: as its administrator set it, never readable by others. */
const ACTIVE_MODE: ModeRule = (existing) => (existing ?? 0o600) & ~0o007;

export interface StoreOptions {
  /** The running member's admin socket; default: the one the active document names. */
  socket?: string;
  /** File operations for the atomic writes (tests make them fail). */
  fileOps?: FileOps;
  /** How long to wait for the member's answer to `reload`. */
  reloadTimeoutMs?: number;
}

/** What the running member said to `reload`. */
export type ReloadOutcome =
  | { answered: true; socket: string; changed: boolean; configVersion: number }
  | { answered: false; socket: string; error: string };

export interface CommitResult {
  configVersion: number;
  previousVersion: number;
  /** Where the previous document was kept. */
  kept: string;
  changes: Change[];
  reload: ReloadOutcome;
}

export interface RollbackResult extends CommitResult {
  /** The kept version whose content is active again. */
  restored: number;
}

export interface ConfigStore {
  readonly path: string;
  /** The active document. */
  show(): JsonObject;
  /** The staged document, or null when nothing is staged. */
  candidate(): JsonObject | null;
  /** Stage `value` (JSON when it parses, else the text) at a dotted path; returns the value staged. */
  set(path: string, value: string): Json;
  /** The staged changes against the active document, one per key. */
  diff(): Change[];
  commit(): Promise<CommitResult>;
  rollback(): Promise<RollbackResult>;
  /** Config versions kept for rollback, oldest first. */
  history(): number[];
}

export function openConfigStore(configPath: string, options: StoreOptions = {}): ConfigStore {
  return new FileConfigStore(resolve(configPath), options);
}

function readDoc(path: string, what: string): JsonObject {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    throw new ShoalError(missing ? 'BAD_CONFIG' : 'READ_FAILED', `cannot read ${what} ${path}: ${missing ? 'no such file' : (e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new ShoalError('BAD_CONFIG', `${what} ${path} is not JSON: ${(e as Error).message}`);
  }
  if (!isObject(doc as Json)) throw new ShoalError('BAD_CONFIG', `${what} ${path} is not a JSON object`);
  return doc as JsonObject;
}

function versionOf(doc: JsonObject): number {
  const cluster = doc['cluster'];
  const v = isObject(cluster) ? cluster['configVersion'] : undefined;
  return typeof v === 'number' && Number.isInteger(v) ? v : DEFAULT_CONFIG_VERSION;
}

function withVersion(doc: JsonObject, version: number): JsonObject {
  return setPath(doc, 'cluster.configVersion', version);
}

function text(doc: JsonObject): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}

class FileConfigStore implements ConfigStore {
  private readonly ops: FileOps;
  private readonly candidatePath: string;

  constructor(
    readonly path: string,
    private readonly options: StoreOptions,
  ) {
    this.ops = options.fileOps ?? NODE_FILE_OPS;
    this.candidatePath = `${path}.candidate`;
  }

  show(): JsonObject {
    return readDoc(this.path, 'configuration');
  }

  candidate(): JsonObject | null {
    return existsSync(this.candidatePath) ? readDoc(this.candidatePath, 'staged configuration') : null;
  }

  set(path: string, value: string): Json {
    const parsed = parseValue(value);
    const next = setPath(this.candidate() ?? this.show(), path, parsed);
    writeFileAtomic(this.candidatePath, text(next), this.ops, SECRET_MODE);
    return parsed;
  }

  diff(): Change[] {
    const staged = this.candidate();
    return staged ? diffDocs(this.show(), staged) : [];
  }

  async commit(): Promise<CommitResult> {
    const active = this.show();
    const staged = this.candidate();
    if (staged === null || diffDocs(active, staged).length === 0) {
      if (staged !== null) this.dropCandidate();
      throw new ShoalError('NOTHING_STAGED', "nothing to commit: stage a change with 'config set <path> <value>' first");
    }
    const previous = versionOf(active);
    const stagedVersion = versionOf(staged);
    // A version set by hand (to catch up with the cluster's, say) is taken as it is; otherwise one up.
    const next = stagedVersion !== previous ? stagedVersion : previous + 1;
    return this.install(active, withVersion(staged, next));
  }

  async rollback(): Promise<RollbackResult> {
    const active = this.show();
    const current = versionOf(active);
    const restored = this.history()
      .filter((v) => v < current)
      .at(-1);
    if (restored === undefined) throw new ShoalError('NO_HISTORY', `no version before ${current} is kept next to ${this.path}`);
    const old = readDoc(this.historyPath(restored), 'kept configuration');
    const result = await this.install(active, withVersion(old, current + 1));
    return { ...result, restored };
  }

  history(): number[] {
    const dir = dirname(this.path);
    const prefix = `${basename(this.path)}.v`;
    return readdirSync(dir)
      .filter((f) => f.startsWith(prefix) && /^\d+$/.test(f.slice(prefix.length)))
      .map((f) => Number(f.slice(prefix.length)))
      .sort((a, b) => a - b);
  }

  private historyPath(version: number): string {
    return `${this.path}.v${version}`;
  }

  /** Validate, keep the active document, write the new one, drop the candidate, prune, reload. */
  private async install(active: JsonObject, doc: JsonObject): Promise<CommitResult> {
    const base = dirname(this.path);
    parseDaemonConfig(doc, (p) => resolve(base, p)); // throws BAD_CONFIG naming the field
    const previous = versionOf(active);
    const kept = this.historyPath(previous);
    writeFileAtomic(kept, text(active), this.ops, SECRET_MODE);
    writeFileAtomic(this.path, text(doc), this.ops, ACTIVE_MODE);
    this.dropCandidate();
    this.prune();
    return {
      configVersion: versionOf(doc),
      previousVersion: previous,
      kept,
      changes: diffDocs(active, doc),
      reload: await this.reload(active),
    };
  }

  private dropCandidate(): void {
    try {
      unlinkSync(this.candidatePath);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }

  private prune(): void {
    const versions = this.history();
    for (const v of versions.slice(0, Math.max(0, versions.length - HISTORY_LIMIT))) unlinkSync(this.historyPath(v));
  }

  /** The member runs what the active document was: its admin socket is the one to ask. */
  private socketOf(active: JsonObject): string {
    if (this.options.socket) return this.options.socket;
    const admin = active['admin'];
    const socket = isObject(admin) ? admin['socket'] : undefined;
    return typeof socket === 'string' && socket.length > 0 ? resolve(dirname(this.path), socket) : DEFAULT_ADMIN_SOCKET;
  }

  private async reload(active: JsonObject): Promise<ReloadOutcome> {
    const socket = this.socketOf(active);
    try {
      const r = (await askMember(socket, { command: 'reload' }, this.options.reloadTimeoutMs ?? 3000)) as { changed: boolean; configVersion: number };
      return { answered: true, socket, changed: r.changed, configVersion: r.configVersion };
    } catch (e) {
      return { answered: false, socket, error: e instanceof Error ? e.message : String(e) };
    }
  }
}
