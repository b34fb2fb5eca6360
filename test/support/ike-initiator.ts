/**
 * A minimal sans-IO IKEv2 initiator for driving Shoal's responder in tests,
 * built only from the project's own codec (src/wire/ike) and crypto
 * (src/apps/ipsec/crypto, protect.ts, peer-auth). It is deliberately small:
 * one request in flight, no retransmission timer, no policy.
 *
 *   IkeInitiator ─ request datagrams ─► Wire (responderWire | handlerWire)
 *                ◄─ answer datagrams ──┘   (builds the IPv4/UDP packet, classifies
 *                                            it with the cluster filter for the unit,
 *                                            and hands it to IkeResponder / IpsecHandler)
 *
 *   connect():   IKE_SA_INIT (COOKIE echo, INVALID_KE retry) → IKE_AUTH (PSK | cert, CP, SA, TS)
 *   createChild() / rekeyChild() / rekeyIke() → CREATE_CHILD_SA
 *   informational() / deleteChild() / deleteIke() → INFORMATIONAL
 *   InitiatorChild.encrypt / decrypt → ESP with the derived CHILD SA keys
 *
 * The keys in a Protection are named from the responder's viewpoint (out =
 * SK_er), so the initiator's Protection swaps them: out = SK_ei/SK_ai.
 */
import { X509Certificate, createHash, type KeyObject } from 'node:crypto';
import type { IpsecConfig, Prefix4 } from '../../src/apps/ipsec/config.js';
import { IPSEC_DEFAULTS } from '../../src/apps/ipsec/config.js';
import type { ResponderDeps } from '../../src/apps/ipsec/ike/context.js';
import { ClientTrustStore } from '../../src/apps/ipsec/ike/peer-auth/client-cert.js';
import { formatIdentity, identityPayload } from '../../src/apps/ipsec/ike/peer-auth/identity.js';
import { parseEspSuite } from '../../src/apps/ipsec/ike/negotiation/esp-suite.js';
import { parseIkeSuite } from '../../src/apps/ipsec/crypto/transforms.js';
import { AddressPool } from '../../src/cluster/session-id.js';
import { parseIpv4 } from '../../src/lib/ipv4.js';
import { SeededRandom } from '../../src/lib/random.js';
import { makeCa, makeIntermediate, type CaBundle } from '../../src/pki/ca.js';
import { issueEndpoint, type EndpointBundle } from '../../src/pki/endpoint.js';
import { classifyInbound } from '../../src/cluster/filter.js';
import type { UnitId } from '../../src/cluster/types.js';
import { createKeyExchange, type KeyExchange } from '../../src/apps/ipsec/crypto/dh.js';
import { deriveChildSaKeys, deriveIkeSaKeys, rekeyedSkeyseed, skeyseed, type ChildSaKeys, type IkeSaKeys } from '../../src/apps/ipsec/crypto/keys.js';
import type { IkeSuite, ProtectionSuite } from '../../src/apps/ipsec/crypto/transforms.js';
import { InboundEspSa, OutboundEspSa, type EspDecapsulated } from '../../src/apps/ipsec/esp/sa.js';
import type { IkeResponder } from '../../src/apps/ipsec/ike/responder.js';
import { espTransformSpec } from '../../src/apps/ipsec/ike/negotiation/esp-suite.js';
import { createAuth, verifyAuth, type AuthCheck } from '../../src/apps/ipsec/ike/peer-auth/auth-payload.js';
import { signedOctets } from '../../src/apps/ipsec/ike/peer-auth/signed-octets.js';
import { FragmentCollector, openMessage, sealMessage, type Protection } from '../../src/apps/ipsec/ike/protect.js';
import { natHash } from '../../src/apps/ipsec/ike/sa-init.js';
import { IpsecHandler } from '../../src/apps/ipsec/ipsec-handler.js';
import type { Ipv4 } from '../../src/lib/ipv4.js';
import type { RandomSource } from '../../src/lib/random.js';
import type { Endpoint } from '../../src/stack/tunnel-handler.js';
import { AUTH_METHOD } from '../../src/wire/ike/auth.js';
import { CERT_ENCODING } from '../../src/wire/ike/cert.js';
import { EXCHANGE, ESN, PROTOCOL, TRANSFORM_ATTRIBUTE, TRANSFORM_TYPE } from '../../src/wire/ike/constants.js';
import { CFG_ATTRIBUTE, CFG_TYPE, ipv4Attribute, ipv4Value } from '../../src/wire/ike/cp.js';
import type { IkeHeader } from '../../src/wire/ike/header.js';
import { encodeId, type IdPayload } from '../../src/wire/ike/id.js';
import { decodeIkeMessage, encodeIkeMessage } from '../../src/wire/ike/message.js';
import { HASH_ALGORITHM, NOTIFY, readHashAlgorithms } from '../../src/wire/ike/notify.js';
import type { IkePayload } from '../../src/wire/ike/payload.js';
import type { Proposal, SaPayload, Transform } from '../../src/wire/ike/sa.js';
import type { TrafficSelector } from '../../src/wire/ike/ts.js';
import { encodeIpv4, IP_PROTOCOL } from '../../src/wire/ipv4.js';
import { encodeUdp } from '../../src/wire/udp.js';
import { encodeNonEsp, NAT_T_PORT } from '../../src/wire/udp-encap.js';

export const IKE_PORT = 500;
const NONCE_LENGTH = 32;
const ZERO_SPI = new Uint8Array(8);

// ------------------------------------------------------------------ packets

/** A whole IPv4 packet (no options), for the cluster filter and for inner traffic. */
export function ipv4Packet(src: Ipv4, dst: Ipv4, protocol: number, payload: Uint8Array, id = 1): Uint8Array {
  return encodeIpv4({
    header: { dscp: 0, ecn: 0, id, dontFragment: false, moreFragments: false, fragmentOffset: 0, ttl: 64, protocol, src, dst, options: new Uint8Array(0) },
    payload,
  });
}

/** A whole IPv4/UDP packet. */
export function udpPacket(src: Endpoint, dst: Endpoint, payload: Uint8Array): Uint8Array {
  const udp = encodeUdp({ srcPort: src.port, dstPort: dst.port, payload }, { src: src.ip, dst: dst.ip });
  return ipv4Packet(src.ip, dst.ip, IP_PROTOCOL.UDP, udp);
}

/** What the inside sends to / receives from a client: a small UDP datagram. */
export function innerPacket(src: Ipv4, dst: Ipv4, text: string, id = 7): Uint8Array {
  const udp = encodeUdp({ srcPort: 40000, dstPort: 7, payload: new TextEncoder().encode(text) }, { src, dst });
  return ipv4Packet(src, dst, IP_PROTOCOL.UDP, udp, id);
}

// ------------------------------------------------------------------ wires

export interface Clock {
  now: number;
}

/** One datagram as the initiator sent it: the IKE message and the port it went to. */
export interface SentDatagram {
  port: number;
  message: Uint8Array;
  /** The unit the cluster filter gave the full IPv4/UDP packet. */
  unit: number;
}

/**
 * Carries IKE messages to the responder and brings its answers back. Every
 * message is wrapped in a real IPv4/UDP packet (with the non-ESP marker on
 * 4500) and classified by the cluster filter: that is the unit the responder
 * sees, as on a member.
 */
export abstract class Wire {
  readonly sent: SentDatagram[] = [];
  /** Answers with the port they came from, newest last. */
  readonly received: { port: number; message: Uint8Array }[] = [];

  constructor(
    readonly clock: Clock,
    /** The client's address; `port` is its IKE source port (500 side). */
    public client: Endpoint,
    readonly server: Ipv4,
    /** The client's source port towards 4500 (a NAT may map it to anything). */
    public natPort: number = NAT_T_PORT,
  ) {}

  from(port: number): Endpoint {
    return { ip: this.client.ip, port: port === IKE_PORT ? this.client.port : this.natPort };
  }

  /** The unit the filter gives an IKE message sent to `port`. */
  unitOf(port: number, message: Uint8Array): number {
    const payload = port === IKE_PORT ? message : encodeNonEsp(message);
    return classifyInbound(udpPacket(this.from(port), { ip: this.server, port }, payload));
  }

  /** Delivers the datagrams in order; returns every IKE message that came back. */
  exchange(datagrams: readonly Uint8Array[], port: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (const message of datagrams) {
      const unit = this.unitOf(port, message);
      this.sent.push({ port, message, unit });
      if (unit < 0) throw new Error(`filter refused an IKE message: ${unit}`);
      for (const answer of this.deliver(unit, port, message)) {
        this.received.push({ port, message: answer });
        out.push(answer);
      }
    }
    return out;
  }

  protected abstract deliver(unit: UnitId, port: number, message: Uint8Array): Uint8Array[];
}

/** Straight into IkeResponder.input. */
export class ResponderWire extends Wire {
  constructor(
    readonly responder: IkeResponder,
    clock: Clock,
    client: Endpoint,
    server: Ipv4,
    natPort?: number,
  ) {
    super(clock, client, server, natPort);
  }

  protected deliver(unit: UnitId, port: number, message: Uint8Array): Uint8Array[] {
    const outs = this.responder.input(this.clock.now, unit, this.from(port), port, message);
    return outs.flatMap((o) => (o.kind === 'send' ? [o.message] : []));
  }
}

/** Through IpsecHandler.udp (UDP 500, or 4500 with the non-ESP marker), so ESP tables follow the SA events. */
export class HandlerWire extends Wire {
  constructor(
    readonly handler: IpsecHandler,
    clock: Clock,
    client: Endpoint,
    server: Ipv4,
    natPort?: number,
  ) {
    super(clock, client, server, natPort);
  }

  protected deliver(unit: UnitId, port: number, message: Uint8Array): Uint8Array[] {
    const payload = port === IKE_PORT ? message : encodeNonEsp(message);
    const outs = this.handler.udp(this.clock.now, unit, this.from(port), port, payload);
    const answers: Uint8Array[] = [];
    for (const o of outs) {
      if (o.kind !== 'udp') continue;
      if (o.localPort === IKE_PORT) answers.push(o.payload);
      else if (o.payload.length >= 4 && o.payload.subarray(0, 4).every((b) => b === 0)) answers.push(o.payload.subarray(4));
    }
    return answers;
  }
}

// ------------------------------------------------------------------ proposals

function transform(type: number, id: number, keyBits?: number): Transform {
  return { type, id, attributes: keyBits === undefined ? [] : [{ format: 'tv', type: TRANSFORM_ATTRIBUTE.KEY_LENGTH, value: keyBits }] };
}

function protectionTransforms(p: ProtectionSuite): Transform[] {
  const t = [transform(TRANSFORM_TYPE.ENCR, p.encryption.id, p.encryption.keyBits)];
  if (p.integrity !== null) t.push(transform(TRANSFORM_TYPE.INTEG, p.integrity.id));
  return t;
}

/** One IKE proposal per suite, numbered from 1; `spi` empty in IKE_SA_INIT, the new SPIi in a rekey. */
export function ikeSaPayload(suites: readonly IkeSuite[], spi: Uint8Array = new Uint8Array(0)): SaPayload {
  return {
    proposals: suites.map((s, i) => ({
      number: i + 1,
      protocolId: PROTOCOL.IKE,
      spi,
      transforms: [
        transform(TRANSFORM_TYPE.ENCR, s.encryption.id, s.encryption.keyBits),
        transform(TRANSFORM_TYPE.PRF, s.prf.id),
        ...(s.integrity === null ? [] : [transform(TRANSFORM_TYPE.INTEG, s.integrity.id)]),
        transform(TRANSFORM_TYPE.DH, s.dhGroup.group),
      ],
    })),
  };
}

/** One ESP proposal per suite; ESN yes and no offered unless `esn` pins one; DH only with PFS. */
export function espSaPayload(suites: readonly ProtectionSuite[], spi: number, esn?: boolean, pfsGroups: readonly number[] = []): SaPayload {
  const spiBytes = spi32(spi);
  const esns = esn === undefined ? [ESN.YES, ESN.NO] : [esn ? ESN.YES : ESN.NO];
  return {
    proposals: suites.map(
      (s, i): Proposal => ({
        number: i + 1,
        protocolId: PROTOCOL.ESP,
        spi: spiBytes,
        transforms: [
          ...protectionTransforms(s),
          ...pfsGroups.map((g) => transform(TRANSFORM_TYPE.DH, g)),
          ...esns.map((e) => transform(TRANSFORM_TYPE.ESN, e)),
        ],
      }),
    ),
  };
}

function keyBitsOf(t: Transform | undefined): number | undefined {
  const a = t?.attributes.find((x) => x.type === TRANSFORM_ATTRIBUTE.KEY_LENGTH && x.format === 'tv');
  return a?.format === 'tv' ? a.value : undefined;
}

function transformOf(p: Proposal, type: number): Transform | undefined {
  return p.transforms.find((t) => t.type === type);
}

function sameProtection(p: Proposal, s: ProtectionSuite): boolean {
  const e = transformOf(p, TRANSFORM_TYPE.ENCR);
  const i = transformOf(p, TRANSFORM_TYPE.INTEG);
  if (e?.id !== s.encryption.id || keyBitsOf(e) !== s.encryption.keyBits) return false;
  return s.integrity === null ? i === undefined || i.id === 0 : i?.id === s.integrity.id;
}

export function spi32(spi: number): Uint8Array {
  return Uint8Array.of(spi >>> 24, (spi >>> 16) & 0xff, (spi >>> 8) & 0xff, spi & 0xff);
}

function readSpi32(b: Uint8Array): number {
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
}

// ------------------------------------------------------------------ SA state

/** The initiator's view of one IKE SA. */
export class InitiatorIkeSa {
  nextMessageId = 0;
  readonly fragments = new FragmentCollector();

  constructor(
    readonly spiI: Uint8Array,
    readonly spiR: Uint8Array,
    readonly suite: IkeSuite,
    readonly keys: IkeSaKeys,
  ) {}

  /** Swapped: what the initiator sends is protected with SK_ei/SK_ai. */
  get protection(): Protection {
    const k = this.keys;
    return { suite: this.suite, out: { encryptionKey: k.skEi, integrityKey: k.skAi }, in: { encryptionKey: k.skEr, integrityKey: k.skAr } };
  }
}

/** The initiator's half of a CHILD SA: our inbound SPI, the responder's, and the two ESP SAs. */
export class InitiatorChild {
  readonly outbound: OutboundEspSa;
  readonly inbound: InboundEspSa;

  constructor(
    now: number,
    random: RandomSource,
    /** Our inbound SPI (what the responder's ESP carries). */
    readonly spiIn: number,
    /** The responder's inbound SPI (what our ESP carries). */
    readonly spiOut: number,
    readonly suite: ProtectionSuite,
    readonly esn: boolean,
    readonly keys: ChildSaKeys,
    readonly tsi: TrafficSelector[],
    readonly tsr: TrafficSelector[],
  ) {
    this.outbound = new OutboundEspSa(now, { spi: spiOut, transform: espTransformSpec(suite, keys.initiatorToResponder), esn, random });
    this.inbound = new InboundEspSa(now, { spi: spiIn, transform: espTransformSpec(suite, keys.responderToInitiator), esn });
  }

  encrypt(now: number, inner: Uint8Array): Uint8Array {
    const esp = this.outbound.encapsulate(now, inner);
    if (typeof esp === 'string') throw new Error(`ESP encapsulate: ${esp}`);
    return esp.slice();
  }

  decrypt(now: number, esp: Uint8Array): EspDecapsulated {
    return this.inbound.decapsulate(now, esp);
  }
}

// ------------------------------------------------------------------ options and results

export type InitiatorAuth =
  | { kind: 'psk'; secret: Uint8Array }
  /** Our chain (leaf first) and key; the responder's AUTH is checked against the key of its first CERT. */
  | { kind: 'cert'; chain: readonly Uint8Array[]; key: KeyObject; sendCerts?: boolean };

export interface InitiatorOptions {
  random: RandomSource;
  identity: IdPayload;
  auth: InitiatorAuth;
  /** IKE proposals offered, in order. */
  ikeSuites: readonly IkeSuite[];
  /** The group of the first KEi (default: the first suite's). */
  keGroup?: number;
  /** ESP proposals offered, in order. */
  espSuites: readonly ProtectionSuite[];
  /** Pin ESN on or off (default: offer both). */
  esn?: boolean;
  /** Ask for a virtual address (CP request). Default true. */
  requestVip?: boolean;
  /** Announce IKEV2_FRAGMENTATION_SUPPORTED. Default true. */
  fragmentation?: boolean;
  /** Split our own encrypted requests into SKF fragments of at most this many bytes. */
  requestFragmentSize?: number;
  /** Send SIGNATURE_HASH_ALGORITHMS. Default true. */
  signatureHashes?: boolean;
  /** Send NAT_DETECTION_* notifies. Default true. */
  natDetection?: boolean;
  /** Make the source NAT-D hash wrong, as if behind a NAT: the responder then uses UDP 4500. */
  pretendNat?: boolean;
  /** Move to port 4500 after IKE_SA_INIT even without NAT (RFC 7296 §2.23 allows it). */
  forceNatT?: boolean;
  tsi?: TrafficSelector[];
  tsr?: TrafficSelector[];
  /** Appended to every IKE_SA_INIT request (e.g. Vendor IDs). */
  extraSaInitPayloads?: IkePayload[];
}

export const ANY_SELECTOR: Extract<TrafficSelector, { family: 'ipv4' }> = { family: 'ipv4', protocol: 0, startPort: 0, endPort: 0xffff, start: 0, end: 0xffffffff };

export type SaInitOutcome =
  | { kind: 'ok' }
  | { kind: 'cookie'; cookie: Uint8Array }
  | { kind: 'invalid-ke'; group: number }
  | { kind: 'error'; notify: number }
  | { kind: 'no-answer' };

export type AuthOutcome =
  | { kind: 'ok'; child: InitiatorChild | null; virtualAddress: Ipv4 | null; childError?: number; responderAuth: AuthCheck }
  | { kind: 'error'; notify: number }
  | { kind: 'no-answer' };

export type ChildOutcome = { kind: 'ok'; child: InitiatorChild } | { kind: 'error'; notify: number } | { kind: 'no-answer' };

function firstError(payloads: readonly IkePayload[]): number | undefined {
  const n = payloads.find((p) => p.kind === 'notify' && p.notifyType < 16384);
  return n?.kind === 'notify' ? n.notifyType : undefined;
}

function notify(notifyType: number, data: Uint8Array = new Uint8Array(0), protocolId = 0, spi: Uint8Array = new Uint8Array(0)): IkePayload {
  return { kind: 'notify', protocolId, notifyType, spi, data };
}

// ------------------------------------------------------------------ the initiator

export class IkeInitiator {
  readonly spiI: Uint8Array;
  readonly nonceI: Uint8Array;
  private kx: KeyExchange;
  private cookie: Uint8Array | null = null;
  /** The IKE_SA_INIT request and answer as sent: the AUTH payloads sign them. */
  initRequest: Uint8Array = new Uint8Array(0);
  initResponse: Uint8Array = new Uint8Array(0);
  nonceR: Uint8Array = new Uint8Array(0);
  sa: InitiatorIkeSa | null = null;
  children: InitiatorChild[] = [];
  virtualAddress: Ipv4 | null = null;
  /** INTERNAL_IP4_DNS addresses from the CP reply. */
  dns: Ipv4[] = [];
  /** The port IKE (and, for NAT-T, ESP) goes to after IKE_SA_INIT. */
  port = IKE_PORT;
  /** The responder's CERT payloads from IKE_AUTH. */
  responderCerts: Uint8Array[] = [];
  /** Hashes from the responder's SIGNATURE_HASH_ALGORITHMS (RFC 7427 §4); empty: classic AUTH methods only. */
  responderHashes: number[] = [];
  /** The AUTH methods used: ours in the last IKE_AUTH request, the responder's in its answer. */
  authMethods = { ours: 0, theirs: 0 };

  constructor(
    readonly opts: InitiatorOptions,
    readonly wire: Wire,
  ) {
    this.spiI = opts.random.bytes(8);
    this.nonceI = opts.random.bytes(NONCE_LENGTH);
    this.kx = this.newKx(opts.keGroup ?? opts.ikeSuites[0]!.dhGroup.group);
  }

  private newKx(group: number): KeyExchange {
    const kx = createKeyExchange(group, this.opts.random);
    if (!kx.ok) throw new Error(`key exchange for group ${group}: ${kx.error.message}`);
    return kx.value;
  }

  get now(): number {
    return this.wire.clock.now;
  }

  get group(): number {
    return this.kx.group.group;
  }

  /** The current IKE SA (throws before IKE_SA_INIT succeeded). */
  get ike(): InitiatorIkeSa {
    if (this.sa === null) throw new Error('no IKE SA yet');
    return this.sa;
  }

  // ------------------------------------------------------------ IKE_SA_INIT

  /** HDR, [N(COOKIE)], SAi1, KEi, Ni, N(NAT_D)*, [N(FRAG)], [N(SIG_HASH)] */
  saInitRequest(): Uint8Array {
    const o = this.opts;
    const server: Endpoint = { ip: this.wire.server, port: IKE_PORT };
    const payloads: IkePayload[] = [];
    if (this.cookie !== null) payloads.push(notify(NOTIFY.COOKIE, this.cookie));
    payloads.push({ kind: 'sa', ...ikeSaPayload(o.ikeSuites) }, { kind: 'ke', dhGroup: this.kx.group.group, keyData: this.kx.publicValue }, { kind: 'nonce', nonce: this.nonceI });
    if (o.natDetection ?? true) {
      const source = o.pretendNat ? o.random.bytes(20) : natHash(this.spiI, ZERO_SPI, this.wire.client);
      payloads.push(notify(NOTIFY.NAT_DETECTION_SOURCE_IP, source), notify(NOTIFY.NAT_DETECTION_DESTINATION_IP, natHash(this.spiI, ZERO_SPI, server)));
    }
    if (o.fragmentation ?? true) payloads.push(notify(NOTIFY.IKEV2_FRAGMENTATION_SUPPORTED));
    if (o.signatureHashes ?? true) {
      payloads.push(notify(NOTIFY.SIGNATURE_HASH_ALGORITHMS, Uint8Array.of(0, HASH_ALGORITHM.SHA2_256, 0, HASH_ALGORITHM.SHA2_384, 0, HASH_ALGORITHM.SHA2_512)));
    }
    payloads.push(...(o.extraSaInitPayloads ?? []));
    const header: IkeHeader = { spiI: this.spiI, spiR: ZERO_SPI, exchangeType: EXCHANGE.IKE_SA_INIT, initiator: true, response: false, higherVersion: false, messageId: 0 };
    this.initRequest = encodeIkeMessage({ header, payloads });
    return this.initRequest;
  }

  /** Reads the IKE_SA_INIT answer; on success the IKE SA keys exist. */
  onSaInitResponse(message: Uint8Array | undefined): SaInitOutcome {
    if (message === undefined) return { kind: 'no-answer' };
    const d = decodeIkeMessage(message);
    if (!d.ok) throw new Error(`IKE_SA_INIT answer does not decode: ${d.error.message}`);
    const p = d.value.payloads;
    const cookie = p.find((x) => x.kind === 'notify' && x.notifyType === NOTIFY.COOKIE);
    if (cookie?.kind === 'notify') {
      this.cookie = cookie.data;
      return { kind: 'cookie', cookie: cookie.data };
    }
    const invalidKe = p.find((x) => x.kind === 'notify' && x.notifyType === NOTIFY.INVALID_KE_PAYLOAD);
    if (invalidKe?.kind === 'notify') {
      const group = (invalidKe.data[0]! << 8) | invalidKe.data[1]!;
      this.kx = this.newKx(group);
      return { kind: 'invalid-ke', group };
    }
    const error = firstError(p);
    if (error !== undefined) return { kind: 'error', notify: error };
    const sa = p.find((x) => x.kind === 'sa');
    const ke = p.find((x) => x.kind === 'ke');
    const nonce = p.find((x) => x.kind === 'nonce');
    if (!sa || !ke || !nonce) throw new Error('IKE_SA_INIT answer lacks SA, KE or Nr');
    const chosen = sa.proposals[0]!;
    const suite = this.opts.ikeSuites.find(
      (s) =>
        sameProtection(chosen, s) &&
        transformOf(chosen, TRANSFORM_TYPE.PRF)?.id === s.prf.id &&
        transformOf(chosen, TRANSFORM_TYPE.DH)?.id === s.dhGroup.group,
    );
    if (!suite) throw new Error('responder chose an IKE suite we did not offer');
    if (ke.dhGroup !== this.kx.group.group) throw new Error(`KEr group ${ke.dhGroup}, ours ${this.kx.group.group}`);
    const shared = this.kx.computeShared(ke.keyData);
    if (!shared.ok) throw new Error(`bad KEr: ${shared.error.message}`);
    const spiR = d.value.header.spiR.slice();
    this.nonceR = nonce.nonce.slice();
    this.initResponse = message.slice();
    const keys = deriveIkeSaKeys(suite, skeyseed(suite.prf, this.nonceI, this.nonceR, shared.value), this.nonceI, this.nonceR, this.spiI, spiR);
    if (!keys.ok) throw new Error(keys.error.message);
    this.sa = new InitiatorIkeSa(this.spiI, spiR, suite, keys.value);
    this.sa.nextMessageId = 1;
    const hashes = p.find((x) => x.kind === 'notify' && x.notifyType === NOTIFY.SIGNATURE_HASH_ALGORITHMS);
    const read = hashes?.kind === 'notify' ? readHashAlgorithms(hashes.data) : undefined;
    this.responderHashes = read?.ok ? read.value : [];
    const natSeen = p.some((x) => x.kind === 'notify' && x.notifyType === NOTIFY.NAT_DETECTION_SOURCE_IP);
    if (this.opts.forceNatT || (natSeen && this.opts.pretendNat)) this.port = NAT_T_PORT;
    return { kind: 'ok' };
  }

  /** IKE_SA_INIT until it succeeds or fails, echoing cookies and retrying INVALID_KE (at most 4 rounds). */
  saInit(): SaInitOutcome {
    let last: SaInitOutcome = { kind: 'no-answer' };
    for (let round = 0; round < 4; round++) {
      last = this.onSaInitResponse(this.wire.exchange([this.saInitRequest()], IKE_PORT)[0]);
      if (last.kind !== 'cookie' && last.kind !== 'invalid-ke') return last;
    }
    return last;
  }

  // ------------------------------------------------------------ protected exchanges

  /** A request of the current (or given) IKE SA, sealed (fragmented when requestFragmentSize is set); the message ID moves on. */
  sealRequest(exchangeType: number, payloads: readonly IkePayload[], sa: InitiatorIkeSa = this.ike, messageId = sa.nextMessageId): Uint8Array[] {
    const header: IkeHeader = { spiI: sa.spiI, spiR: sa.spiR, exchangeType, initiator: true, response: false, higherVersion: false, messageId };
    const limit = this.opts.requestFragmentSize;
    const datagrams = sealMessage(sa.protection, header, payloads, this.opts.random, limit);
    if (datagrams === null) throw new Error('sealMessage failed');
    if (messageId === sa.nextMessageId) sa.nextMessageId++;
    return datagrams;
  }

  /** The inner payloads of an answer (reassembling SKF fragments); null when nothing complete came back. */
  openResponse(datagrams: readonly Uint8Array[], sa: InitiatorIkeSa = this.ike): IkePayload[] | null {
    let result: IkePayload[] | null = null;
    for (const datagram of datagrams) {
      const d = decodeIkeMessage(datagram);
      if (!d.ok) throw new Error(`answer does not decode: ${d.error.message}`);
      if (!d.value.header.response || d.value.header.initiator) throw new Error('answer has wrong flags');
      const opened = openMessage(sa.protection, this.now, datagram, d.value, sa.fragments);
      if (opened.kind === 'drop') throw new Error(`answer refused: ${opened.reason}`);
      if (opened.kind === 'payloads') result = opened.payloads;
    }
    return result;
  }

  /** One request/answer round on the current port. */
  roundTrip(exchangeType: number, payloads: readonly IkePayload[], sa: InitiatorIkeSa = this.ike): IkePayload[] | null {
    return this.openResponse(this.wire.exchange(this.sealRequest(exchangeType, payloads, sa), this.port), sa);
  }

  // ------------------------------------------------------------ IKE_AUTH

  private newChildSpi(): number {
    return (this.opts.random.u32() | 0x100) >>> 0;
  }

  /** SK{IDi, [CERT+], [CERTREQ], AUTH, [CP(REQUEST)], SAi2, TSi, TSr} */
  authPayloads(childSpi: number, overrides: { identity?: IdPayload; psk?: Uint8Array } = {}): IkePayload[] {
    const o = this.opts;
    const sa = this.ike;
    const id = overrides.identity ?? o.identity;
    const octets = signedOctets(sa.suite.prf, this.initRequest, this.nonceR, sa.keys.skPi, encodeId(id));
    const payloads: IkePayload[] = [{ kind: 'idi', ...id }];
    let auth;
    if (o.auth.kind === 'psk') {
      auth = createAuth(octets, { kind: 'psk', secret: overrides.psk ?? o.auth.secret, prf: sa.suite.prf });
    } else {
      if (o.auth.sendCerts ?? true) for (const der of o.auth.chain) payloads.push({ kind: 'cert', encoding: CERT_ENCODING.X509_SIGNATURE, data: der });
      payloads.push({ kind: 'certreq', encoding: CERT_ENCODING.X509_SIGNATURE, data: new Uint8Array(0) });
      auth = createAuth(octets, { kind: 'private-key', key: o.auth.key, peerHashes: this.responderHashes });
    }
    payloads.push({ kind: 'auth', ...auth });
    this.authMethods.ours = auth.method;
    if (o.requestVip ?? true) {
      payloads.push({ kind: 'cp', cfgType: CFG_TYPE.REQUEST, attributes: [ipv4Attribute(CFG_ATTRIBUTE.INTERNAL_IP4_ADDRESS), ipv4Attribute(CFG_ATTRIBUTE.INTERNAL_IP4_DNS)] });
    }
    payloads.push(
      { kind: 'sa', ...espSaPayload(o.espSuites, childSpi, o.esn) },
      { kind: 'tsi', selectors: o.tsi ?? [ANY_SELECTOR] },
      { kind: 'tsr', selectors: o.tsr ?? [ANY_SELECTOR] },
    );
    return payloads;
  }

  /** IKE_AUTH; the initiator keeps the first CHILD SA and the virtual address. */
  auth(overrides: { identity?: IdPayload; psk?: Uint8Array } = {}): AuthOutcome {
    const spi = this.newChildSpi();
    const answer = this.roundTrip(EXCHANGE.IKE_AUTH, this.authPayloads(spi, overrides));
    if (answer === null) return { kind: 'no-answer' };
    return this.onAuthResponse(answer, spi, overrides.psk);
  }

  onAuthResponse(p: IkePayload[], childSpi: number, psk?: Uint8Array): AuthOutcome {
    const sa = this.ike;
    const idr = p.find((x) => x.kind === 'idr');
    const auth = p.find((x) => x.kind === 'auth');
    if (!idr || !auth) return { kind: 'error', notify: firstError(p) ?? -1 };
    const octets = signedOctets(sa.suite.prf, this.initResponse, this.nonceI, sa.keys.skPr, encodeId(idr));
    this.responderCerts = p.flatMap((x) => (x.kind === 'cert' ? [x.data] : []));
    this.authMethods.theirs = auth.method;
    let responderAuth: AuthCheck;
    if (auth.method === AUTH_METHOD.SHARED_KEY_MIC) {
      const secret = psk ?? (this.opts.auth.kind === 'psk' ? this.opts.auth.secret : new Uint8Array(0));
      responderAuth = verifyAuth(auth, octets, { kind: 'psk', secret, prf: sa.suite.prf });
    } else {
      const leaf = this.responderCerts[0];
      responderAuth = leaf ? verifyAuth(auth, octets, { kind: 'public-key', key: new X509Certificate(leaf).publicKey }) : { ok: false, reason: 'malformed', detail: 'no CERT' };
    }
    const cp = p.find((x) => x.kind === 'cp');
    const vipAttr = cp?.kind === 'cp' ? cp.attributes.find((a) => a.type === CFG_ATTRIBUTE.INTERNAL_IP4_ADDRESS) : undefined;
    this.virtualAddress = vipAttr ? (ipv4Value(vipAttr) ?? null) : null;
    this.dns = cp?.kind === 'cp' ? cp.attributes.flatMap((a) => (a.type === CFG_ATTRIBUTE.INTERNAL_IP4_DNS ? [ipv4Value(a) ?? 0] : [])) : [];
    const childError = firstError(p);
    const child = this.childFrom(p, childSpi, this.nonceI, this.nonceR);
    if (child) this.children.push(child);
    return { kind: 'ok', child, virtualAddress: this.virtualAddress, responderAuth, ...(childError !== undefined ? { childError } : {}) };
  }

  private childFrom(
    p: readonly IkePayload[],
    ourSpi: number,
    nonceI: Uint8Array,
    nonceR: Uint8Array,
    pfsShared?: Uint8Array,
    offered: readonly ProtectionSuite[] = this.opts.espSuites,
  ): InitiatorChild | null {
    const sa = this.ike;
    const saPayload = p.find((x) => x.kind === 'sa');
    const tsi = p.find((x) => x.kind === 'tsi');
    const tsr = p.find((x) => x.kind === 'tsr');
    if (!saPayload || !tsi || !tsr) return null;
    const chosen = saPayload.proposals[0]!;
    const suite = offered.find((s) => sameProtection(chosen, s));
    if (!suite) throw new Error('responder chose an ESP suite we did not offer');
    const esn = transformOf(chosen, TRANSFORM_TYPE.ESN)?.id === ESN.YES;
    const keys = deriveChildSaKeys(sa.suite.prf, sa.keys.skD, suite, nonceI, nonceR, pfsShared);
    if (!keys.ok) throw new Error(keys.error.message);
    return new InitiatorChild(this.now, this.opts.random, ourSpi, readSpi32(chosen.spi), suite, esn, keys.value, tsi.selectors, tsr.selectors);
  }

  /** IKE_SA_INIT then IKE_AUTH; throws unless both succeed. */
  connect(): { child: InitiatorChild | null; virtualAddress: Ipv4 | null } {
    const init = this.saInit();
    if (init.kind !== 'ok') throw new Error(`IKE_SA_INIT: ${JSON.stringify(init)}`);
    const auth = this.auth();
    if (auth.kind !== 'ok') throw new Error(`IKE_AUTH: ${JSON.stringify(auth)}`);
    if (!auth.responderAuth.ok) throw new Error(`responder AUTH: ${auth.responderAuth.detail}`);
    return auth;
  }

  // ------------------------------------------------------------ CREATE_CHILD_SA

  /** A new CHILD SA, or (with `rekey`) its replacement: SK{[N(REKEY_SA)], SA, Ni, [KEi], TSi, TSr}. */
  createChild(options: { rekey?: InitiatorChild; pfsGroup?: number; otherPfsGroups?: readonly number[]; espSuites?: readonly ProtectionSuite[] } = {}): ChildOutcome {
    const spi = this.newChildSpi();
    const nonceI = this.opts.random.bytes(NONCE_LENGTH);
    const kx = options.pfsGroup === undefined ? null : this.newKx(options.pfsGroup);
    const payloads: IkePayload[] = [];
    if (options.rekey) payloads.push(notify(NOTIFY.REKEY_SA, new Uint8Array(0), PROTOCOL.ESP, spi32(options.rekey.spiIn)));
    payloads.push({ kind: 'sa', ...espSaPayload(options.espSuites ?? this.opts.espSuites, spi, this.opts.esn, options.pfsGroup === undefined ? [] : [options.pfsGroup, ...(options.otherPfsGroups ?? [])]) }, { kind: 'nonce', nonce: nonceI });
    if (kx) payloads.push({ kind: 'ke', dhGroup: kx.group.group, keyData: kx.publicValue });
    const vip = this.virtualAddress;
    const tsi: TrafficSelector[] = options.rekey?.tsi ?? (vip !== null ? [{ ...ANY_SELECTOR, start: vip, end: vip }] : [ANY_SELECTOR]);
    payloads.push({ kind: 'tsi', selectors: tsi }, { kind: 'tsr', selectors: options.rekey?.tsr ?? this.opts.tsr ?? [ANY_SELECTOR] });
    const answer = this.roundTrip(EXCHANGE.CREATE_CHILD_SA, payloads);
    if (answer === null) return { kind: 'no-answer' };
    const error = firstError(answer);
    if (error !== undefined) return { kind: 'error', notify: error };
    const nonceR = answer.find((x) => x.kind === 'nonce');
    if (!nonceR) throw new Error('CREATE_CHILD_SA answer without Nr');
    let pfsShared: Uint8Array | undefined;
    const keR = answer.find((x) => x.kind === 'ke');
    if (kx) {
      if (!keR) throw new Error('PFS asked, no KEr');
      const shared = kx.computeShared(keR.keyData);
      if (!shared.ok) throw new Error(shared.error.message);
      pfsShared = shared.value;
    }
    const child = this.childFrom(answer, spi, nonceI, nonceR.nonce, pfsShared, options.espSuites);
    if (!child) throw new Error('CREATE_CHILD_SA answer without SA/TS');
    this.children.push(child);
    return { kind: 'ok', child };
  }

  /** Rekeys `old` (optionally with PFS), then deletes it by INFORMATIONAL; returns the new child. */
  rekeyChild(old: InitiatorChild, pfsGroup?: number, espSuites?: readonly ProtectionSuite[]): InitiatorChild {
    const r = this.createChild({ rekey: old, ...(pfsGroup !== undefined ? { pfsGroup } : {}), ...(espSuites ? { espSuites } : {}) });
    if (r.kind !== 'ok') throw new Error(`child rekey: ${JSON.stringify(r)}`);
    this.deleteChild(old);
    return r.child;
  }

  /**
   * IKE SA rekey (§1.3.2): SK{SA(IKE, new SPIi), Ni, KEi} → SK{SA(new SPIr), Nr, KEr}.
   * The new SA becomes current; the old one is returned for its Delete.
   */
  rekeyIke(suites: readonly IkeSuite[] = [this.ike.suite]): { old: InitiatorIkeSa; next: InitiatorIkeSa } | { error: number } {
    const old = this.ike;
    const spiI = this.opts.random.bytes(8);
    const nonceI = this.opts.random.bytes(NONCE_LENGTH);
    const kx = this.newKx(suites[0]!.dhGroup.group);
    const payloads: IkePayload[] = [{ kind: 'sa', ...ikeSaPayload(suites, spiI) }, { kind: 'nonce', nonce: nonceI }, { kind: 'ke', dhGroup: kx.group.group, keyData: kx.publicValue }];
    const answer = this.roundTrip(EXCHANGE.CREATE_CHILD_SA, payloads, old);
    if (answer === null) throw new Error('no answer to the IKE rekey');
    const error = firstError(answer);
    if (error !== undefined) return { error };
    const sa = answer.find((x) => x.kind === 'sa');
    const nonceR = answer.find((x) => x.kind === 'nonce');
    const ke = answer.find((x) => x.kind === 'ke');
    if (!sa || !nonceR || !ke) throw new Error('IKE rekey answer lacks SA, Nr or KEr');
    const chosen = sa.proposals[0]!;
    const suite = suites.find((s) => sameProtection(chosen, s) && transformOf(chosen, TRANSFORM_TYPE.PRF)?.id === s.prf.id)!;
    const shared = kx.computeShared(ke.keyData);
    if (!shared.ok) throw new Error(shared.error.message);
    const seed = rekeyedSkeyseed(old.suite.prf, old.keys.skD, shared.value, nonceI, nonceR.nonce);
    const keys = deriveIkeSaKeys(suite, seed, nonceI, nonceR.nonce, spiI, chosen.spi);
    if (!keys.ok) throw new Error(keys.error.message);
    const next = new InitiatorIkeSa(spiI, chosen.spi.slice(), suite, keys.value);
    this.sa = next;
    return { old, next };
  }

  // ------------------------------------------------------------ INFORMATIONAL

  informational(payloads: readonly IkePayload[] = [], sa: InitiatorIkeSa = this.ike): IkePayload[] | null {
    return this.roundTrip(EXCHANGE.INFORMATIONAL, payloads, sa);
  }

  /** SK{D(ESP, our inbound SPI)}; returns the SPIs the responder deleted on its side. */
  deleteChild(child: InitiatorChild): number[] {
    const answer = this.informational([{ kind: 'delete', protocolId: PROTOCOL.ESP, spiSize: 4, spis: [spi32(child.spiIn)] }]);
    this.children = this.children.filter((c) => c !== child);
    return (answer ?? []).flatMap((p) => (p.kind === 'delete' ? p.spis.map(readSpi32) : []));
  }

  /** SK{D(IKE)} for the current (or given) IKE SA. */
  deleteIke(sa: InitiatorIkeSa = this.ike): IkePayload[] | null {
    const answer = this.informational([{ kind: 'delete', protocolId: PROTOCOL.IKE, spiSize: 0, spis: [] }], sa);
    if (sa === this.sa) this.children = [];
    return answer;
  }
}

// ------------------------------------------------------------------ a responder to drive

export const SERVER_IP = parseIpv4('198.51.100.1');
export const POOL: Prefix4 = { address: parseIpv4('10.100.0.0'), prefixLength: 16 };
export const PROTECTED: Prefix4 = { address: parseIpv4('10.1.0.0'), prefixLength: 16 };
export const INSIDE_HOST = parseIpv4('10.1.2.3');
export const DNS = parseIpv4('10.1.0.53');
/** Wall clock for certificate validity: inside the PKI's 2026..2030 window. */
export const WALL_NOW = Date.UTC(2026, 10, 28);
const NOT_BEFORE = new Date(Date.UTC(2026, 0, 1));
const NOT_AFTER = new Date(Date.UTC(2030, 0, 1));

export const PSK_CLIENT = 'fqdn:road1.shoal.test';
export const PSK_SECRET = new TextEncoder().encode('correct horse battery staple');

export function ikeSuite(name: string): IkeSuite {
  const s = parseIkeSuite(name);
  if (!s.ok) throw new Error(s.error.message);
  return s.value;
}

export function espProtection(name: string): ProtectionSuite {
  return parseEspSuite(name).protection;
}

export const IKE_SUITES = [
  'aes256gcm16-prfsha256-ecp256',
  'aes128gcm16-prfsha256-x25519',
  'aes256-sha256-modp2048',
  'aes128-sha384-prfsha384-ecp384',
  'chacha20poly1305-prfsha512-x25519',
  'aes256gcm16-prfsha384-ecp384',
  'chacha20poly1305-prfsha256-modp2048',
] as const;

/** PFS groups on every ESP suite: without KE (IKE_AUTH, rekey without PFS) the group is ignored. */
export const ESP_SUITES = ['aes256gcm16-x25519', 'aes128gcm16-ecp256', 'aes128-sha256-modp2048', 'aes256-sha512-ecp384', 'chacha20poly1305-x25519'] as const;

export interface TestPki {
  ca: CaBundle;
  intermediate: CaBundle;
  foreignCa: CaBundle;
  /** Server identity with an EC P-256 key, issued by the root. */
  serverEc: EndpointBundle;
  /** Server identity with an RSA key, issued by the intermediate (a long chain: fragmented answers). */
  serverRsa: EndpointBundle;
  clientEc: EndpointBundle;
  clientRsa: EndpointBundle;
  clientP384: EndpointBundle;
  clientExpired: EndpointBundle;
  clientForeign: EndpointBundle;
}

export const CLIENT_EC_ID = 'fqdn:alice.shoal.test';
export const CLIENT_RSA_ID = 'fqdn:bob.shoal.test';
export const CLIENT_P384_ID = 'email:carol@shoal.test';

export async function makeTestPki(): Promise<TestPki> {
  const dates = { notBefore: NOT_BEFORE, notAfter: NOT_AFTER };
  const ca = await makeCa({ ...dates, name: 'Shoal IPsec Test CA', organization: 'Shoal Test' });
  const intermediate = await makeIntermediate(ca, { ...dates, keyType: 'rsa' });
  const foreignCa = await makeCa({ ...dates, name: 'Someone Else CA', organization: 'Elsewhere' });
  const server = { commonName: 'vpn.shoal.test', dnsNames: ['vpn.shoal.test'] };
  return {
    ca,
    intermediate,
    foreignCa,
    serverEc: await issueEndpoint(ca, { ...dates, ...server }),
    serverRsa: await issueEndpoint(ca, { ...dates, ...server, keyType: 'rsa-2048', intermediate }),
    clientEc: await issueEndpoint(ca, { ...dates, commonName: 'alice', dnsNames: ['alice.shoal.test'] }),
    clientRsa: await issueEndpoint(ca, { ...dates, commonName: 'bob', dnsNames: ['bob.shoal.test'], keyType: 'rsa-2048', intermediate }),
    clientP384: await issueEndpoint(ca, { ...dates, commonName: 'carol', emails: ['carol@shoal.test'], keyType: 'ec-p384' }),
    clientExpired: await issueEndpoint(ca, { notBefore: NOT_BEFORE, notAfter: new Date(Date.UTC(2026, 5, 1)), commonName: 'alice', dnsNames: ['alice.shoal.test'] }),
    clientForeign: await issueEndpoint(foreignCa, { ...dates, commonName: 'alice', dnsNames: ['alice.shoal.test'] }),
  };
}

export interface ResponderSetup {
  /** Which server identity answers certificate clients (default EC). */
  server?: 'ec' | 'rsa';
  seed?: number;
  config?: Partial<IpsecConfig>;
}

/** ResponderDeps as src/daemon/ipsec-setup.ts builds them, with a seeded RNG and a fixed wall clock. */
export function responderDeps(pki: TestPki, setup: ResponderSetup = {}): ResponderDeps {
  const server = setup.server === 'rsa' ? pki.serverRsa : pki.serverEc;
  const trust = { caCertificates: [pki.ca.rootDer], revokedSerials: [] };
  const config: IpsecConfig = {
    localAddress: SERVER_IP,
    identity: identityPayload('fqdn:vpn.shoal.test'),
    certificateChain: server.chain,
    privateKey: server.privateKey,
    trust,
    psk: [{ identity: formatIdentity(identityPayload(PSK_CLIENT)), secret: PSK_SECRET }],
    ikeProposals: IKE_SUITES.map(ikeSuite),
    espProposals: ESP_SUITES.map(parseEspSuite),
    pool: POOL,
    dns: [DNS],
    protectedNetworks: [PROTECTED],
    cookieThreshold: IPSEC_DEFAULTS.cookieThreshold,
    fragmentSize: IPSEC_DEFAULTS.fragmentSize,
    ikeLifetimeS: IPSEC_DEFAULTS.ikeLifetimeS,
    childLifetimeS: IPSEC_DEFAULTS.childLifetimeS,
    halfOpenTimeoutMs: IPSEC_DEFAULTS.halfOpenTimeoutMs,
    idleTimeoutMs: IPSEC_DEFAULTS.idleTimeoutMs,
    ...setup.config,
  };
  const spki = new X509Certificate(pki.ca.rootDer).publicKey.export({ type: 'spki', format: 'der' });
  return {
    config,
    random: new SeededRandom(setup.seed ?? 1),
    trust: new ClientTrustStore(config.trust),
    pool: new AddressPool(config.pool.address, config.pool.prefixLength),
    wallNow: () => WALL_NOW,
    certReqAuthorities: new Uint8Array(createHash('sha1').update(spki).digest()),
  };
}

/** Initiator options for the PSK client or one of the PKI's certificate clients. */
export function clientOptions(
  random: RandomSource,
  who: { psk: true } | { cert: EndpointBundle; id: string },
  more: Partial<InitiatorOptions> = {},
): InitiatorOptions {
  const base = {
    random,
    ikeSuites: [ikeSuite(IKE_SUITES[0])],
    espSuites: [espProtection(ESP_SUITES[0])],
  };
  if ('psk' in who) return { ...base, identity: identityPayload(PSK_CLIENT), auth: { kind: 'psk', secret: PSK_SECRET }, ...more };
  return { ...base, identity: identityPayload(who.id), auth: { kind: 'cert', chain: who.cert.chain, key: who.cert.privateKey }, ...more };
}

/**
 * An IpsecHandler with the test PKI's responder, and an initiator talking to
 * it through a HandlerWire on a manual clock: the set-up the responder tests share.
 */
export function handlerSession(
  pki: TestPki,
  o: {
    client: Endpoint;
    setup?: ResponderSetup;
    who?: Parameters<typeof clientOptions>[1];
    more?: Partial<InitiatorOptions>;
    /** The initiator's seed (the responder's is setup.seed). */
    seed?: number;
    natPort?: number;
  },
): { clock: Clock; handler: IpsecHandler; wire: HandlerWire; ini: IkeInitiator } {
  const clock: Clock = { now: 1_000 };
  const handler = new IpsecHandler(responderDeps(pki, o.setup ?? {}));
  const wire = new HandlerWire(handler, clock, o.client, SERVER_IP, o.natPort);
  const ini = new IkeInitiator(clientOptions(new SeededRandom(o.seed ?? 1), o.who ?? { psk: true }, o.more ?? {}), wire);
  return { clock, handler, wire, ini };
}
