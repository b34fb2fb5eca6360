/**
 * What the admin commands show, computed from a member's core: one shape for
 * `--json` and for the human tables, so the shell and the one-shot commands
 * print the same thing.
 */
import type { MemberCore } from '../../cluster/membership/core.js';
import { UNIT_COUNT } from '../../cluster/types.js';
import { formatIpv4 } from '../../lib/ipv4.js';

export interface StatusView {
  cluster: string;
  self: string;
  role: string;
  master: string | null;
  term: number;
  members: number;
  n: number;
  servedUnits: number;
  keyEpoch: number;
  counters: Record<string, number>;
  /** The config version this member runs; the master's is the cluster's. */
  configVersion: number;
  /** Why this member is out of the cluster for its config version (role 'excluded'), else null. */
  excluded: string | null;
}

export interface MemberView {
  address: string;
  role: 'master' | 'member';
  self: boolean;
  units: number;
  /** Smoothed keepalive loss P, known on the master only. */
  loss: number | null;
}

export interface UnitsView {
  self: string;
  /** Owner of every unit, index = unit, as this member's view of the table has it (null = unassigned). */
  owners: (string | null)[];
  /** The units this member serves now. */
  served: number[];
}

export function statusView(core: MemberCore, cluster: string): StatusView {
  const s = core.status();
  return {
    cluster,
    self: formatIpv4(s.self),
    role: s.role,
    master: s.master === null ? null : formatIpv4(s.master),
    term: s.term,
    members: s.members.length,
    n: s.n,
    servedUnits: s.servedUnits,
    keyEpoch: s.keyEpoch,
    counters: s.counters,
    configVersion: s.configVersion,
    excluded: s.excluded,
  };
}

export function membersView(core: MemberCore): MemberView[] {
  const s = core.status();
  const view = core.ctx.view;
  const counts = new Map<number, number>();
  for (let u = 0; u < UNIT_COUNT; u++) {
    const o = view.ownerOf(u);
    if (o !== 0) counts.set(o, (counts.get(o) ?? 0) + 1);
  }
  return s.members.map((m) => ({
    address: formatIpv4(m),
    role: m === s.master ? 'master' : 'member',
    self: m === s.self,
    units: m === s.self ? s.servedUnits : (counts.get(m) ?? 0),
    loss: s.loss[String(m)] ?? null,
  }));
}

export function unitsView(core: MemberCore): UnitsView {
  const view = core.ctx.view;
  const owners: (string | null)[] = [];
  for (let u = 0; u < UNIT_COUNT; u++) {
    const o = view.ownerOf(u);
    owners.push(o === 0 ? null : formatIpv4(o));
  }
  return { self: formatIpv4(core.self), owners, served: core.servedUnits() };
}
