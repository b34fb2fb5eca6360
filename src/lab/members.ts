/**
 * The member daemons of a namespace lab: their development PKI, their
 * configuration files, their processes, and what the lab does with them
 * (wait for the cluster, send traffic, cut and heal the interconnect).
 *
 * LabMembers is the one handle the lab and the `shoal lab` commands use; it
 * delegates each idea to its own module:
 *
 *   members-files.ts     where a lab keeps its member files (/run/shoal-lab/<lab>/…)
 *   members-pki.ts       the throwaway development CA, member certificates, configurations
 *   members-process.ts   start, kill, list and stop the daemons (PID + start-time records)
 *   members-cluster.ts   observe the members, wait for one cluster, the UDP echo traffic demo
 *   partition.ts         cut and heal the interconnect with nftables
 */
import { ShoalError } from '../lib/errors.js';
import type { CommandRunner } from '../ports/command.js';
import { NodeCommandRunner } from '../ports/command-node.js';
import {
  observeMembers,
  trafficDemo,
  waitForCluster,
  type ClusterReport,
  type MemberObservation,
  type TrafficOptions,
  type TrafficReport,
  type WaitOptions,
} from './members-cluster.js';
import { MemberLayout, type MemberFiles, type PkiFiles } from './members-files.js';
import { configuredMode, DEFAULT_LAB_MODE, ensurePki, writeConfig, type LabMode, type PkiReport } from './members-pki.js';
import {
  daemonState,
  daemonStates,
  distFile,
  killDaemon,
  packageRoot,
  runningDaemons,
  startDaemon,
  stopDaemons,
  type DaemonState,
  type StartedMember,
} from './members-process.js';
import { applyNft, healRules, partitionRules } from './partition.js';
import { LAB_LIMITS } from './plan.js';

export type { ClusterMemberRow, ClusterReport, MemberObservation, TrafficOptions, TrafficReport, WaitOptions } from './members-cluster.js';
export type { MemberFiles, PkiFiles } from './members-files.js';
export { DEFAULT_LAB_MODE, LAB_MODES, parseLabMode, type LabMode, type PkiReport } from './members-pki.js';
export { packageRoot, type DaemonState, type StartedMember } from './members-process.js';

/** Where the lab keeps its state file (`<name>.json`) and its directory (`<name>/`). */
export const LAB_RUN_DIR = '/run/shoal-lab';

/** "m2", "2" → 2; throws BAD_LAB_MEMBER otherwise. */
export function parseMemberName(text: string): number {
  const m = /^m?([1-9]\d*)$/.exec(text.trim());
  const i = Number(m?.[1]);
  if (m === null || i > LAB_LIMITS.members.max) throw new ShoalError('BAD_LAB_MEMBER', `member '${text}': expected m1..m${LAB_LIMITS.members.max}`);
  return i;
}

export interface MembersEnvironment {
  /** Default /run/shoal-lab. */
  stateDir?: string;
  /** Runs `nft` and the traffic script; default NodeCommandRunner. */
  runner?: CommandRunner;
  /** The package root (holding package.json and dist/); found from this module by default. */
  packageRoot?: string;
  /** Default process.execPath. */
  nodePath?: string;
}

export class LabMembers {
  readonly #layout: MemberLayout;
  readonly #runner: CommandRunner;
  readonly #packageRoot: string | undefined;
  readonly #nodePath: string;

  constructor(env: MembersEnvironment = {}) {
    this.#layout = new MemberLayout(env.stateDir ?? LAB_RUN_DIR);
    this.#runner = env.runner ?? new NodeCommandRunner();
    this.#packageRoot = env.packageRoot;
    this.#nodePath = env.nodePath ?? process.execPath;
  }

  labDir(name: string): string {
    return this.#layout.labDir(name);
  }

  pkiDir(name: string): string {
    return this.#layout.pkiDir(name);
  }

  files(name: string, i: number): MemberFiles {
    return this.#layout.files(name, i);
  }

  /** The dev CA and member-i's certificate and key, when all three exist. */
  pkiFiles(name: string, i: number): PkiFiles | null {
    return this.#layout.pkiFiles(name, i);
  }

  /**
   * A development CA on first use, and a certificate for every member 1..members
   * that has none yet (the CA key stays in pki/ca.key so a growing lab can issue more).
   */
  async ensurePki(name: string, members: number): Promise<PkiReport> {
    return ensurePki(this.#layout, name, members);
  }

  /** Member-i's daemon configuration: `<labdir>/m<i>.json` (`espKeysFile`: debug only, ESP keys in clear for tshark). */
  async writeConfig(name: string, i: number, mode: string = DEFAULT_LAB_MODE, espKeysFile?: string): Promise<string> {
    return writeConfig(this.#layout, name, i, mode, espKeysFile);
  }

  /** The mode in member-i's configuration file, or null when it has none. */
  configuredMode(name: string, i: number): LabMode | null {
    return configuredMode(this.#layout, name, i);
  }

  /** Start member-i's daemon, detached, in its namespace; refuses when it already runs. */
  async start(name: string, i: number): Promise<StartedMember> {
    return startDaemon(this.#layout, name, i, this.#nodePath, () => this.distFile('src/mgmt/cli/main.js'));
  }

  /** Signal member-i's daemon by its recorded PID (default SIGKILL) and wait until it is gone. */
  async kill(name: string, i: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<{ member: number; pid: number }> {
    return killDaemon(this.#layout, name, i, signal);
  }

  /** Member-i's recorded PID and whether that process still runs. */
  daemon(name: string, i: number): DaemonState {
    return daemonState(this.#layout, name, i);
  }

  /** Every member with a PID file, running or not, by member number. */
  async daemons(name: string): Promise<DaemonState[]> {
    return daemonStates(this.#layout, name);
  }

  /** The members whose daemon is alive. */
  async running(name: string): Promise<DaemonState[]> {
    return runningDaemons(this.#layout, name);
  }

  /** Stop every running daemon of the lab: SIGTERM, then SIGKILL after `graceMs`. */
  async stopAll(name: string, graceMs = 1500): Promise<{ member: number; pid: number }[]> {
    return stopDaemons(this.#layout, name, graceMs);
  }

  /** Ask every running member for its status and units, at once. */
  async observe(name: string, timeoutMs = 500): Promise<MemberObservation[]> {
    return observeMembers(this.#layout, name, timeoutMs);
  }

  /**
   * Poll the running members until `expected` of them answer, exactly one is
   * master and all name it, each counts `expected` members, and every unit is
   * served by exactly one of them (with `balanced`, also evenly).
   */
  async waitForCluster(name: string, expected: number, timeoutMs: number, options: WaitOptions = {}): Promise<ClusterReport> {
    return waitForCluster(this.#layout, name, expected, timeoutMs, options);
  }

  /** UDP echo flows from the client namespace to the cluster address; counts what came back. */
  async trafficDemo(name: string, o: TrafficOptions): Promise<TrafficReport> {
    return trafficDemo(this.#layout, { runner: this.#runner, nodePath: this.#nodePath, script: () => this.distFile('src/lab/udp-flows.js') }, name, o);
  }

  /** Cut the interconnect: inside each member namespace, drop UDP to and from the control port on ic0. */
  async partition(name: string, members: readonly number[]): Promise<void> {
    await applyNft(this.#runner, name, members, partitionRules());
  }

  /** Undo `partition` (does nothing where there is no cut). */
  async heal(name: string, members: readonly number[]): Promise<void> {
    await applyNft(this.#runner, name, members, healRules());
  }

  /** A file under dist/ of the package (the built CLI, the flows script). */
  distFile(relative: string): string {
    return distFile(this.#packageRoot ?? packageRoot(), relative);
  }
}
