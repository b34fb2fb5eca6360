/**
 * Delivers the core's application-facing actions to every plug-in and combines
 * their join verdicts (the first veto wins). Shared by the daemon and the
 * simulator, so both call the hooks the same way.
 */
import type { Action } from '../cluster/membership/actions.js';
import type { Approval, ClusterApplication, JoinCandidate } from './application.js';

export class AppHost {
  constructor(readonly apps: readonly ClusterApplication[]) {}

  /** Member and unit changes; other actions are not the applications' business. */
  deliver(action: Action): void {
    switch (action.kind) {
      case 'units-gained':
        for (const a of this.apps) a.unitsGained(action.units);
        return;
      case 'units-lost':
        for (const a of this.apps) a.unitsLost(action.units);
        return;
      case 'members-changed':
        for (const a of this.apps) a.membersChanged(action.added, action.removed, action.members);
        return;
      default:
        return;
    }
  }

  /** Synchronous when every application answers synchronously; otherwise a promise. */
  approve(candidate: JoinCandidate): Approval | Promise<Approval> {
    const answers = this.apps.map((a) => ({ name: a.name, answer: a.approveJoin(candidate) }));
    if (answers.every((x) => !(x.answer instanceof Promise))) {
      return combine(answers.map((x) => ({ name: x.name, approval: x.answer as Approval })));
    }
    return Promise.all(answers.map(async (x) => ({ name: x.name, approval: await x.answer }))).then(combine);
  }
}

function combine(verdicts: readonly { name: string; approval: Approval }[]): Approval {
  for (const v of verdicts) {
    if (!v.approval.approve) return { approve: false, reason: `${v.name}: ${v.approval.reason}` };
  }
  return { approve: true };
}
