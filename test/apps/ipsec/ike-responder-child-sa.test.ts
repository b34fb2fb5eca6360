/**
 * CREATE_CHILD_SA and INFORMATIONAL through IpsecHandler (RFC 7296 §1.3, §1.4,
 * §2.8, §2.18): a new child, child rekey with and without PFS (traffic moves
 * to the new SA, the old one is deleted), IKE rekey (children move; deleting
 * the old IKE SA leaves them working), liveness, and Delete of the IKE SA
 * freeing everything including the virtual address.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { unitOfIkeSpi, unitOfSpi32 } from '../../../src/cluster/session-id.js';
import { parseIpv4 } from '../../../src/lib/ipv4.js';
import { NOTIFY } from '../../../src/wire/ike/notify.js';
import { IP_PROTOCOL } from '../../../src/wire/ipv4.js';
import {
  INSIDE_HOST,
  espProtection,
  ikeSuite,
  innerPacket,
  makeTestPki,
  type InitiatorChild,
  type TestPki,
  handlerSession,
} from '../../support/ike-initiator.js';

let pki: TestPki;
beforeAll(async () => {
  pki = await makeTestPki();
});

const CLIENT = parseIpv4('203.0.113.99');

function established(seed = 1) {
  const { clock, handler, wire, ini } = handlerSession(pki, { client: { ip: CLIENT, port: 500 }, setup: { seed }, seed: seed + 100 });
  const { child, virtualAddress } = ini.connect();
  const sa = [...handler.responder.state.sas.values()][0]!;
  return { clock, handler, wire, ini, sa, first: child!, vip: virtualAddress! };
}

type Session = ReturnType<typeof established>;

/** Client → inside over `child`: the handler must deliver it. */
function up(s: Session, child: InitiatorChild, text: string): boolean {
  const packet = innerPacket(s.vip, INSIDE_HOST, text);
  const out = s.handler.ip(s.clock.now, s.sa.unit, CLIENT, IP_PROTOCOL.ESP, child.encrypt(s.clock.now, packet));
  return out.length === 1 && out[0]!.kind === 'inner' && Buffer.from(out[0]!.packet).equals(Buffer.from(packet));
}

/** Inside → client: which of the initiator's children opens it (its inbound SPI), or null. */
function down(s: Session, text: string): number | null {
  const packet = innerPacket(INSIDE_HOST, s.vip, text);
  const out = s.handler.toClient(s.clock.now, s.sa.unit, s.vip, packet);
  if (out === null || out.length !== 1 || out[0]!.kind !== 'ip') return null;
  const esp = out[0]!.payload;
  const spi = Buffer.from(esp).readUInt32BE(0);
  const child = s.ini.children.find((c) => c.spiIn === spi);
  const opened = child?.decrypt(s.clock.now, esp);
  return opened?.ok && Buffer.from(opened.packet).equals(Buffer.from(packet)) ? spi : null;
}

describe('CREATE_CHILD_SA', () => {
  it('a new CHILD SA: its SPI in the session unit, traffic on both', () => {
    const s = established(1);
    const r = s.ini.createChild();
    expect(r.kind).toBe('ok');
    const second = r.kind === 'ok' ? r.child : s.first;
    expect(unitOfSpi32(second.spiOut)).toBe(s.sa.unit);
    expect(s.sa.children).toHaveLength(2);
    expect(up(s, s.first, 'one')).toBe(true);
    expect(up(s, second, 'two')).toBe(true);
    // The newest child carries the outbound traffic.
    expect(down(s, 'back')).toBe(second.spiIn);
    expect(s.handler.allCounters().get('ike.create-child.ok')).toBe(1);
  });

  // Each ESP suite of the configuration names its PFS group.
  const PFS: [number | undefined, string][] = [
    [undefined, 'aes256gcm16'],
    [31, 'aes256gcm16'],
    [19, 'aes128gcm16'],
    [14, 'aes128-sha256'],
    [20, 'aes256-sha512'],
    [31, 'chacha20poly1305'],
  ];
  for (const [pfs, esp] of PFS) {
    it(`child rekey ${pfs === undefined ? 'without PFS' : `with PFS group ${pfs}`} to ${esp}: traffic moves, old deleted`, () => {
      const s = established(2);
      s.clock.now += 60_000;
      const old = s.first;
      const oldResponderSpi = old.spiOut;
      const r = s.ini.createChild({ rekey: old, espSuites: [espProtection(esp)], ...(pfs !== undefined ? { pfsGroup: pfs } : {}) });
      expect(r.kind).toBe('ok');
      const fresh = r.kind === 'ok' ? r.child : old;
      expect(fresh.spiOut).not.toBe(oldResponderSpi);
      expect(unitOfSpi32(fresh.spiOut)).toBe(s.sa.unit);
      expect(s.handler.allCounters().get('ike.create-child.rekeyed')).toBe(1);
      // Until the Delete both work inbound; outbound is on the new one.
      expect(up(s, old, 'old still drains')).toBe(true);
      expect(up(s, fresh, 'new')).toBe(true);
      expect(down(s, 'down on new')).toBe(fresh.spiIn);
      // Delete the old one: the responder answers with its own SPI of that child.
      expect(s.ini.deleteChild(old)).toEqual([oldResponderSpi]);
      expect(s.sa.children.map((c) => c.spiIn)).toEqual([fresh.spiOut]);
      expect(s.handler.responder.state.espSpis.has(oldResponderSpi)).toBe(false);
      expect(up(s, old, 'old is gone')).toBe(false);
      expect(s.handler.allCounters().get('esp.drop.unknown-spi')).toBe(1);
      expect(up(s, fresh, 'new after delete')).toBe(true);
      expect(down(s, 'still down on new')).toBe(fresh.spiIn);
    });
  }

  it('rekey with a PFS group the responder does not want first: INVALID_KE_PAYLOAD, then success', () => {
    const s = established(3);
    // aes256gcm16 is configured with x25519 as its PFS group; the proposal offers 14 and 31, the KE is 14.
    const r = s.ini.createChild({ rekey: s.first, pfsGroup: 14, otherPfsGroups: [31] });
    expect(r).toEqual({ kind: 'error', notify: NOTIFY.INVALID_KE_PAYLOAD });
    // Only group 14 offered: nothing acceptable.
    expect(s.ini.createChild({ rekey: s.first, pfsGroup: 14 })).toEqual({ kind: 'error', notify: NOTIFY.NO_PROPOSAL_CHOSEN });
    const ok = s.ini.createChild({ rekey: s.first, pfsGroup: 31 });
    expect(ok.kind).toBe('ok');
  });

  it('rekey of a child that does not exist: CHILD_SA_NOT_FOUND', () => {
    const s = established(4);
    const ghost = { ...s.first, spiIn: 0x0eee_e000, spiOut: 0x0fff_f000 } as InitiatorChild;
    expect(s.ini.createChild({ rekey: ghost })).toEqual({ kind: 'error', notify: NOTIFY.CHILD_SA_NOT_FOUND });
  });

  it('traffic selectors outside the protected networks: TS_UNACCEPTABLE', () => {
    const s = established(5);
    const elsewhere = { family: 'ipv4' as const, protocol: 0, startPort: 0, endPort: 65535, start: parseIpv4('172.16.0.0'), end: parseIpv4('172.16.255.255') };
    (s.ini.opts as { tsr?: unknown }).tsr = [elsewhere];
    expect(s.ini.createChild()).toEqual({ kind: 'error', notify: NOTIFY.TS_UNACCEPTABLE });
  });
});

describe('IKE SA rekey', () => {
  it('moves the children to the new IKE SA; deleting the old one leaves them working', () => {
    const s = established(6);
    const oldSa = s.sa;
    const r = s.ini.rekeyIke([ikeSuite('aes256gcm16-prfsha384-ecp384')]);
    if ('error' in r) throw new Error(`IKE rekey refused: ${r.error}`);
    const responderSas = [...s.handler.responder.state.sas.values()];
    expect(responderSas).toHaveLength(2);
    const next = responderSas.find((x) => x !== oldSa)!;
    expect(Buffer.from(next.spiR).equals(Buffer.from(r.next.spiR))).toBe(true);
    expect(unitOfIkeSpi(next.spiR)).toBe(oldSa.unit);
    expect(next.unit).toBe(oldSa.unit);
    expect(next.children).toHaveLength(1);
    expect(next.virtualAddress).toBe(s.vip);
    expect(oldSa.children).toHaveLength(0);
    // Delete the old IKE SA on its own keys.
    expect(s.ini.deleteIke(r.old)).toEqual([]);
    expect([...s.handler.responder.state.sas.values()]).toEqual([next]);
    expect(s.handler.responder.deps.pool.inUse(s.vip)).toBe(true);
    expect(up(s, s.first, 'after IKE rekey')).toBe(true);
    expect(down(s, 'down after IKE rekey')).toBe(s.first.spiIn);
    // The new IKE SA works: liveness, a new child, a child rekey.
    expect(s.ini.informational()).toEqual([]);
    const c = s.ini.createChild();
    expect(c.kind).toBe('ok');
    const rekeyed = s.ini.rekeyChild(s.first, 19, [espProtection('aes128gcm16')]);
    expect(up(s, rekeyed, 'rekeyed child under the new IKE SA')).toBe(true);
    // Finally deleting the new IKE SA takes everything.
    expect(s.ini.deleteIke()).toEqual([]);
    expect(s.handler.responder.state.sas.size).toBe(0);
    expect(s.handler.responder.state.espSpis.size).toBe(0);
    expect(s.handler.responder.deps.pool.inUse(s.vip)).toBe(false);
    expect(down(s, 'nobody')).toBeNull();
  });

  // RFC 7296 §2.8/§2.18: after an IKE rekey the old SA is 'rekeyed' and only sees the
  // initiator's Delete; a CREATE_CHILD_SA on it gets TEMPORARY_FAILURE. (Before, it was served
  // with no virtual address and TSi could widen to 0.0.0.0/0.)
  it('the old IKE SA serves no CREATE_CHILD_SA after an IKE rekey (no TSi widening)', () => {
    const s = established(11);
    const r = s.ini.rekeyIke();
    if ('error' in r) throw new Error(`IKE rekey refused: ${r.error}`);
    s.ini.sa = r.old; // a (misbehaving) client keeps using the old IKE SA
    const c = s.ini.createChild();
    expect(c.kind === 'ok' ? c.child.tsi : 'refused').toBe('refused');
  });

  it('an IKE rekey with a KE of another group: INVALID_KE_PAYLOAD', () => {
    const s = established(7);
    const suites = [ikeSuite('aes256gcm16-prfsha256-ecp256')];
    // Offer ecp384 first via a suite the responder prefers less: the KE follows suites[0].
    const r = s.ini.rekeyIke([ikeSuite('aes128gcm16-prfsha256-x25519'), ...suites]);
    // The responder's first preference (aes256gcm16 ecp256) is offered, the KE is x25519.
    expect(r).toEqual({ error: NOTIFY.INVALID_KE_PAYLOAD });
  });
});

describe('INFORMATIONAL', () => {
  it('liveness: an empty request gets an empty answer and keeps the SA alive', () => {
    const s = established(8);
    for (let i = 0; i < 5; i++) {
      s.clock.now += 200_000;
      expect(s.ini.informational()).toEqual([]);
      s.handler.tick(s.clock.now);
    }
    expect(s.handler.responder.state.sas.size).toBe(1);
    expect(s.handler.allCounters().get('ike.informational.liveness')).toBe(5);
    // Silence past the idle timeout: the SA goes.
    s.clock.now += 301_000;
    s.handler.tick(s.clock.now);
    expect(s.handler.responder.state.sas.size).toBe(0);
    expect(s.handler.responder.deps.pool.inUse(s.vip)).toBe(false);
  });

  it('delete of the IKE SA removes children, SPIs and the virtual address', () => {
    const s = established(9);
    s.ini.createChild();
    const spis = s.sa.children.map((c) => c.spiIn);
    expect(spis).toHaveLength(2);
    expect(s.handler.responder.deps.pool.inUse(s.vip)).toBe(true);
    expect(s.ini.deleteIke()).toEqual([]);
    expect(s.handler.responder.state.sas.size).toBe(0);
    for (const spi of spis) expect(s.handler.responder.state.espSpis.has(spi)).toBe(false);
    expect(s.handler.responder.deps.pool.inUse(s.vip)).toBe(false);
    expect(s.handler.toClient(s.clock.now, s.sa.unit, s.vip, innerPacket(INSIDE_HOST, s.vip, 'x'))).toBeNull();
    expect(s.handler.allCounters().get('ike.removed.deleted-by-peer')).toBe(1);
    // The address goes back to the unit's pool.
    const again = established(9);
    expect(again.vip).toBeDefined();
  });

  it('deleting a child SPI that is already gone is not an error', () => {
    const s = established(10);
    const first = s.first;
    expect(s.ini.deleteChild(first)).toEqual([first.spiOut]);
    expect(s.ini.deleteChild(first)).toEqual([]);
    expect(s.handler.responder.state.sas.size).toBe(1);
    expect(down(s, 'no child')).toBeNull();
  });
});
