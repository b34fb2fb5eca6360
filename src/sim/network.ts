/**
 * The simulated interconnect: multicast with independent per-receiver loss,
 * delay with jitter, duplication, reordering (a random extra delay) and
 * partitions. All randomness comes from the simulation's seeded source.
 */
import type { RandomSource } from '../lib/random.js';
import type { MemberId } from '../cluster/types.js';

export interface NetworkModel {
  /** Probability that one delivery to one receiver is lost. */
  loss: number;
  delayMs: number;
  jitterMs: number;
  duplicate: number;
  /** Probability that a delivery is held back by up to reorderMs more. */
  reorder: number;
  reorderMs: number;
}

export const PERFECT_NETWORK: NetworkModel = { loss: 0, delayMs: 0.2, jitterMs: 0.1, duplicate: 0, reorder: 0, reorderMs: 0 };

export class SimNetwork {
  model: NetworkModel;
  /** Group per member; members in different groups cannot hear each other. Absent = group 0. */
  private readonly group = new Map<MemberId, number>();
  /** One-way cuts, "from>to". */
  private readonly blocked = new Set<string>();
  delivered = 0;
  lost = 0;
  bytes = 0;

  constructor(
    model: NetworkModel,
    private readonly rng: RandomSource,
  ) {
    this.model = { ...model };
  }

  partition(groups: readonly (readonly MemberId[])[]): void {
    this.group.clear();
    groups.forEach((g, i) => g.forEach((m) => this.group.set(m, i + 1)));
  }

  heal(): void {
    this.group.clear();
    this.blocked.clear();
  }

  /** Cut one direction only (asymmetric failures: a member that still hears the master but is not heard). */
  block(from: MemberId, to: MemberId): void {
    this.blocked.add(`${from}>${to}`);
  }

  unblock(from: MemberId, to: MemberId): void {
    this.blocked.delete(`${from}>${to}`);
  }

  /** Whether `from` can reach `to` now. */
  connected(from: MemberId, to: MemberId): boolean {
    return (this.group.get(from) ?? 0) === (this.group.get(to) ?? 0) && !this.blocked.has(`${from}>${to}`);
  }

  /** Delivery times (relative delays) of one datagram to one receiver: none if lost, two if duplicated. */
  delays(from: MemberId, to: MemberId, size: number): number[] {
    if (!this.connected(from, to)) return [];
    const m = this.model;
    if (this.rng.float() < m.loss) {
      this.lost++;
      return [];
    }
    const one = (): number => {
      let d = m.delayMs + this.rng.float() * m.jitterMs;
      if (m.reorder > 0 && this.rng.float() < m.reorder) d += this.rng.float() * m.reorderMs;
      return d;
    };
    const out = [one()];
    if (m.duplicate > 0 && this.rng.float() < m.duplicate) out.push(one());
    this.delivered += out.length;
    this.bytes += size * out.length;
    return out;
  }
}
