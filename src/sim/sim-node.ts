/**
 * One simulated member: the real MemberCore and the real AppHost with the
 * demo application, fed by the simulation's clock and network.
 */
import { AppHost } from '../apps/app-host.js';
import { DemoApp, type DemoAppOptions } from '../apps/demo/demo-app.js';
import type { MemberCredentials } from '../cluster/auth/trust.js';
import type { Exclusion, RoleName } from '../cluster/membership/actions.js';
import type { MemberCore } from '../cluster/membership/core.js';
import type { MemberId, UnitId } from '../cluster/types.js';

export interface SimMemberSpec {
  id: MemberId;
  credentials: MemberCredentials;
  configVersion?: number;
  demo?: DemoAppOptions;
  /** Simulated time the applications take to answer approveJoin. */
  approvalLatencyMs?: number;
  /** The incarnation it boots with; default the wall clock's ms (a lower one stands for a clock set back). */
  incarnation?: number;
  /** Stands for the data plane's hand-over marker query (MemberConfig.handoffMarker). */
  handoffMarker?: (unit: UnitId) => number;
}

export interface RoleChange {
  at: number;
  role: RoleName;
  master: MemberId | null;
}

export class SimNode {
  alive = true;
  wakeToken = 0;
  readonly roles: RoleChange[] = [];
  refusal: { reason: number; detail: string } | null = null;
  /** Every time the core reported it was out of the cluster for its config version. */
  readonly exclusions: (Exclusion & { at: number })[] = [];
  alarms: { at: number; raised: boolean; p: number }[] = [];
  exits = 0;

  constructor(
    readonly spec: SimMemberSpec,
    readonly core: MemberCore,
    readonly demo: DemoApp,
    readonly host: AppHost,
    readonly incarnation: number,
  ) {}

  get id(): MemberId {
    return this.spec.id;
  }

  get role(): RoleName {
    return this.core.ctx.role;
  }

  static create(spec: SimMemberSpec, core: MemberCore, incarnation: number): SimNode {
    const demo = new DemoApp(spec.demo ?? {});
    return new SimNode(spec, core, demo, new AppHost([demo]), incarnation);
  }
}
