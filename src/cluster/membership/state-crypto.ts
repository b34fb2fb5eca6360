/**
 * Replicated session state carries keys (IKE and ESP), so StateSync payloads
 * are encrypted, not only MACed: AES-256-GCM under a key derived from the
 * cluster key of the frame's epoch, with the message's app, unit and sequence
 * as associated data (a payload cannot be replayed under another unit).
 *
 *   payload = nonce (12) | ciphertext | tag (16)
 */
import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';
import type { RandomSource } from '../../lib/random.js';

const NONCE = 12;
const TAG = 16;
const LABEL = 'shoal state sync v1';

function stateKey(clusterKey: Uint8Array): Buffer {
  return createHmac('sha256', clusterKey).update(LABEL).digest();
}

function aad(app: number, unit: number, syncSeq: number): Buffer {
  const b = Buffer.alloc(7);
  b.writeUInt8(app, 0);
  b.writeUInt16BE(unit, 1);
  b.writeUInt32BE(syncSeq >>> 0, 3);
  return b;
}

export function sealState(clusterKey: Uint8Array, rng: RandomSource, app: number, unit: number, syncSeq: number, plain: Uint8Array): Uint8Array {
  const nonce = rng.bytes(NONCE);
  const c = createCipheriv('aes-256-gcm', stateKey(clusterKey), nonce, { authTagLength: TAG });
  c.setAAD(aad(app, unit, syncSeq));
  const body = Buffer.concat([c.update(plain), c.final()]);
  const out = new Uint8Array(NONCE + body.length + TAG);
  out.set(nonce);
  out.set(body, NONCE);
  out.set(c.getAuthTag(), NONCE + body.length);
  return out;
}

/** The plaintext, or null when the payload is short or does not authenticate. Never throws. */
export function openState(clusterKey: Uint8Array, app: number, unit: number, syncSeq: number, sealed: Uint8Array): Uint8Array | null {
  if (sealed.length < NONCE + TAG) return null;
  try {
    const d = createDecipheriv('aes-256-gcm', stateKey(clusterKey), sealed.subarray(0, NONCE), { authTagLength: TAG });
    d.setAAD(aad(app, unit, syncSeq));
    d.setAuthTag(sealed.subarray(sealed.length - TAG));
    return new Uint8Array(Buffer.concat([d.update(sealed.subarray(NONCE, sealed.length - TAG)), d.final()]));
  } catch {
    return null;
  }
}
