/**
 * The per-turn budget for the IKE messages that cost public-key operations.
 *
 * IKE_SA_INIT and IKE_AUTH cost milliseconds of CPU each (D-H, signatures,
 * certificate paths). At most `perTurn` are handled per event-loop turn (a
 * turn is one value of `now`); the rest wait in a queue bounded in count and
 * in bytes for later turns, so a burst of handshakes never holds the loop
 * long enough to starve the cluster's keepalives or the ESP traffic.
 */
import type { UnitId } from '../../cluster/types.js';
import type { Endpoint } from '../../stack/tunnel-handler.js';

export const HANDSHAKES_PER_TURN = 4;
export const HANDSHAKE_QUEUE_MAX = 2048;
/** Bytes the deferred handshakes may hold: 2048 IP-reassembled 64 kB datagrams would be 128 MB. */
export const HANDSHAKE_QUEUE_BYTES = 8 * 1024 * 1024;
const IKE_AUTH_EXCHANGE = 35;

/** IKE_SA_INIT (zero responder SPI) or IKE_AUTH: the messages that cost public-key operations. */
export function isHandshake(message: Uint8Array): boolean {
  if (message.length < 28) return false;
  let zero = true;
  for (let i = 8; i < 16; i++) if (message[i] !== 0) zero = false;
  return zero || message[18] === IKE_AUTH_EXCHANGE;
}

export interface DeferredHandshake {
  unit: UnitId;
  from: Endpoint;
  localPort: number;
  message: Uint8Array;
}

export class HandshakeBudget {
  private turnNow = -1;
  private spent = 0;
  private readonly queue: DeferredHandshake[] = [];
  private head = 0;
  private queuedBytes = 0;

  constructor(private readonly perTurn = Infinity) {}

  /** Takes one handshake from this turn's budget; false when it is spent. */
  spend(now: number): boolean {
    if (now !== this.turnNow) {
      this.turnNow = now;
      this.spent = 0;
    }
    if (this.spent >= this.perTurn) return false;
    this.spent++;
    return true;
  }

  /** Queues a handshake for a later turn (a copy: the caller's buffer is reused); false when the queue is full. */
  defer(h: DeferredHandshake): boolean {
    if (this.size >= HANDSHAKE_QUEUE_MAX || this.queuedBytes + h.message.length > HANDSHAKE_QUEUE_BYTES) return false;
    this.queue.push({ ...h, message: h.message.slice() });
    this.queuedBytes += h.message.length;
    return true;
  }

  /** The oldest deferred handshake if this turn's budget allows one more. */
  next(now: number): DeferredHandshake | undefined {
    if (this.size === 0 || !this.spend(now)) return undefined;
    const h = this.queue[this.head]!;
    this.head++;
    this.queuedBytes -= h.message.length;
    // Compact once the consumed head dominates, so a long burst does not keep a dead prefix.
    if (this.head > 64 && this.head * 2 >= this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    return h;
  }

  get size(): number {
    return this.queue.length - this.head;
  }

  /** When deferred handshakes may go on: the next turn after the current one, or never when none wait. */
  nextWakeAt(): number {
    return this.size > 0 ? this.turnNow : Infinity;
  }
}
