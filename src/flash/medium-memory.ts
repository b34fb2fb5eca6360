/**
 * An in-memory flash device that can lose power. It keeps, as a real file
 * system does, two views: what is visible now, and what is durable (file data
 * after fsync, directory entries after syncDir). A power cut planned after
 * the k-th mutating step (write, fsync, rename, unlink, syncDir) stops the
 * medium there; restart() then gives the device as it comes back up:
 *
 *   directory entries  'old' → as of the last syncDir;  'new' → as they were visible
 *   un-fsynced data    'old' → as of the last fsync (nothing for a new file);
 *                      'empty'; 'prefix' → the first half of what was written; 'new'
 *
 * A test runs an operation with a cut at every step and checks every outcome.
 */
import { ShoalError } from '../lib/errors.js';
import type { Medium } from './medium.js';

export type TornData = 'old' | 'empty' | 'prefix' | 'new';
export type DirOutcome = 'old' | 'new';
export const TORN_DATA: readonly TornData[] = ['old', 'empty', 'prefix', 'new'];
export const DIR_OUTCOMES: readonly DirOutcome[] = ['old', 'new'];

export interface CutPlan {
  /** Mutating steps that complete before the cut. */
  afterSteps: number;
  /** true: the interrupted step takes effect in the visible view before the power goes. */
  during?: boolean;
}

/** Thrown by every call once the power is off. */
export class PowerCut extends Error {
  constructor(detail: string) {
    super(`power cut: ${detail}`);
    this.name = 'PowerCut';
  }
}

interface Inode {
  visible: Uint8Array;
  durable: Uint8Array;
  dirty: boolean;
}

export class MemoryMedium implements Medium {
  readonly where = 'memory device';
  /** Mutating steps completed so far. */
  steps = 0;
  readonly #inodes = new Map<number, Inode>();
  #visible = new Map<string, number>();
  #durable = new Map<string, number>();
  #nextInode = 1;
  #cut: CutPlan | null = null;
  #off = false;

  planCut(plan: CutPlan | null): void {
    this.#cut = plan;
  }

  get poweredOff(): boolean {
    return this.#off;
  }

  #alive(): void {
    if (this.#off) throw new PowerCut('the device is off');
  }

  #step(what: string, apply: () => void): void {
    this.#alive();
    if (this.#cut !== null && this.steps === this.#cut.afterSteps) {
      if (this.#cut.during === true) apply();
      this.#off = true;
      throw new PowerCut(`during step ${this.steps + 1} (${what})`);
    }
    apply();
    this.steps++;
  }

  #inode(name: string): Inode {
    const ino = this.#visible.get(name);
    const inode = ino === undefined ? undefined : this.#inodes.get(ino);
    if (inode === undefined) throw new ShoalError('DEVICE_IO', `${name}: no such file`);
    return inode;
  }

  async read(name: string): Promise<Uint8Array | null> {
    this.#alive();
    const ino = this.#visible.get(name);
    const inode = ino === undefined ? undefined : this.#inodes.get(ino);
    return inode === undefined ? null : inode.visible.slice();
  }

  async write(name: string, data: Uint8Array): Promise<void> {
    this.#step(`write ${name}`, () => {
      const ino = this.#visible.get(name);
      const inode = ino === undefined ? undefined : this.#inodes.get(ino);
      if (inode !== undefined) {
        inode.visible = data.slice();
        inode.dirty = true;
        return;
      }
      const fresh = this.#nextInode++;
      this.#inodes.set(fresh, { visible: data.slice(), durable: new Uint8Array(0), dirty: true });
      this.#visible.set(name, fresh);
    });
  }

  async fsync(name: string): Promise<void> {
    const inode = this.#inode(name);
    this.#step(`fsync ${name}`, () => {
      inode.durable = inode.visible;
      inode.dirty = false;
    });
  }

  async rename(from: string, to: string): Promise<void> {
    const ino = this.#visible.get(from);
    if (ino === undefined) throw new ShoalError('DEVICE_IO', `${from}: no such file`);
    this.#step(`rename ${from} → ${to}`, () => {
      this.#visible.delete(from);
      this.#visible.set(to, ino);
    });
  }

  async unlink(name: string): Promise<void> {
    this.#step(`unlink ${name}`, () => this.#visible.delete(name));
  }

  async list(): Promise<string[]> {
    this.#alive();
    return [...this.#visible.keys()].sort();
  }

  async syncDir(): Promise<void> {
    this.#step('sync directory', () => {
      this.#durable = new Map(this.#visible);
    });
  }

  /** The device as it comes back after the power was cut (or as it would, from the current state). */
  restart(torn: TornData, dir: DirOutcome): MemoryMedium {
    const out = new MemoryMedium();
    for (const [name, ino] of dir === 'new' ? this.#visible : this.#durable) {
      const inode = this.#inodes.get(ino);
      if (inode === undefined) continue;
      const data = !inode.dirty ? inode.durable : torn === 'old' ? inode.durable : torn === 'empty' ? new Uint8Array(0) : torn === 'prefix' ? inode.visible.subarray(0, inode.visible.length >> 1) : inode.visible;
      const fresh = out.#nextInode++;
      out.#inodes.set(fresh, { visible: data.slice(), durable: data.slice(), dirty: false });
      out.#visible.set(name, fresh);
      out.#durable.set(name, fresh);
    }
    return out;
  }
}
