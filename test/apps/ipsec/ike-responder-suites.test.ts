/**
 * IKEv2 responder happy paths, driven by the test initiator through
 * IpsecHandler: every suite family (AES-GCM, AES-CBC+HMAC, ChaCha20-Poly1305)
 * and D-H group (14, 19, 20, 31), PSK and ECDSA/RSA certificates. Every
 * identifier the session allocated — responder IKE SPI, ESP SPI, virtual
 * address — must lead the cluster filter back to the session's unit.
 *
 *   initiator ─ IPv4/UDP ─ classifyInbound → unit ─► IpsecHandler ─► answers
 *   then: unitOfIkeSpi(SPIr) = unitOfSpi32(ESP SPI) = unitOfAddress(VIP) = unit
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { IpsecHandler } from '../../../src/apps/ipsec/ipsec-handler.js';
import { classifyInbound, classifyToClient } from '../../../src/cluster/filter.js';
import { unitOfIkeSpi, unitOfSpi32 } from '../../../src/cluster/session-id.js';
import { unitOfAddress, unitOfAddressPort } from '../../../src/cluster/unit-hash.js';
import { parseIpv4 } from '../../../src/lib/ipv4.js';
import { SeededRandom } from '../../../src/lib/random.js';
import { IP_PROTOCOL } from '../../../src/wire/ipv4.js';
import { encodeEspInUdp } from '../../../src/wire/udp-encap.js';
import {
  CLIENT_EC_ID,
  CLIENT_P384_ID,
  CLIENT_RSA_ID,
  DNS,
  ESP_SUITES,
  HandlerWire,
  IKE_PORT,
  IKE_SUITES,
  IkeInitiator,
  INSIDE_HOST,
  SERVER_IP,
  clientOptions,
  espProtection,
  ikeSuite,
  innerPacket,
  ipv4Packet,
  makeTestPki,
  responderDeps,
  udpPacket,
  type Clock,
  type InitiatorOptions,
  type ResponderSetup,
  type TestPki,
  handlerSession,
} from '../../support/ike-initiator.js';

let pki: TestPki;
beforeAll(async () => {
  pki = await makeTestPki();
});

const CLIENT = parseIpv4('203.0.113.10');

function session(setup: ResponderSetup, who: Parameters<typeof clientOptions>[1], more: Partial<InitiatorOptions>, seed = 7, clientPort = 500) {
  return handlerSession(pki, { client: { ip: CLIENT, port: clientPort }, setup, who, more, seed });
}

/** Establishes, then checks the unit invariants and ESP both ways. */
function establishAndCheck(s: ReturnType<typeof session>): void {
  const { handler, wire, ini, clock } = s;
  const { child, virtualAddress } = ini.connect();
  expect(child).not.toBeNull();
  expect(virtualAddress).not.toBeNull();
  const vip = virtualAddress!;
  const sas = [...handler.responder.state.sas.values()];
  expect(sas).toHaveLength(1);
  const sa = sas[0]!;
  expect(sa.state).toBe('established');
  // The session's unit is what the filter gave IKE_SA_INIT: the client's address and port.
  expect(sa.unit).toBe(unitOfAddressPort(CLIENT, wire.client.port));
  expect(wire.sent[0]!.unit).toBe(sa.unit);
  // Every later IKE message classifies by the responder SPI to the same unit.
  expect(unitOfIkeSpi(sa.spiR)).toBe(sa.unit);
  for (const d of wire.sent.slice(1)) expect(d.unit).toBe(sa.unit);
  // The virtual address: destination-only unit equals the session's.
  expect(sa.virtualAddress).toBe(vip);
  expect(unitOfAddress(vip)).toBe(sa.unit);
  expect(classifyToClient(innerPacket(INSIDE_HOST, vip, 'x'))).toBe(sa.unit);
  // ESP SPIs.
  const c = child!;
  expect(unitOfSpi32(c.spiOut)).toBe(sa.unit);
  expect(sa.children[0]!.spiIn).toBe(c.spiOut);
  const up = innerPacket(vip, INSIDE_HOST, 'hello inside');
  const esp = c.encrypt(clock.now, up);
  expect(classifyInbound(ipv4Packet(CLIENT, SERVER_IP, IP_PROTOCOL.ESP, esp))).toBe(sa.unit);
  expect(classifyInbound(udpPacket({ ip: CLIENT, port: 4500 }, { ip: SERVER_IP, port: 4500 }, encodeEspInUdp(esp)))).toBe(sa.unit);
  const inner = ini.port === IKE_PORT ? handler.ip(clock.now, sa.unit, CLIENT, IP_PROTOCOL.ESP, esp) : handler.udp(clock.now, sa.unit, wire.from(4500), 4500, esp);
  expect(inner).toEqual([{ kind: 'inner', packet: up }]);
  // And back: the inside's packet to the VIP comes out as ESP the initiator opens.
  const down = innerPacket(INSIDE_HOST, vip, 'hello client');
  const out = handler.toClient(clock.now, sa.unit, vip, down);
  expect(out).toHaveLength(1);
  const o = out![0]!;
  const payload = o.kind === 'ip' || o.kind === 'udp' ? o.payload : new Uint8Array(0);
  if (ini.port === IKE_PORT) expect(o).toMatchObject({ kind: 'ip', protocol: IP_PROTOCOL.ESP, to: CLIENT });
  else expect(o).toMatchObject({ kind: 'udp', localPort: 4500, to: wire.from(4500) });
  const opened = c.decrypt(clock.now, payload);
  expect(opened.ok && Buffer.from(opened.packet).equals(Buffer.from(down))).toBe(true);
}

describe('IKE_SA_INIT + IKE_AUTH happy paths', () => {
  for (const name of IKE_SUITES) {
    it(`PSK with IKE suite ${name}`, () => {
      const s = session({}, { psk: true }, { ikeSuites: [ikeSuite(name)] });
      establishAndCheck(s);
      const sa = [...s.handler.responder.state.sas.values()][0]!;
      expect(sa.suite).toBe(s.handler.responder.deps.config.ikeProposals.find((x) => x === sa.suite));
      expect(sa.suite.dhGroup.group).toBe(ikeSuite(name).dhGroup.group);
    });
  }

  IKE_SUITES.forEach((name, i) => {
    const rsa = i % 2 === 1;
    it(`${rsa ? 'RSA' : 'ECDSA'} certificates with IKE suite ${name}`, () => {
      const who = rsa ? { cert: pki.clientRsa, id: CLIENT_RSA_ID } : { cert: pki.clientEc, id: CLIENT_EC_ID };
      establishAndCheck(session({ server: rsa ? 'rsa' : 'ec' }, who, { ikeSuites: [ikeSuite(name)] }, 40 + i));
    });
  });

  for (const name of ESP_SUITES) {
    it(`ESP suite ${name} carries traffic both ways`, () => {
      establishAndCheck(session({}, { psk: true }, { espSuites: [espProtection(name)] }, 11));
    });
  }

  it('ESN pinned off and on', () => {
    establishAndCheck(session({}, { psk: true }, { esn: false }, 12));
    establishAndCheck(session({}, { psk: true }, { esn: true }, 13));
  });

  it('ECDSA P-256 client certificate, EC server', () => {
    establishAndCheck(session({}, { cert: pki.clientEc, id: CLIENT_EC_ID }, {}, 21));
  });

  it('ECDSA P-384 client certificate (email identity)', () => {
    establishAndCheck(session({}, { cert: pki.clientP384, id: CLIENT_P384_ID }, { ikeSuites: [ikeSuite('aes256gcm16-prfsha384-ecp384')] }, 22));
  });

  it('RSA client certificate via an intermediate, RSA server', () => {
    establishAndCheck(session({ server: 'rsa' }, { cert: pki.clientRsa, id: CLIENT_RSA_ID }, { ikeSuites: [ikeSuite('aes256-sha256-modp2048')] }, 23));
  });

  it('RFC 7427 digital signatures (method 14) both ways when both sides announce SHA-2', () => {
    const s = session({ server: 'rsa' }, { cert: pki.clientEc, id: CLIENT_EC_ID }, {}, 26);
    establishAndCheck(s);
    expect(s.ini.responderHashes).toEqual([2, 3, 4]);
    expect(s.ini.authMethods).toEqual({ ours: 14, theirs: 14 });
  });

  it('without SIGNATURE_HASH_ALGORITHMS both sides fall back to the classic methods (ECDSA 9/10, RSA 1)', () => {
    for (const [setup, who, seed, methods] of [
      [{}, { cert: pki.clientEc, id: CLIENT_EC_ID }, 24, { ours: 9, theirs: 9 }],
      [{ server: 'rsa' }, { cert: pki.clientRsa, id: CLIENT_RSA_ID }, 25, { ours: 1, theirs: 1 }],
      [{}, { cert: pki.clientP384, id: CLIENT_P384_ID }, 27, { ours: 10, theirs: 9 }],
    ] as const) {
      const s = session(setup, who, { signatureHashes: false }, seed);
      establishAndCheck(s);
      expect(s.ini.responderHashes).toEqual([]);
      expect(s.ini.authMethods).toEqual(methods);
    }
  });

  it('behind a NAT: IKE moves to 4500 and ESP goes in UDP', () => {
    const s = session({}, { psk: true }, { pretendNat: true }, 31, 31000);
    s.wire.natPort = 31001;
    establishAndCheck(s);
    const sa = [...s.handler.responder.state.sas.values()][0]!;
    expect(sa.natPeer).toBe(true);
    expect(sa.localPort).toBe(4500);
    expect(s.wire.sent.slice(1).every((d) => d.port === 4500)).toBe(true);
  });

  it('forced NAT-T without a NAT still uses UDP 4500 for ESP', () => {
    const s = session({}, { psk: true }, { forceNatT: true }, 32);
    establishAndCheck(s);
  });

  it('CP reply carries the VIP and the DNS server; TS narrowed to VIP and protected networks', () => {
    const s = session({}, { psk: true }, {}, 33);
    const { child, virtualAddress } = s.ini.connect();
    expect(child!.tsi).toEqual([{ family: 'ipv4', protocol: 0, startPort: 0, endPort: 65535, start: virtualAddress, end: virtualAddress }]);
    expect(child!.tsr).toEqual([{ family: 'ipv4', protocol: 0, startPort: 0, endPort: 65535, start: parseIpv4('10.1.0.0'), end: parseIpv4('10.1.255.255') }]);
    expect(s.ini.dns).toEqual([DNS]);
  });

  it('many clients from many source ports each land in their own unit', () => {
    const clock: Clock = { now: 5 };
    // 24 clients share the PSK identity: lift its address cap (tested in ike-responder-caps.test.ts).
    const handler = new IpsecHandler(responderDeps(pki, { seed: 9, config: { limits: { virtualAddressesPerIdentity: 1000 } } }));
    const units = new Set<number>();
    for (let i = 0; i < 24; i++) {
      const wire = new HandlerWire(handler, clock, { ip: parseIpv4(`203.0.113.${20 + i}`), port: 500 + i }, SERVER_IP);
      const ini = new IkeInitiator(clientOptions(new SeededRandom(100 + i), { psk: true }), wire);
      const { virtualAddress } = ini.connect();
      const unit = unitOfAddressPort(wire.client.ip, wire.client.port);
      units.add(unit);
      expect(unitOfAddress(virtualAddress!)).toBe(unit);
      expect(unitOfSpi32(ini.children[0]!.spiOut)).toBe(unit);
      expect(unitOfIkeSpi(ini.ike.spiR)).toBe(unit);
    }
    expect(units.size).toBeGreaterThan(20);
    expect(handler.responder.state.sas.size).toBe(24);
  });
});
