/**
 * The IPsec handler as a cluster application: it approves every join (it
 * has no per-member requirement), and on the patent's unit hooks it takes
 * over or lets go of the unit's tunnels. Its essential state travels through
 * the replicator under application number IPSEC_APP.
 */
import type { Approval, ClusterApplication, JoinCandidate } from '../application.js';
import type { MemberId, UnitId } from '../../cluster/types.js';
import { formatIpv4 } from '../../lib/ipv4.js';
import { ivTagOf } from './esp/aead-iv.js';
import type { IpsecHandler } from './ipsec-handler.js';

export const IPSEC_APP = 1;

/** What the application needs from replication: the records this member holds for a unit. */
export interface ReplicaSource {
  records(app: number, unit: UnitId): readonly { body: Uint8Array | null; receivedAt: number }[];
}

export class IpsecApp implements ClusterApplication {
  readonly name = 'ipsec';
  /** The cluster's members, as the master's list last said (this member among them). */
  private members: readonly MemberId[] = [];

  constructor(
    private readonly handler: IpsecHandler,
    private readonly replicas: ReplicaSource,
    private readonly now: () => number,
    private readonly log: (event: string, fields: Record<string, unknown>) => void = () => undefined,
  ) {}

  /**
   * Two members with one IV tag could send the same AEAD IV on an SA both
   * have served (esp/aead-iv.ts): a joiner whose tag a current member holds
   * is refused, naming that member (a rejoin of the same member is no clash).
   */
  approveJoin(candidate: JoinCandidate): Approval {
    const tag = ivTagOf(candidate.memberId);
    const clash = this.members.find((m) => m !== candidate.memberId && ivTagOf(m) === tag);
    if (clash === undefined) return { approve: true };
    return { approve: false, reason: `IV tag ${tag} of ${formatIpv4(candidate.memberId)} is ${formatIpv4(clash)}'s (the low 16 bits of member addresses must differ)` };
  }

  membersChanged(_added: readonly MemberId[], _removed: readonly MemberId[], members: readonly MemberId[]): void {
    this.members = [...members];
  }

  unitsGained(units: readonly UnitId[]): void {
    const now = this.now();
    let adopted = 0;
    for (const unit of units) adopted += this.handler.adopt(now, this.replicas.records(IPSEC_APP, unit));
    if (adopted > 0) this.log('ipsec.takeover', { units: units.length, sas: adopted });
  }

  unitsLost(units: readonly UnitId[]): void {
    const released = this.handler.release(units, this.now());
    if (released > 0) this.log('ipsec.released', { units: units.length, sas: released });
  }

  /** The unit's live SAs as records (a joiner's bulk sync). */
  exportOwned(unit: UnitId): { app: number; key: string; body: Uint8Array }[] {
    return this.handler.exportUnit(this.now(), unit).map((r) => ({ app: IPSEC_APP, ...r }));
  }

  exportEssential(unit: UnitId): Uint8Array[] {
    return this.handler.exportUnit(this.now(), unit).map((r) => r.body);
  }

  importEssential(unit: UnitId, records: readonly Uint8Array[]): void {
    const now = this.now();
    this.handler.adopt(now, records.map((body) => ({ body, receivedAt: now })));
    void unit;
  }
}
