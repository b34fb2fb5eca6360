/**
 * ESP transforms on the espcrypto addon (native/espcrypto/): OpenSSL cipher
 * and HMAC contexts created once per SA with the key set, so a packet costs
 * an IV reset and the cipher itself. Same layout, same results and the same
 * EspTransform contract as the node:crypto transforms in ciphers.ts (the
 * tests cross-check every transform one way and the other).
 */
import type { RandomSource } from '../../../lib/random.js';
import { addonFile, requireAddon } from '../../../lib/native-addon.js';
import { ESP_HEADER_LENGTH } from '../../../wire/esp.js';
import { AEAD_IV_LENGTH, writeAeadIv } from './aead-iv.js';
import type { EspTransform } from './ciphers.js';

declare const handleBrand: unique symbol;
/** The SA's contexts inside the addon (a napi external; freed by GC). */
type EspCryptoHandle = { readonly [handleBrand]: true };

/** The addon's surface (native/espcrypto/espcrypto.c). esnHigh −1: no ESN. */
interface EspCryptoAddon {
  createAead(cipher: string, key: Uint8Array, salt: Uint8Array): EspCryptoHandle;
  createCbcHmac(cipher: string, key: Uint8Array, digest: string, macKey: Uint8Array, icvLength: number): EspCryptoHandle;
  seal(h: EspCryptoHandle, packet: Uint8Array, textAt: number, icvAt: number, esnHigh: number): void;
  open(h: EspCryptoHandle, packet: Uint8Array, textAt: number, icvAt: number, esnHigh: number, out: Uint8Array): boolean;
}

let loaded: EspCryptoAddon | null | undefined;

/** The addon, or null when it is not built (callers fall back to node:crypto). */
export function espCryptoAddon(): EspCryptoAddon | null {
  if (loaded === undefined) {
    try {
      loaded = requireAddon(addonFile('espcrypto')) as EspCryptoAddon;
    } catch {
      loaded = null;
    }
  }
  return loaded;
}

const SALT_LENGTH = 4;
const AEAD_ICV_LENGTH = 16;
const AES_BLOCK = 16;

/** A fresh plain Uint8Array from node's pool: cheaper than a zeroed allocation. */
function scratch(length: number): Uint8Array {
  const b = Buffer.allocUnsafe(length);
  return new Uint8Array(b.buffer, b.byteOffset, length);
}

export class NativeAeadTransform implements EspTransform {
  readonly ivLength = AEAD_IV_LENGTH;
  readonly icvLength = AEAD_ICV_LENGTH;
  readonly alignment = 4;
  private readonly handle: EspCryptoHandle;

  constructor(
    private readonly addon: EspCryptoAddon,
    readonly name: string,
    cipher: string,
    keyMaterial: Uint8Array,
    private readonly ivTag: number,
  ) {
    const keyLength = keyMaterial.length - SALT_LENGTH;
    this.handle = addon.createAead(cipher, keyMaterial.subarray(0, keyLength), keyMaterial.subarray(keyLength));
  }

  seal(packet: Uint8Array, seqHigh: number, seqLow: number, esn: boolean): void {
    // the IV is the member's tag and the sequence number (aead-iv.ts says why)
    writeAeadIv(packet, ESP_HEADER_LENGTH, this.ivTag, seqHigh, seqLow);
    this.addon.seal(this.handle, packet, ESP_HEADER_LENGTH + AEAD_IV_LENGTH, packet.length - AEAD_ICV_LENGTH, esn ? seqHigh : -1);
  }

  open(packet: Uint8Array, seqHigh: number, esn: boolean): Uint8Array | null {
    const textAt = ESP_HEADER_LENGTH + AEAD_IV_LENGTH;
    const icvAt = packet.length - AEAD_ICV_LENGTH;
    if (icvAt < textAt) return null;
    const out = scratch(icvAt - textAt);
    return this.addon.open(this.handle, packet, textAt, icvAt, esn ? seqHigh : -1, out) ? out : null;
  }
}

export class NativeCbcHmacTransform implements EspTransform {
  readonly ivLength = AES_BLOCK;
  readonly alignment = AES_BLOCK;
  private readonly handle: EspCryptoHandle;

  constructor(
    private readonly addon: EspCryptoAddon,
    readonly name: string,
    cipher: string,
    key: Uint8Array,
    hash: string,
    macKey: Uint8Array,
    readonly icvLength: number,
    private readonly random: RandomSource,
  ) {
    this.handle = addon.createCbcHmac(cipher, key, hash, macKey, icvLength);
  }

  seal(packet: Uint8Array, seqHigh: number, _seqLow: number, esn: boolean): void {
    // CBC needs an unpredictable IV (RFC 3602 §3)
    packet.set(this.random.bytes(AES_BLOCK), ESP_HEADER_LENGTH);
    this.addon.seal(this.handle, packet, ESP_HEADER_LENGTH + AES_BLOCK, packet.length - this.icvLength, esn ? seqHigh : -1);
  }

  open(packet: Uint8Array, seqHigh: number, esn: boolean): Uint8Array | null {
    const textAt = ESP_HEADER_LENGTH + AES_BLOCK;
    const icvAt = packet.length - this.icvLength;
    if (icvAt < textAt || (icvAt - textAt) % AES_BLOCK !== 0) return null;
    const out = scratch(icvAt - textAt);
    return this.addon.open(this.handle, packet, textAt, icvAt, esn ? seqHigh : -1, out) ? out : null;
  }
}
