/**
 * Seals outgoing control messages and opens incoming ones.
 *
 *   bytes ─► decode (cheap: header, cluster id, own echo) ─► the role says whether it
 *   cares ─► authenticate (MAC under a cluster key, or signature + certificate chain)
 *   ─► replay check (per sender incarnation and sequence) ─► typed message
 *
 * Decoding before authenticating lets members skip signature checks for
 * broadcasts only the master acts on. Nothing here throws on bad input: every
 * refusal is a DropReason the core counts.
 */
import { KeyRing, macEquals, macOf, type ClusterKey } from '../auth/cluster-key.js';
import { ReplayGuard, isFreshTimestamp } from '../auth/replay-guard.js';
import { signBytes, verifyBytes } from '../auth/signing.js';
import type { CertProblem, VerifiedPeer } from '../auth/trust.js';
import { ChainVerifier } from '../auth/verify-chain.js';
import {
  decodeFrame,
  encodeHeaderAndBody,
  encodeMacFrame,
  encodeSignedFrame,
  encodeSignedPart,
} from '../control-codec.js';
import { AUTH_OF_TYPE, MessageType, type ControlMessage, type Frame, type Header } from '../messages.js';
import type { MemberConfig } from './config.js';

export type DropReason =
  | 'malformed'
  | 'foreign-cluster'
  | 'own-message'
  | 'not-for-me'
  | 'not-interested'
  | 'unknown-key'
  | 'retired-key'
  | 'bad-mac'
  | 'bad-signature'
  | 'certificate'
  | 'stale-timestamp'
  | 'replayed'
  | 'stale-incarnation'
  | 'state-undecryptable'
  | 'state-no-key';

export interface Inbound {
  header: Header;
  message: ControlMessage;
  /** The verified sender of a signed message. */
  peer: VerifiedPeer | null;
  /** The certificate chain a signed message carried (copies), so its holder can be checked again later. */
  chain: Uint8Array[] | null;
  /** For MACed messages: whether the sender used our current cluster key. */
  currentKey: boolean;
}

export type Opened =
  | { ok: true; inbound: Inbound }
  | { ok: false; reason: DropReason; certProblem?: CertProblem; detail?: string };

export class ControlChannel {
  readonly keys = new KeyRing();
  private seq = 0;
  private readonly replay = new ReplayGuard();
  /**
   * Forwarded packets count in a sequence space of their own: they travel on
   * a socket of their own (so a flood of them cannot delay keepalives), and
   * reordering against control messages must not push either outside the
   * other's replay window.
   */
  private dataSeq = 0;
  /**
   * The incarnation forwarded packets carry. The u32 seq runs out after 2^32
   * of them (hours at forwarding-mode rates), and a wrapped seq is "replayed"
   * to every receiver for the rest of the incarnation; so the data space
   * starts a new incarnation (one above) instead of wrapping. Only the data
   * replay window looks at it: forwarded packets are taken in every role, so
   * no role logic reads it as a restart. A real restart's incarnation (its
   * boot time in ms) stays above: one step per 2^32 packets never catches up.
   */
  private dataIncarnation: number;
  private readonly dataReplay = new ReplayGuard();
  private readonly verifier: ChainVerifier;

  constructor(private readonly cfg: MemberConfig) {
    this.verifier = ChainVerifier.shared(cfg.trust);
    this.dataIncarnation = cfg.incarnation;
  }

  /** Tests only: move the forwarded-packet counter to `seq`, to reach its end without sending 2^32 packets. */
  setDataSeqForTest(seq: number): void {
    this.dataSeq = seq;
  }

  /**
   * Seal a message for sending, MACed under the current cluster key or signed
   * with our certificate key, as AUTH_OF_TYPE says. Sealing a MACed type
   * before holding a cluster key is a programming error.
   */
  seal(message: ControlMessage, wallNow: number): Uint8Array {
    const current: ClusterKey | null = this.keys.current ?? null;
    const data = message.type === MessageType.ForwardedPacket;
    if (data && this.dataSeq >= 0xffff_ffff) {
      this.dataIncarnation += 1;
      this.dataSeq = 0;
    }
    if (data) this.dataSeq += 1;
    else this.seq = (this.seq + 1) >>> 0;
    const header: Header = {
      type: message.type,
      clusterId: this.cfg.clusterId,
      sender: this.cfg.self,
      incarnation: data ? this.dataIncarnation : this.cfg.incarnation,
      seq: data ? this.dataSeq : this.seq,
      epoch: current?.epoch ?? 0,
    };
    const headerAndBody = encodeHeaderAndBody(header, message);
    if (AUTH_OF_TYPE[message.type] === 'mac') {
      if (!current) throw new Error(`cannot MAC message type ${message.type} without a cluster key`);
      return encodeMacFrame(headerAndBody, macOf(current.key, headerAndBody));
    }
    const signedPart = encodeSignedPart(headerAndBody, this.cfg.credentials.chain, wallNow);
    return encodeSignedFrame(signedPart, signBytes(this.cfg.credentials.privateKey, signedPart));
  }

  /**
   * Forget a sender's replay windows: it left the member list. Its next
   * message starts a window under whatever incarnation it carries, so a
   * member that rebooted with its clock set back (a lower incarnation, which
   * would be stale for good) can join again once the master has removed it.
   * Nothing old comes back with it: its MACed messages were under keys the
   * removal retired, and a signed one older than maxSkewMs is refused by its
   * timestamp.
   */
  forgetSender(sender: number): void {
    this.replay.forget(sender);
    this.dataReplay.forget(sender);
  }

  decode(bytes: Uint8Array): { ok: true; frame: Frame } | { ok: false; reason: DropReason } {
    const decoded = decodeFrame(bytes);
    if (!decoded.ok) return { ok: false, reason: 'malformed' };
    const frame = decoded.value;
    if (frame.header.clusterId !== this.cfg.clusterId) return { ok: false, reason: 'foreign-cluster' };
    if (frame.header.sender === this.cfg.self) return { ok: false, reason: 'own-message' };
    return { ok: true, frame };
  }

  authenticate(frame: Frame, wallNow: number): Opened {
    const { header, trailer } = frame;
    const replay = header.type === MessageType.ForwardedPacket ? this.dataReplay : this.replay;
    const freshness = replay.check(header.sender, header.incarnation, header.seq, trailer.kind === 'signed');
    if (freshness === 'replayed') return { ok: false, reason: 'replayed' };
    if (freshness === 'stale-incarnation') return { ok: false, reason: 'stale-incarnation' };

    let peer: VerifiedPeer | null = null;
    let chain: Uint8Array[] | null = null;
    let currentKey = false;
    if (trailer.kind === 'mac') {
      const key = this.keys.get(header.epoch);
      if (!key) return { ok: false, reason: this.keys.isRetired(header.epoch) ? 'retired-key' : 'unknown-key' };
      if (!macEquals(macOf(key.key, frame.authenticated), trailer.mac)) return { ok: false, reason: 'bad-mac' };
      currentKey = this.keys.isCurrent(header.epoch);
    } else {
      if (!isFreshTimestamp(trailer.signedAt, wallNow, this.cfg.maxSkewMs)) return { ok: false, reason: 'stale-timestamp' };
      const checked = this.verifier.verify(trailer.chain, header.sender, wallNow);
      if (!checked.ok) return { ok: false, reason: 'certificate', certProblem: checked.problem, detail: checked.detail };
      if (!verifyBytes(checked.peer.publicKey, frame.authenticated, trailer.signature)) {
        return { ok: false, reason: 'bad-signature' };
      }
      peer = checked.peer;
      chain = trailer.chain.map((c) => c.slice());
    }
    replay.record(header.sender, header.incarnation, header.seq);
    return { ok: true, inbound: { header, message: copyMessage(frame.message), peer, chain, currentKey } };
  }

  /**
   * Checks a chain that verified before against the trust configuration now:
   * a certificate expires, and a re-read CRL may revoke it, while its holder
   * stays in the cluster (null = still good).
   */
  recheck(chain: Uint8Array[], member: number, wallNow: number): { problem: CertProblem; detail: string } | null {
    const r = this.verifier.verify(chain, member, wallNow);
    return r.ok ? null : { problem: r.problem, detail: r.detail };
  }
}

/** Decoded byte fields may view the receive buffer, which adapters reuse; the core keeps copies. */
function copyMessage(m: ControlMessage): ControlMessage {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(m)) out[k] = v instanceof Uint8Array ? v.slice() : v;
  return out as unknown as ControlMessage;
}
