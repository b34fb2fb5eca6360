/**
 * The work table (patent Figure 9): for each of the 1024 units, its owner,
 * the epoch of that assignment and where the assignment stands. Every member
 * keeps one; the master's is authoritative and members compare theirs with it
 * through an 8-byte digest carried in keepalives.
 *
 * The digest is an XOR of a mixed value per entry, so it is updated in O(1)
 * per change and never recomputed over the table on the keepalive path. It
 * covers owner and epoch only: the assigning/deassigning state is the master's
 * bookkeeping, and leaving it out keeps members' views equal to the master's
 * without a snapshot after every acknowledgement.
 */
import { UnitState, type TableEntry } from './messages.js';
import { UNIT_COUNT, type Epoch, type MemberId, type UnitId } from './types.js';

const NO_OWNER = 0;

function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

function entryHashHi(unit: UnitId, owner: MemberId, epoch: Epoch): number {
  return mix32(mix32(unit + 0x3c6ef372) ^ owner ^ mix32(epoch + 0x9e3779b9));
}

function entryHashLo(unit: UnitId, owner: MemberId, epoch: Epoch): number {
  return mix32(mix32(owner + 0x7f4a7c15) ^ mix32(unit + mix32(epoch ^ 0x5bd1e995)));
}

export class WorkTable {
  private readonly owner = new Uint32Array(UNIT_COUNT);
  private readonly epoch = new Uint32Array(UNIT_COUNT);
  private readonly state = new Uint8Array(UNIT_COUNT);
  private digestHi = 0;
  private digestLo = 0;
  private unassignedCount = UNIT_COUNT;

  constructor() {
    for (let u = 0; u < UNIT_COUNT; u++) this.fold(u);
  }

  private fold(u: UnitId): void {
    const o = this.owner[u] ?? 0;
    const e = this.epoch[u] ?? 0;
    this.digestHi ^= entryHashHi(u, o, e);
    this.digestLo ^= entryHashLo(u, o, e);
  }

  get(unit: UnitId): TableEntry {
    return { owner: this.owner[unit] ?? 0, epoch: this.epoch[unit] ?? 0, state: (this.state[unit] ?? 0) as UnitState };
  }

  ownerOf(unit: UnitId): MemberId {
    return this.owner[unit] ?? NO_OWNER;
  }

  epochOf(unit: UnitId): Epoch {
    return this.epoch[unit] ?? 0;
  }

  stateOf(unit: UnitId): UnitState {
    return (this.state[unit] ?? 0) as UnitState;
  }

  set(unit: UnitId, owner: MemberId, epoch: Epoch, state: UnitState): void {
    if (!Number.isInteger(unit) || unit < 0 || unit >= UNIT_COUNT) throw new RangeError(`unit out of range: ${unit}`);
    this.fold(unit); // remove the old entry from the digest
    if (this.state[unit] === UnitState.Unassigned) this.unassignedCount--;
    if (state === UnitState.Unassigned) this.unassignedCount++;
    this.owner[unit] = state === UnitState.Unassigned ? NO_OWNER : owner;
    this.epoch[unit] = epoch;
    this.state[unit] = state;
    this.fold(unit); // add the new one
  }

  clear(unit: UnitId): void {
    this.set(unit, NO_OWNER, this.epochOf(unit), UnitState.Unassigned);
  }

  /** Replace the whole table (a snapshot from the master). */
  load(entries: readonly TableEntry[]): void {
    if (entries.length !== UNIT_COUNT) throw new RangeError(`snapshot has ${entries.length} entries`);
    entries.forEach((e, u) => this.set(u, e.owner, e.epoch, e.state));
  }

  entries(): TableEntry[] {
    const out: TableEntry[] = [];
    for (let u = 0; u < UNIT_COUNT; u++) out.push(this.get(u));
    return out;
  }

  unitsOf(owner: MemberId): UnitId[] {
    const out: UnitId[] = [];
    for (let u = 0; u < UNIT_COUNT; u++) if (this.owner[u] === owner && this.state[u] !== UnitState.Unassigned) out.push(u);
    return out;
  }

  unassigned(): UnitId[] {
    if (this.unassignedCount === 0) return [];
    const out: UnitId[] = [];
    for (let u = 0; u < UNIT_COUNT; u++) if (this.state[u] === UnitState.Unassigned) out.push(u);
    return out;
  }

  maxEpoch(): Epoch {
    let m = 0;
    for (let u = 0; u < UNIT_COUNT; u++) m = Math.max(m, this.epoch[u] ?? 0);
    return m;
  }

  /** Units per member, counting a unit being moved towards the member it is leaving until it has left. */
  loads(members: Iterable<MemberId>): Map<MemberId, number> {
    const out = new Map<MemberId, number>();
    for (const m of members) out.set(m, 0);
    for (let u = 0; u < UNIT_COUNT; u++) {
      if (this.state[u] === UnitState.Unassigned) continue;
      const o = this.owner[u] ?? 0;
      const cur = out.get(o);
      if (cur !== undefined) out.set(o, cur + 1);
    }
    return out;
  }

  digest(): Uint8Array {
    const d = new Uint8Array(8);
    const v = new DataView(d.buffer);
    v.setUint32(0, this.digestHi >>> 0);
    v.setUint32(4, this.digestLo >>> 0);
    return d;
  }
}

/** The least-loaded member; ties go to the lower id so every run decides the same way. */
export function leastLoaded(loads: ReadonlyMap<MemberId, number>): MemberId | null {
  let best: MemberId | null = null;
  let bestLoad = Infinity;
  for (const [m, l] of loads) {
    if (l < bestLoad || (l === bestLoad && best !== null && m < best)) {
      best = m;
      bestLoad = l;
    }
  }
  return best;
}
