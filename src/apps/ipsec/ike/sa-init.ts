/**
 * IKE_SA_INIT, responder side (RFC 7296 §1.2, §2.6 cookies, §2.10 nonces,
 * §2.23 NAT detection; RFC 7383 §2.3 and RFC 7427 §4 capability notifies).
 *
 *   request: HDR, [N(COOKIE)], SAi1, KEi, Ni, [N(NAT_D)...], [N(...)]
 *   answer:  HDR, SAr1, KEr, Nr, [N(NAT_D_S), N(NAT_D_D)], CERTREQ, [N(FRAG)], [N(SIG_HASH)]
 *        or  HDR, N(COOKIE) / N(INVALID_KE_PAYLOAD) / N(NO_PROPOSAL_CHOSEN) / N(INVALID_SYNTAX)
 *        or  HDR, N(TEMPORARY_FAILURE)   too many half-open SAs, in all or from this address
 *        or  nothing                     a request over MAX_SA_INIT_REQUEST bytes
 *
 * The half-open caps are checked after the cookie, so above cookieThreshold
 * only a source that proved its address is answered. RFC 7296 has no notify
 * for "busy" in IKE_SA_INIT; TEMPORARY_FAILURE (§2.25, "try again later") is
 * the nearest, and any error ends the exchange for the initiator (§2.21.1).
 *
 * The responder SPI is allocated in the packet's unit, so every later
 * message of this SA classifies to the member that owns it now.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { allocateIkeSpi } from '../../../cluster/session-id.js';
import { formatIpv4 } from '../../../lib/ipv4.js';
import type { Endpoint } from '../../../stack/tunnel-handler.js';
import { CERT_ENCODING } from '../../../wire/ike/cert.js';
import { EXCHANGE } from '../../../wire/ike/constants.js';
import type { IkeHeader } from '../../../wire/ike/header.js';
import { encodeIkeMessage, type DecodedIkeMessage } from '../../../wire/ike/message.js';
import { HASH_ALGORITHM, NOTIFY, readHashAlgorithms, type NotifyPayload } from '../../../wire/ike/notify.js';
import type { IkePayload } from '../../../wire/ike/payload.js';
import { limitsOf } from '../config.js';
import { createKeyExchange } from '../crypto/dh.js';
import { deriveIkeSaKeys, skeyseed } from '../crypto/keys.js';
import { count, type ExchangeInput, type ResponderDeps, type ResponderOutput, type ResponderState } from './context.js';
import { IkeSa } from './ike-sa.js';
import { selectIkeProposal } from './negotiation/ike-proposal.js';

const NONCE_LENGTH = 32;
const ZERO_SPI = new Uint8Array(8);
/**
 * Largest IKE_SA_INIT request we take. A half-open SA must keep the request
 * whole until IKE_AUTH (§2.15: both AUTH payloads sign RealMessage1 itself,
 * under a PSK or hash chosen only then, so a digest cannot stand in), and it
 * travels in the SA's replication record; real requests are 0.5–2 kB (a
 * post-quantum KE some 1.6 kB more), strongSwan drops any IKE datagram over
 * 10,000 bytes. Larger ones (e.g. a huge Vendor ID, IP-fragmented) are dropped
 * and counted before any work is done.
 */
export const MAX_SA_INIT_REQUEST = 8192;
/** Peer hash algorithms kept (RFC 7427 defines 5; the record counts them in a byte). */
const MAX_PEER_HASHES = 16;

export function notifyPayload(notifyType: number, data: Uint8Array = new Uint8Array(0), protocolId = 0, spi: Uint8Array = new Uint8Array(0)): IkePayload {
  return { kind: 'notify', protocolId, notifyType, spi, data };
}

export function notifiesOf(payloads: readonly IkePayload[], type: number): NotifyPayload[] {
  return payloads.filter((p): p is Extract<IkePayload, { kind: 'notify' }> => p.kind === 'notify' && p.notifyType === type);
}

/** NAT detection hash: SHA-1(SPIi | SPIr | IP | port), §2.23. */
export function natHash(spiI: Uint8Array, spiR: Uint8Array, at: Endpoint): Uint8Array {
  const ip = Buffer.alloc(6);
  ip.writeUInt32BE(at.ip >>> 0, 0);
  ip.writeUInt16BE(at.port, 4);
  return new Uint8Array(createHash('sha1').update(spiI).update(spiR).update(ip).digest());
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), Buffer.from(b.buffer, b.byteOffset, b.length)) === 0;
}

/**
 * Stateless cookies (§2.6): Cookie = <version> | HMAC(secret, Ni | IPi | SPIi).
 * The secret changes every `COOKIE_ROTATE_MS`; the previous one is still
 * accepted, so a client's retry straddling a rotation gets in.
 */
export class CookieJar {
  private version = 0;
  private secrets: [Uint8Array, Uint8Array];
  private rotatedAt = 0;
  static readonly ROTATE_MS = 60_000;

  constructor(private readonly random: { bytes(n: number): Uint8Array }) {
    this.secrets = [random.bytes(32), random.bytes(32)];
  }

  private rotate(now: number): void {
    const elapsed = now - this.rotatedAt;
    if (elapsed < CookieJar.ROTATE_MS) return;
    this.rotatedAt = now;
    this.version = (this.version + 1) & 0xff;
    // After two periods or more the previous secret is too old as well: no cookie may outlive two periods.
    this.secrets = [this.random.bytes(32), elapsed >= 2 * CookieJar.ROTATE_MS ? this.random.bytes(32) : this.secrets[0]];
  }

  private make(version: number, secret: Uint8Array, nonce: Uint8Array, from: Endpoint, spiI: Uint8Array): Uint8Array {
    const ip = Buffer.alloc(4);
    ip.writeUInt32BE(from.ip >>> 0);
    const mac = createHmac('sha256', secret).update(nonce).update(ip).update(spiI).digest().subarray(0, 16);
    const out = new Uint8Array(17);
    out[0] = version;
    out.set(mac, 1);
    return out;
  }

  issue(now: number, nonce: Uint8Array, from: Endpoint, spiI: Uint8Array): Uint8Array {
    this.rotate(now);
    return this.make(this.version, this.secrets[0], nonce, from, spiI);
  }

  check(now: number, cookie: Uint8Array, nonce: Uint8Array, from: Endpoint, spiI: Uint8Array): boolean {
    this.rotate(now);
    if (cookie.length !== 17) return false;
    const v = cookie[0]!;
    const secret = v === this.version ? this.secrets[0] : v === ((this.version - 1) & 0xff) ? this.secrets[1] : null;
    // Constant time: a comparison that stops at the first wrong byte would let a forger learn the MAC byte by byte.
    return secret !== null && timingSafeEqual(cookie, this.make(v, secret, nonce, from, spiI));
  }
}

export interface SaInitContext {
  deps: ResponderDeps;
  state: ResponderState;
  cookies: CookieJar;
  halfOpen(): number;
  /** Half-open SAs whose IKE_SA_INIT came from this address. */
  halfOpenFrom(ip: number): number;
}

function answer(req: DecodedIkeMessage, spiR: Uint8Array, payloads: IkePayload[]): Uint8Array {
  const header: IkeHeader = {
    spiI: req.header.spiI,
    spiR,
    exchangeType: EXCHANGE.IKE_SA_INIT,
    initiator: false,
    response: true,
    higherVersion: false,
    messageId: 0,
  };
  return encodeIkeMessage({ header, payloads });
}

/** Our answer to an IKE_SA_INIT request; a new half-open SA when it succeeds. */
export function handleSaInit(
  ctx: SaInitContext,
  input: ExchangeInput,
  raw: Uint8Array,
  req: DecodedIkeMessage,
): { out: ResponderOutput[]; sa?: IkeSa } {
  const { now, from, localPort } = input;
  const { deps, state } = ctx;
  const reply = (payloads: IkePayload[], what: string): { out: ResponderOutput[] } => {
    count(state, `ike.sa-init.${what}`);
    return { out: [{ kind: 'send', to: from, localPort, message: answer(req, ZERO_SPI, payloads) }] };
  };
  if (raw.length > MAX_SA_INIT_REQUEST) {
    count(state, 'ike.sa-init.too-large');
    return { out: [] };
  }
  const p = req.payloads;
  const sa = p.find((x) => x.kind === 'sa');
  const ke = p.find((x) => x.kind === 'ke');
  const nonce = p.find((x) => x.kind === 'nonce');
  if (req.header.messageId !== 0 || !sa || !ke || !nonce) return reply([notifyPayload(NOTIFY.INVALID_SYNTAX)], 'invalid-syntax');

  if (ctx.halfOpen() >= deps.config.cookieThreshold) {
    const cookie = notifiesOf(p, NOTIFY.COOKIE)[0];
    if (!cookie || !ctx.cookies.check(now, cookie.data, nonce.nonce, from, req.header.spiI)) {
      return reply([notifyPayload(NOTIFY.COOKIE, ctx.cookies.issue(now, nonce.nonce, from, req.header.spiI))], 'cookie-sent');
    }
    count(state, 'ike.sa-init.cookie-ok');
  }
  const limits = limitsOf(deps.config);
  if (ctx.halfOpen() >= limits.halfOpen) return reply([notifyPayload(NOTIFY.TEMPORARY_FAILURE)], 'half-open-limit');
  if (ctx.halfOpenFrom(from.ip) >= limits.halfOpenPerSource) return reply([notifyPayload(NOTIFY.TEMPORARY_FAILURE)], 'half-open-per-source-limit');

  const chosen = selectIkeProposal(sa, deps.config.ikeProposals, ke.dhGroup);
  if (chosen.kind === 'no-proposal-chosen') return reply([notifyPayload(NOTIFY.NO_PROPOSAL_CHOSEN)], 'no-proposal-chosen');
  if (chosen.kind === 'invalid-ke') {
    const group = new Uint8Array([chosen.group >> 8, chosen.group & 0xff]);
    return reply([notifyPayload(NOTIFY.INVALID_KE_PAYLOAD, group)], 'invalid-ke');
  }
  const suite = chosen.suite;
  const kx = createKeyExchange(suite.dhGroup.group, deps.random);
  if (!kx.ok) return reply([notifyPayload(NOTIFY.NO_PROPOSAL_CHOSEN)], 'kx-failed');
  const shared = kx.value.computeShared(ke.keyData);
  if (!shared.ok) return reply([notifyPayload(NOTIFY.INVALID_SYNTAX)], 'bad-ke');

  const spiR = allocateIkeSpi(input.unit, deps.random, (s) => state.sas.has(Buffer.from(s).toString('hex')));
  const nonceR = deps.random.bytes(NONCE_LENGTH);
  const seed = skeyseed(suite.prf, nonce.nonce, nonceR, shared.value);
  const keys = deriveIkeSaKeys(suite, seed, nonce.nonce, nonceR, req.header.spiI, spiR);
  if (!keys.ok) return reply([notifyPayload(NOTIFY.NO_PROPOSAL_CHOSEN)], 'kdf-failed');

  const payloads: IkePayload[] = [
    { kind: 'sa', ...chosen.reply },
    { kind: 'ke', dhGroup: suite.dhGroup.group, keyData: kx.value.publicValue },
    { kind: 'nonce', nonce: nonceR },
  ];
  // NAT detection (§2.23): only answered when asked.
  const natSource = notifiesOf(p, NOTIFY.NAT_DETECTION_SOURCE_IP);
  const natDestination = notifiesOf(p, NOTIFY.NAT_DETECTION_DESTINATION_IP);
  const self: Endpoint = { ip: deps.config.localAddress, port: localPort };
  let natPeer = false;
  let natSelf = false;
  if (natSource.length > 0 && natDestination.length > 0) {
    const seen = natHash(req.header.spiI, ZERO_SPI, from);
    natPeer = !natSource.some((n) => equalBytes(n.data, seen));
    natSelf = !natDestination.some((n) => equalBytes(n.data, natHash(req.header.spiI, ZERO_SPI, self)));
    payloads.push(notifyPayload(NOTIFY.NAT_DETECTION_SOURCE_IP, natHash(req.header.spiI, spiR, self)));
    payloads.push(notifyPayload(NOTIFY.NAT_DETECTION_DESTINATION_IP, natHash(req.header.spiI, spiR, from)));
  }
  payloads.push({ kind: 'certreq', encoding: CERT_ENCODING.X509_SIGNATURE, data: deps.certReqAuthorities });
  const fragmentation = notifiesOf(p, NOTIFY.IKEV2_FRAGMENTATION_SUPPORTED).length > 0;
  if (fragmentation) payloads.push(notifyPayload(NOTIFY.IKEV2_FRAGMENTATION_SUPPORTED));
  const hashes = notifiesOf(p, NOTIFY.SIGNATURE_HASH_ALGORITHMS)[0];
  let peerHashes: number[] = [];
  if (hashes) {
    const h = readHashAlgorithms(hashes.data);
    if (h.ok) peerHashes = [...new Set(h.value)].slice(0, MAX_PEER_HASHES);
    const ours = new Uint8Array([0, HASH_ALGORITHM.SHA2_256, 0, HASH_ALGORITHM.SHA2_384, 0, HASH_ALGORITHM.SHA2_512]);
    payloads.push(notifyPayload(NOTIFY.SIGNATURE_HASH_ALGORITHMS, ours));
  }
  const message = answer(req, spiR, payloads);
  // Copies, not views: a view would keep the whole request alive after IKE_AUTH drops it.
  const ike = new IkeSa(input.unit, req.header.spiI.slice(), spiR, suite, keys.value, nonce.nonce.slice(), nonceR, raw, message, from, localPort, now);
  ike.natPeer = natPeer;
  ike.natSelf = natSelf;
  ike.fragmentation = fragmentation;
  ike.peerSignatureHashes = peerHashes;
  ike.nextRequestId = 1;
  ike.lastResponse = { messageId: 0, datagrams: [message] };
  count(state, 'ike.sa-init.ok');
  return {
    out: [
      { kind: 'send', to: from, localPort, message },
      { kind: 'event', name: 'ike.sa-init', fields: { peer: `${formatIpv4(from.ip)}:${from.port}`, spi: ike.spiKey, unit: input.unit, suite: suite.encryption.name, group: suite.dhGroup.name, nat: natPeer } },
    ],
    sa: ike,
  };
}
