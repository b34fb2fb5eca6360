/** Keys and SA pairs for the ESP tests and bench: every transform, keys from a seeded stream. */
import type { EspTransformSpec } from '../../../../src/apps/ipsec/esp/ciphers.js';
import type { ReplayWindowState } from '../../../../src/apps/ipsec/esp/replay-window.js';
import { InboundEspSa, OutboundEspSa, type EspLifetimeLimits } from '../../../../src/apps/ipsec/esp/sa.js';
import { SeededRandom } from '../../../../src/lib/random.js';

export const TRANSFORM_NAMES = [
  'aes-128-gcm-16',
  'aes-256-gcm-16',
  'chacha20-poly1305',
  'aes-128-cbc/hmac-sha2-256-128',
  'aes-256-cbc/hmac-sha2-384-192',
  'aes-256-cbc/hmac-sha2-512-256',
] as const;
export type TransformName = (typeof TRANSFORM_NAMES)[number];

export function transformSpec(name: TransformName, rng: SeededRandom): EspTransformSpec {
  switch (name) {
    case 'aes-128-gcm-16':
      return { encryption: 'aes-gcm-16', key: rng.bytes(20) };
    case 'aes-256-gcm-16':
      return { encryption: 'aes-gcm-16', key: rng.bytes(36) };
    case 'chacha20-poly1305':
      return { encryption: 'chacha20-poly1305', key: rng.bytes(36) };
    case 'aes-128-cbc/hmac-sha2-256-128':
      return { encryption: 'aes-cbc', key: rng.bytes(16), integrity: 'hmac-sha2-256-128', integrityKey: rng.bytes(32) };
    case 'aes-256-cbc/hmac-sha2-384-192':
      return { encryption: 'aes-cbc', key: rng.bytes(32), integrity: 'hmac-sha2-384-192', integrityKey: rng.bytes(48) };
    case 'aes-256-cbc/hmac-sha2-512-256':
      return { encryption: 'aes-cbc', key: rng.bytes(32), integrity: 'hmac-sha2-512-256', integrityKey: rng.bytes(64) };
  }
}

export interface SaPair {
  out: OutboundEspSa;
  in: InboundEspSa;
}

export interface SaPairOptions {
  esn?: boolean;
  seed?: number;
  lifetime?: EspLifetimeLimits;
  now?: number;
  replayWindow?: number;
  lastSequence?: number;
  replayState?: ReplayWindowState;
}

export function saPair(name: TransformName, options: SaPairOptions = {}): SaPair {
  const rng = new SeededRandom(options.seed ?? 1);
  const transform = transformSpec(name, rng);
  const common = { spi: 0x12345678, transform, esn: options.esn ?? false, lifetime: options.lifetime };
  const now = options.now ?? 0;
  return {
    out: new OutboundEspSa(now, { ...common, random: rng.fork(), lastSequence: options.lastSequence }),
    in: new InboundEspSa(now, { ...common, replayWindow: options.replayWindow, replayState: options.replayState }),
  };
}
