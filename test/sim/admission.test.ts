/**
 * Scenario e: who may join, and what happens to forged, replayed and foreign messages.
 */
import { describe, expect, it } from 'vitest';
import { MessageType, NakReason } from '../../src/cluster/messages.js';
import type { MemberCredentials } from '../../src/cluster/auth/trust.js';
import { parseIpv4 } from '../../src/lib/ipv4.js';
import { issueEndpoint } from '../../src/pki/endpoint.js';
import type { TestMember } from '../support/pki.js';
import { cluster, fixtures, masterOf, memberSpec, settle, watchSafety } from './harness.js';
import type { Simulation } from '../../src/sim/simulation.js';

function creds(m: TestMember): MemberCredentials {
  return { chain: m.chain, privateKey: m.privateKey };
}

/** Start members 2..4, then let `joiner` try to join; return its node after 2 s. */
async function tryJoin(joiner: (fx: Awaited<ReturnType<typeof fixtures>>) => Parameters<Simulation['addMember']>[0], restricted = false, seed = 7) {
  const fx = await fixtures();
  const sim = cluster(fx, 0, { seed, restricted });
  for (let i = 2; i <= 4; i++) sim.addMember(memberSpec(fx, i));
  watchSafety(sim, () => true);
  settle(sim, 1000);
  const spec = joiner(fx);
  sim.addMember(spec);
  sim.runFor(2000);
  const node = sim.nodes.get(spec.id);
  if (!node) throw new Error('joiner missing');
  return { sim, node };
}

describe('admission', () => {
  it('a join vetoed by an application is refused with that reason', async () => {
    const fx = await fixtures();
    const sim = cluster(fx, 0, { seed: 3 });
    const veto = { members: [fx.members[3]?.memberId ?? 0], reason: 'licence allows three members' };
    for (let i = 1; i <= 3; i++) sim.addMember(memberSpec(fx, i, { demo: { veto } }));
    settle(sim, 1000);
    sim.addMember(memberSpec(fx, 4, { demo: { veto } }));
    sim.runFor(2000);
    const node = sim.nodes.get(fx.members[3]?.memberId ?? 0);
    expect(node?.role).toBe('refused');
    expect(node?.refusal).toEqual({ reason: NakReason.Vetoed, detail: 'demo: licence allows three members' });
    expect(masterOf(sim).core.ctx.members).toHaveLength(3);
    // The master's application saw and vetoed the candidate.
    expect(masterOf(sim).demo.events).toContainEqual({ kind: 'approve', candidate: node?.id, verdict: false });
  });

  it('a certificate from another CA is refused as a bad certificate', async () => {
    // The impostor claims 198.18.0.1 with a certificate from a foreign CA.
    const { node } = await tryJoin((fx) => ({ id: fx.foreignMember.memberId, credentials: creds(fx.foreignMember) }), false, 11);
    expect(node.role).toBe('refused');
    expect(node.refusal?.reason).toBe(NakReason.BadCertificate);
    expect(node.refusal?.detail).toMatch(/untrusted/);
  });

  it.each([
    ['expired', 'expired', NakReason.BadCertificate, /expired/],
    ['notYetValid', 'not yet valid', NakReason.BadCertificate, /not-yet-valid/],
    ['noDigitalSignature', 'without digitalSignature', NakReason.BadCertificate, /key-usage/],
  ] as const)('a member certificate %s (%s) is refused', async (which, _label, reason, detail) => {
    const { sim, node } = await tryJoin((fx) => ({ id: fx[which].memberId, credentials: creds(fx[which]) }));
    expect(node.role).toBe('refused');
    expect(node.refusal?.reason).toBe(reason);
    expect(node.refusal?.detail).toMatch(detail);
    expect(masterOf(sim).core.ctx.members).toHaveLength(3);
  });

  it('a client certificate from the cluster CA with the joiner\'s IP identity is refused: not a member certificate', async () => {
    const fx = await fixtures();
    const dates = { notBefore: new Date(Date.UTC(2026, 0, 1)), notAfter: new Date(Date.UTC(2030, 0, 1)) };
    const client = await issueEndpoint(fx.ca, { ...dates, commonName: 'member-9', ipAddresses: ['198.18.0.9'], purpose: 'client' });
    const { sim, node } = await tryJoin(() => ({ id: parseIpv4('198.18.0.9'), credentials: { chain: client.chain, privateKey: client.privateKey } }));
    expect(node.role).toBe('refused');
    expect(node.refusal?.reason).toBe(NakReason.BadCertificate);
    expect(node.refusal?.detail).toBe(
      'not-member-certificate: member-9 is not a cluster member certificate (ExtendedKeyUsage clientAuth, iKEIntermediate; `shoal pki issue-member` issues them)',
    );
    expect(masterOf(sim).core.ctx.members).toHaveLength(3);
  });

  it('a member not on the allowed list is refused as not allowed', async () => {
    const { node } = await tryJoin((fx) => ({ id: fx.intruder.memberId, credentials: creds(fx.intruder) }), true);
    expect(node.refusal?.reason).toBe(NakReason.NotAllowed);
  });

  it('a member with another config version is excluded with that reason (test/sim/config-version.test.ts has the rest)', async () => {
    const { node } = await tryJoin((fx) => memberSpec(fx, 1, { configVersion: 9 }));
    expect(node.role).toBe('excluded');
    expect(node.refusal).toBeNull();
    expect(node.exclusions.map((e) => e.reason)).toEqual(["config version 9 differs from the master's 1"]);
  });

  it('applications that do not answer make the join wait and retry, not fail', async () => {
    const fx = await fixtures();
    const sim = cluster(fx, 0, { seed: 5 });
    for (let i = 1; i <= 2; i++) sim.addMember(memberSpec(fx, i, { demo: { silent: true } }));
    sim.runFor(1000);
    const master = masterOf(sim);
    expect(master.core.ctx.members).toHaveLength(1);
    const other = sim.live().find((n) => n !== master);
    expect(other?.role).toBe('joining');
    expect(other?.refusal).toBeNull();
    sim.runFor(3000);
    expect(master.core.status().counters['master.approval-timeout']).toBeGreaterThan(0);
  });
});

describe('forged, replayed and foreign messages', () => {
  async function runningCluster() {
    const fx = await fixtures();
    const sim = cluster(fx, 3, { seed: 21 });
    watchSafety(sim, () => true);
    const captured: { from: number; type: number; bytes: Uint8Array }[] = [];
    sim.taps.push((from, bytes, message) => captured.push({ from, type: message.type, bytes }));
    settle(sim, 1000);
    sim.runFor(2500);
    return { sim, captured };
  }

  /** The header's sequence number sits at bytes 20..23. */
  function withSeq(bytes: Uint8Array, seq: number): Uint8Array {
    const out = bytes.slice();
    new DataView(out.buffer).setUint32(20, seq);
    return out;
  }

  function stateOf(sim: Simulation) {
    return sim.live().map((n) => ({ id: n.id, role: n.role, members: n.core.ctx.members.join(), units: n.core.servedUnits().join(), master: n.core.ctx.master }));
  }

  it('drops a MACed message with a flipped byte, a replay, and another cluster’s message, changing nothing', async () => {
    const { sim, captured } = await runningCluster();
    const master = masterOf(sim);
    const victim = sim.live().find((n) => n !== master);
    if (!victim) throw new Error('no member');
    const deassign = captured.find((c) => c.type === MessageType.WorkDeassign || c.type === MessageType.WorkAssign);
    const keepalive = [...captured].reverse().find((c) => c.type === MessageType.MasterKeepalive);
    if (!deassign || !keepalive) throw new Error('nothing captured');
    const before = stateOf(sim);
    const counters = () => victim.core.status().counters;

    // A fresh sequence number gets it past the replay check; the MAC then fails.
    const forged = withSeq(keepalive.bytes, 0x7fff0000);
    forged[40] = (forged[40] ?? 0) ^ 0x01; // inside the body
    sim.inject(victim.id, forged);
    sim.runFor(1);
    expect(counters()['drop.bad-mac']).toBe(1);
    sim.inject(victim.id, withSeq(keepalive.bytes, 0x7fff0001)); // header changed, body intact: the MAC covers the header
    sim.runFor(1);
    expect(counters()['drop.bad-mac']).toBe(2);

    sim.inject(victim.id, keepalive.bytes); // already delivered once
    sim.runFor(1);
    expect(counters()['drop.replayed']).toBeGreaterThanOrEqual(1);

    // An old work order the member never processed (it was still joining): the replay
    // window lets it through once, and its epoch, older than the member's view, makes it void.
    const digest = victim.core.ctx.view.digest().join();
    sim.inject(victim.id, deassign.bytes);
    sim.runFor(1);
    expect(counters()['member.stale-order']).toBeGreaterThan(0);
    expect(victim.core.ctx.view.digest().join()).toBe(digest);

    const foreign = keepalive.bytes.slice();
    foreign[4] = (foreign[4] ?? 0) ^ 0xff; // cluster id
    sim.inject(victim.id, foreign);
    sim.runFor(1);
    expect(counters()['drop.foreign-cluster']).toBe(1);

    expect(stateOf(sim)).toEqual(before);
  });

  it('drops a replayed or altered signed message', async () => {
    const { sim, captured } = await runningCluster();
    const fx = await fixtures();
    const master = masterOf(sim);
    const join = captured.find((c) => c.type === MessageType.JoinRequest && c.from !== master.id);
    if (!join) throw new Error('nothing captured');
    const before = stateOf(sim);

    // A JOIN_REQUEST replayed as it was: its sequence number is stale.
    sim.inject(master.id, join.bytes);
    sim.runFor(1);
    expect(master.core.status().counters['drop.replayed']).toBeGreaterThanOrEqual(1);

    // The same with a fresh sequence number (the header is signed too) and with an altered body.
    sim.inject(master.id, withSeq(join.bytes, 0x7fff0000));
    const tampered = withSeq(join.bytes, 0x7fff0001);
    tampered[40] = (tampered[40] ?? 0) ^ 0x40; // inside the nonce
    sim.inject(master.id, tampered);
    sim.runFor(1);
    expect(master.core.status().counters['drop.bad-signature']).toBe(2);
    expect(stateOf(sim)).toEqual(before);
    void fx;
  });
});
