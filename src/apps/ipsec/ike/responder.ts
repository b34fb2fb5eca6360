/**
 * The IKEv2 responder, sans-IO: IKE datagrams in (with the time, the unit
 * the filter gave them and where they came from), datagrams and SA events
 * out. It owns the IKE SAs by responder SPI, the message-ID window (one
 * request at a time, the last answer cached for retransmissions, §2.1–2.3)
 * and the lifetimes; each exchange is its own module.
 *
 *   datagram ─ decode ─ SPIr = 0 ? IKE_SA_INIT (sa-init.ts)
 *                     └ SA by SPIr ─ message ID: retransmit → cached answer
 *                                                next → open SK/SKF (protect.ts)
 *                                                  ├ IKE_AUTH         (ike-auth.ts)
 *                                                  ├ CREATE_CHILD_SA  (create-child.ts)
 *                                                  └ INFORMATIONAL    (informational.ts)
 *                                                ─ answer sealed, cached, sent
 */
import type { UnitId } from '../../../cluster/types.js';
import type { Endpoint } from '../../../stack/tunnel-handler.js';
import { EXCHANGE, PROTOCOL } from '../../../wire/ike/constants.js';
import type { IkeHeader } from '../../../wire/ike/header.js';
import { decodeIkeMessage, type DecodedIkeMessage } from '../../../wire/ike/message.js';
import type { IkePayload } from '../../../wire/ike/payload.js';
import { count, type ExchangeInput, type ResponderDeps, type ResponderOutput, type ResponderState } from './context.js';
import { handleCreateChild } from './create-child.js';
import { handleIkeAuth } from './ike-auth.js';
import { spiKey, type IkeSa } from './ike-sa.js';
import { handleInformational } from './informational.js';
import { openMessage, sealMessage } from './protect.js';
import { CookieJar, handleSaInit, notifyPayload } from './sa-init.js';
import { NOTIFY } from '../../../wire/ike/notify.js';

/** IP + UDP headers, plus the non-ESP marker on port 4500: what a datagram adds around an IKE message. */
const IP_UDP_OVERHEAD = 28;
const NON_ESP_MARKER = 4;
const HOUSEKEEPING_MS = 1000;
const EMPTY = new Uint8Array(0);
/** Our requests are resent this often, this many times in all (§2.1: the peer may be gone). */
const REQUEST_RESEND_MS = 2000;
const REQUEST_TRIES = 4;
/** A rekeyed IKE SA whose Delete never came is forgotten after this long. */
const REKEYED_LINGER_MS = 60_000;

/** IKE_SA_INIT keys are `SPIi/ip:port`; half-open SAs count under that address, not where the peer is now. */
function initKeyOf(spiI: Uint8Array, from: Endpoint): string {
  return `${spiKey(spiI)}/${from.ip}:${from.port}`;
}

function sourceOf(initKey: string): number {
  return Number(initKey.slice(initKey.indexOf('/') + 1, initKey.lastIndexOf(':')));
}

function isZero(b: Uint8Array): boolean {
  return b.every((x) => x === 0);
}

export class IkeResponder {
  readonly state: ResponderState = { sas: new Map(), espSpis: new Set(), counters: new Map() };
  private readonly cookies: CookieJar;
  /** Half-open SAs by initiator SPI and address, for IKE_SA_INIT retransmissions. */
  private readonly byInitiator = new Map<string, IkeSa>();
  /** How many of them came from each source address (the per-source cap). */
  private readonly halfOpenBySource = new Map<number, number>();
  /** IKE_SA_INITs whose SA went on to IKE_AUTH: a late retransmission of one is ignored, not a new SA. */
  private readonly initDone = new Set<string>();
  /** Established SAs whose essential state changed since the last replication batch. */
  readonly dirty = new Set<IkeSa>();
  /** Established SAs that ended since the last batch (their records become tombstones). */
  gone: IkeSa[] = [];
  private nextHousekeeping = 0;

  constructor(readonly deps: ResponderDeps) {
    this.cookies = new CookieJar(deps.random);
  }

  get counters(): ReadonlyMap<string, number> {
    return this.state.counters;
  }

  halfOpen(): number {
    return this.byInitiator.size;
  }

  halfOpenFrom(ip: number): number {
    return this.halfOpenBySource.get(ip) ?? 0;
  }

  private addHalfOpen(key: string, sa: IkeSa): void {
    if (this.byInitiator.has(key)) return;
    this.byInitiator.set(key, sa);
    const ip = sourceOf(key);
    this.halfOpenBySource.set(ip, this.halfOpenFrom(ip) + 1);
  }

  /** One IKE message (the non-ESP marker already removed). Never throws on message content. */
  input(now: number, unit: UnitId, from: Endpoint, localPort: number, received: Uint8Array): ResponderOutput[] {
    // The SAs keep views into the message (SPIs, nonces, the IKE_SA_INIT bytes); the receive buffer is reused.
    const datagram = received.slice();
    const decoded = decodeIkeMessage(datagram);
    if (!decoded.ok) {
      count(this.state, `ike.drop.malformed.${decoded.error.reason}`);
      return [];
    }
    const m = decoded.value;
    if (!m.header.initiator) return this.drop('not-from-initiator');
    if (m.header.response) return this.answerToUs(now, datagram, m, from, localPort);
    if (m.header.higherVersion) count(this.state, 'ike.higher-version-flag');
    const input: ExchangeInput = { now, unit, from, localPort };
    if (isZero(m.header.spiR)) {
      if (m.header.exchangeType !== EXCHANGE.IKE_SA_INIT) return this.drop('zero-spi');
      return this.saInit(input, datagram, m);
    }
    const sa = this.state.sas.get(spiKey(m.header.spiR));
    if (!sa || Buffer.compare(Buffer.from(sa.spiI), Buffer.from(m.header.spiI)) !== 0) return this.drop('unknown-spi');
    if (m.header.exchangeType === EXCHANGE.IKE_SA_INIT) {
      // A retransmitted IKE_SA_INIT that raced our answer's arrival.
      return sa.lastResponse?.messageId === 0 ? this.resend(sa, from, localPort) : this.drop('late-sa-init');
    }
    const id = m.header.messageId;
    if (sa.lastResponse && id === sa.lastResponse.messageId) {
      // RFC 7383 §2.6.1: a fragmented request retransmitted is answered once, on its first fragment.
      const last = m.payloads[m.payloads.length - 1];
      if (last?.kind === 'skf' && last.fragmentNumber !== 1) return this.drop('retransmitted-fragment');
      count(this.state, 'ike.retransmission');
      return this.resend(sa, from, localPort);
    }
    if (id !== sa.nextRequestId) return this.drop('message-id-outside-window');
    const opened = openMessage(sa.protection, now, datagram, m, sa.fragments);
    if (opened.kind === 'fragment-pending') return [];
    if (opened.kind === 'drop' && opened.reason === 'fragments-over-limit') {
      // RFC 7383 §5: an authenticated peer sending more than we hold is an attack or broken: drop the SA.
      count(this.state, 'ike.drop.fragments-over-limit');
      return this.deleteSa(now, sa, 'fragments-over-limit');
    }
    if (opened.kind === 'drop') return this.drop(opened.reason);
    // Authenticated: the peer may have moved (NAT rebinding, the switch to 4500), §2.23.
    sa.peer = from;
    sa.localPort = localPort;
    sa.lastHeard = now;
    return this.exchange(sa, input, m, opened.payloads);
  }

  /** The peer's answer to a request of ours (a Delete on expiry): it ends the retransmissions. */
  private answerToUs(now: number, datagram: Uint8Array, m: DecodedIkeMessage, from: Endpoint, localPort: number): ResponderOutput[] {
    const sa = this.state.sas.get(spiKey(m.header.spiR));
    if (!sa || sa.ourRequest?.messageId !== m.header.messageId) return this.drop('unexpected-response');
    const opened = openMessage(sa.protection, now, datagram, m, sa.fragments);
    if (opened.kind === 'fragment-pending') return [];
    if (opened.kind === 'drop') return this.drop(`response-${opened.reason}`);
    sa.ourRequest = null;
    sa.peer = from;
    sa.localPort = localPort;
    sa.lastHeard = now;
    count(this.state, 'ike.our-request.answered');
    this.dirty.add(sa);
    return [];
  }

  /** Sends a request of ours (an INFORMATIONAL), unless one is still outstanding. */
  private request(now: number, sa: IkeSa, payloads: IkePayload[]): ResponderOutput[] {
    if (sa.ourRequest !== null) return [];
    const messageId = sa.ourNextId;
    const header: IkeHeader = { spiI: sa.spiI, spiR: sa.spiR, exchangeType: EXCHANGE.INFORMATIONAL, initiator: false, response: false, higherVersion: false, messageId };
    const datagrams = sealMessage(sa.protection, header, payloads, this.deps.random);
    if (datagrams === null) return this.drop('seal-failed');
    sa.ourNextId = messageId + 1;
    sa.ourRequest = { messageId, datagrams, nextAt: now + REQUEST_RESEND_MS, tries: 1 };
    count(this.state, 'ike.our-request.sent');
    return datagrams.map((message) => ({ kind: 'send', to: sa.peer, localPort: sa.localPort, message }));
  }

  private drop(reason: string): ResponderOutput[] {
    count(this.state, `ike.drop.${reason}`);
    return [];
  }

  private resend(sa: IkeSa, to: Endpoint, localPort: number): ResponderOutput[] {
    return (sa.lastResponse?.datagrams ?? []).map((message) => ({ kind: 'send', to, localPort, message }));
  }

  private saInit(input: ExchangeInput, raw: Uint8Array, m: DecodedIkeMessage): ResponderOutput[] {
    const key = initKeyOf(m.header.spiI, input.from);
    if (this.initDone.has(key)) return this.drop('late-sa-init');
    const known = this.byInitiator.get(key);
    if (known) {
      count(this.state, 'ike.sa-init.retransmission');
      if (Buffer.compare(Buffer.from(known.initRequest), Buffer.from(raw)) === 0) return this.resend(known, input.from, input.localPort);
      return this.drop('sa-init-changed');
    }
    const ctx = { deps: this.deps, state: this.state, cookies: this.cookies, halfOpen: () => this.halfOpen(), halfOpenFrom: (ip: number) => this.halfOpenFrom(ip) };
    const r = handleSaInit(ctx, input, raw, m);
    if (r.sa) {
      r.sa.initKey = key;
      this.state.sas.set(r.sa.spiKey, r.sa);
      this.addHalfOpen(key, r.sa);
      this.dirty.add(r.sa); // replicated half-open: the unit may move before IKE_AUTH arrives
    }
    return r.out;
  }

  private exchange(sa: IkeSa, input: ExchangeInput, m: DecodedIkeMessage, payloads: IkePayload[]): ResponderOutput[] {
    const out: ResponderOutput[] = [];
    const type = m.header.exchangeType;
    let answer: IkePayload[];
    let after: () => void = () => undefined;
    if (type === EXCHANGE.IKE_AUTH) {
      if (sa.state !== 'half-open' || m.header.messageId !== 1) return this.drop('unexpected-ike-auth');
      this.forgetHalfOpen(sa);
      if (sa.initKey !== '') this.initDone.add(sa.initKey);
      const r = handleIkeAuth(this.deps, this.state, sa, input, payloads);
      answer = r.payloads;
      out.push(...r.out);
      if (!r.ok) after = () => out.push(...this.remove(sa, 'authentication-failed'));
      else {
        // Signed and checked: a thousand SAs need not keep a kilobyte each of IKE_SA_INIT.
        sa.initRequest = EMPTY;
        sa.initResponse = EMPTY;
      }
    } else if (sa.state === 'half-open') {
      return this.drop('not-established');
    } else if (type === EXCHANGE.CREATE_CHILD_SA && sa.state === 'rekeyed') {
      // §2.18 / §2.8: once rekeyed, the old SA only sees the initiator's Delete.
      count(this.state, 'ike.create-child.on-rekeyed-sa');
      answer = [notifyPayload(NOTIFY.TEMPORARY_FAILURE)];
    } else if (type === EXCHANGE.CREATE_CHILD_SA) {
      const r = handleCreateChild(this.deps, this.state, sa, input, payloads);
      answer = r.payloads;
      out.push(...r.out);
      if (r.newSa) {
        const next = r.newSa;
        after = () => {
          this.state.sas.set(next.spiKey, next);
          this.dirty.add(next);
          // The old SA's record becomes a tombstone: a member taking over must not revive it.
          sa.state = 'rekeyed';
          sa.rekeyedAt = input.now;
          this.dirty.delete(sa);
          this.gone.push(sa);
          out.push({ kind: 'ike-up', sa: next });
        };
      }
    } else if (type === EXCHANGE.INFORMATIONAL) {
      const r = handleInformational(this.state, sa, payloads);
      answer = r.payloads;
      out.push(...r.out);
      if (r.deleteIke) after = () => out.push(...this.remove(sa, 'deleted-by-peer'));
    } else {
      return this.drop(`exchange-${type}`);
    }
    const sent = this.answer(sa, type, m.header.messageId, answer);
    if (sent.length === 0 && type === EXCHANGE.IKE_AUTH) {
      // No answer could be sealed (more fragments than allowed): the peer cannot use this SA.
      return [...out, ...this.remove(sa, 'answer-too-large')];
    }
    out.unshift(...sent);
    // The message ID moved (and maybe children or keys): replicated before the next packet is handled.
    if (sa.state === 'established') this.dirty.add(sa);
    after();
    return out;
  }

  /** Seals the answer under the SA, caches it for retransmissions and moves the window. */
  private answer(sa: IkeSa, exchangeType: number, messageId: number, payloads: IkePayload[]): ResponderOutput[] {
    const header: IkeHeader = { spiI: sa.spiI, spiR: sa.spiR, exchangeType, initiator: false, response: true, higherVersion: false, messageId };
    const limit = this.deps.config.fragmentSize - IP_UDP_OVERHEAD - (sa.localPort === 500 ? 0 : NON_ESP_MARKER);
    const datagrams = sealMessage(sa.protection, header, payloads, this.deps.random, sa.fragmentation ? limit : undefined);
    if (datagrams === null) return this.drop('seal-failed');
    if (datagrams.length > 1) count(this.state, 'ike.fragmented-answers');
    sa.lastResponse = { messageId, datagrams };
    sa.nextRequestId = messageId + 1;
    return this.resend(sa, sa.peer, sa.localPort);
  }

  private forgetHalfOpen(sa: IkeSa): void {
    if (sa.initKey === '' || this.byInitiator.get(sa.initKey) !== sa) return;
    this.byInitiator.delete(sa.initKey);
    const ip = sourceOf(sa.initKey);
    const n = this.halfOpenFrom(ip) - 1;
    if (n > 0) this.halfOpenBySource.set(ip, n);
    else this.halfOpenBySource.delete(ip);
  }

  /** Forgets an IKE SA with its children, their SPIs and its virtual address. */
  remove(sa: IkeSa, reason: string): ResponderOutput[] {
    const out: ResponderOutput[] = [];
    if (sa.state !== 'rekeyed') this.gone.push(sa); // a rekeyed SA's record is a tombstone already
    this.dirty.delete(sa);
    if (sa.initKey !== '') this.initDone.delete(sa.initKey);
    for (const child of sa.children) {
      this.state.espSpis.delete(child.spiIn);
      out.push({ kind: 'child-down', sa, child });
    }
    sa.children = [];
    if (sa.virtualAddress !== null) this.deps.pool.release(sa.virtualAddress);
    sa.virtualAddress = null;
    this.forgetHalfOpen(sa);
    this.state.sas.delete(sa.spiKey);
    count(this.state, `ike.removed.${reason}`);
    out.push({ kind: 'ike-down', sa, reason });
    return out;
  }

  /**
   * Ends an SA at our initiative (its lifetime ran out, an administrator
   * killed it): an established SA's peer is told with a Delete, sent once —
   * the SA is gone either way (§1.4.1); a half-open or rekeyed one just goes.
   */
  deleteSa(now: number, sa: IkeSa, reason: string): ResponderOutput[] {
    const out: ResponderOutput[] = [];
    if (sa.state === 'established') {
      sa.ourRequest = null;
      out.push(...this.request(now, sa, [{ kind: 'delete', protocolId: PROTOCOL.IKE, spiSize: 0, spis: [] }]));
    }
    out.push(...this.remove(sa, reason));
    return out;
  }

  /** An SA taken over from another member (replication): indexed as if negotiated here. */
  adopt(sa: IkeSa): void {
    const old = this.state.sas.get(sa.spiKey);
    if (old) this.forgetOne(old);
    this.state.sas.set(sa.spiKey, sa);
    if (sa.state === 'half-open' && sa.initKey !== '') this.addHalfOpen(sa.initKey, sa);
    else if (sa.initKey !== '') this.initDone.add(sa.initKey);
    for (const c of sa.children) this.state.espSpis.add(c.spiIn);
    if (sa.virtualAddress !== null && !this.deps.pool.claim(sa.virtualAddress) && !this.deps.pool.inUse(sa.virtualAddress)) count(this.state, 'ike.adopt.vip-outside-pool');
    count(this.state, 'ike.adopted');
  }

  /** This member no longer owns these units: their SAs go quietly (their records stay with every member). */
  forgetUnits(units: ReadonlySet<number>): IkeSa[] {
    const forgotten: IkeSa[] = [];
    for (const sa of [...this.state.sas.values()]) {
      if (!units.has(sa.unit)) continue;
      this.forgetOne(sa);
      forgotten.push(sa);
    }
    if (forgotten.length > 0) count(this.state, 'ike.released', forgotten.length);
    return forgotten;
  }

  private forgetOne(sa: IkeSa): void {
    if (sa.initKey !== '') this.initDone.delete(sa.initKey);
    for (const c of sa.children) this.state.espSpis.delete(c.spiIn);
    if (sa.virtualAddress !== null) this.deps.pool.release(sa.virtualAddress);
    this.forgetHalfOpen(sa);
    this.state.sas.delete(sa.spiKey);
    this.dirty.delete(sa);
  }

  /** A CHILD SA went away (deleted by the peer): its SPI is free again. */
  releaseChildSpi(spi: number): void {
    this.state.espSpis.delete(spi);
  }

  /** Half-open and idle SAs time out; CHILD SAs past their hard lifetime are dropped. */
  tick(now: number): ResponderOutput[] {
    if (now < this.nextHousekeeping) return [];
    this.nextHousekeeping = now + HOUSEKEEPING_MS;
    const out: ResponderOutput[] = [];
    const cfg = this.deps.config;
    for (const sa of [...this.state.sas.values()]) {
      if (sa.state === 'half-open' && now - sa.createdAt > cfg.halfOpenTimeoutMs) out.push(...this.remove(sa, 'half-open-timeout'));
      else if (sa.state === 'rekeyed' && now - sa.rekeyedAt > REKEYED_LINGER_MS) out.push(...this.remove(sa, 'rekeyed-not-deleted'));
      else if (sa.state === 'established' && now - sa.lastHeard > cfg.idleTimeoutMs) out.push(...this.remove(sa, 'idle'));
      else if (sa.state === 'established' && now - sa.createdAt > cfg.ikeLifetimeS * 1000) {
        // The peer did not rekey in time.
        out.push(...this.deleteSa(now, sa, 'lifetime'));
      } else if (sa.state === 'established') {
        out.push(...this.expireChildren(now, sa));
        out.push(...this.resendOurs(now, sa));
      }
    }
    return out;
  }

  /** CHILD SAs past their hard lifetime are deleted, and the peer told (the request is resent until answered). */
  private expireChildren(now: number, sa: IkeSa): ResponderOutput[] {
    const expired = sa.children.filter((c) => c.inbound.lifetimeState(now) === 'hard-expired' || c.outbound.lifetimeState(now) === 'hard-expired');
    if (expired.length === 0) return [];
    const out: ResponderOutput[] = [];
    for (const child of expired) {
      sa.children.splice(sa.children.indexOf(child), 1);
      this.state.espSpis.delete(child.spiIn);
      out.push({ kind: 'child-down', sa, child });
      count(this.state, 'ike.child-expired');
    }
    this.dirty.add(sa);
    const spis = expired.map((c) => Uint8Array.of(c.spiIn >>> 24, (c.spiIn >>> 16) & 255, (c.spiIn >>> 8) & 255, c.spiIn & 255));
    out.push(...this.request(now, sa, [{ kind: 'delete', protocolId: PROTOCOL.ESP, spiSize: 4, spis }]));
    return out;
  }

  private resendOurs(now: number, sa: IkeSa): ResponderOutput[] {
    const r = sa.ourRequest;
    if (r === null || now < r.nextAt) return [];
    if (r.tries >= REQUEST_TRIES) {
      sa.ourRequest = null;
      count(this.state, 'ike.our-request.unanswered');
      return [];
    }
    r.tries++;
    r.nextAt = now + REQUEST_RESEND_MS;
    count(this.state, 'ike.our-request.resent');
    return r.datagrams.map((message) => ({ kind: 'send', to: sa.peer, localPort: sa.localPort, message }));
  }

  nextWakeAt(): number {
    return this.state.sas.size > 0 ? this.nextHousekeeping : Infinity;
  }
}

