/**
 * ESP transforms over node:crypto. A transform works in place on the whole
 * ESP packet laid out by the SA:
 *
 *   [0, 8)            SPI ‖ Sequence Number (written by the SA)
 *   [8, 8+iv)         IV (written by seal)
 *   [8+iv, end-icv)   plaintext → ciphertext (Payload ‖ Padding ‖ Pad Length ‖ Next Header)
 *   [end-icv, end)    ICV (written by seal)
 *
 * AEAD (AES-GCM, RFC 4106; ChaCha20-Poly1305, RFC 7634): the key material
 * ends with a 4-byte salt, nonce = salt ‖ 8-byte IV, ICV 16 bytes, AAD =
 * SPI ‖ Sequence Number, or SPI ‖ Seq high ‖ Seq low with ESN (RFC 4106 §5;
 * RFC 7634 §2.1 uses the same). The IV is the sending member's tag and the
 * low 48 bits of the sequence number (aead-iv.ts): it never repeats under an
 * SA's key even when two members send on the SA (a repeated nonce would
 * break both ciphers).
 *
 * AES-CBC + HMAC-SHA2 (RFC 3602, RFC 4868): a random 16-byte IV per packet
 * from the injected RandomSource (CBC needs an unpredictable IV), then
 * encrypt-then-MAC: the truncated HMAC covers the ESP header, IV and
 * ciphertext, with the ESN high bits appended (not sent) (RFC 4303 §3.3.2.1).
 *
 * open() never throws on packet content: a failed check is null.
 *
 * Two engines do the work: the espcrypto addon (ciphers-native.ts: OpenSSL
 * contexts kept per SA, the default when it is built) and node:crypto (a
 * cipher object per packet: ~5× the CPU, kept as the fallback and as the
 * reference the addon is tested against).
 */
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createSecretKey,
  timingSafeEqual,
  type CipherChaCha20Poly1305,
  type CipherGCM,
  type DecipherChaCha20Poly1305,
  type DecipherGCM,
  type KeyObject,
} from 'node:crypto';
import type { RandomSource } from '../../../lib/random.js';
import { ESP_HEADER_LENGTH, writeU32 } from '../../../wire/esp.js';
import { AEAD_IV_LENGTH, writeAeadIv } from './aead-iv.js';
import { espCryptoAddon, NativeAeadTransform, NativeCbcHmacTransform } from './ciphers-native.js';

export type EspIntegrity = 'hmac-sha2-256-128' | 'hmac-sha2-384-192' | 'hmac-sha2-512-256';

export type EspTransformSpec =
  /** key: 16, 24 or 32 bytes of AES key, then the 4-byte salt. */
  | { encryption: 'aes-gcm-16'; key: Uint8Array }
  /** key: 32 bytes of ChaCha20 key, then the 4-byte salt. */
  | { encryption: 'chacha20-poly1305'; key: Uint8Array }
  /** key: 16, 24 or 32 bytes; integrityKey: as long as the hash output (RFC 4868 §2.1.1). */
  | { encryption: 'aes-cbc'; key: Uint8Array; integrity: EspIntegrity; integrityKey: Uint8Array };

export interface EspTransform {
  /** e.g. 'aes-256-gcm-16', 'aes-128-cbc/hmac-sha2-256-128'. */
  readonly name: string;
  readonly ivLength: number;
  readonly icvLength: number;
  /** The plaintext is padded to a multiple of this (4, or the cipher block). */
  readonly alignment: number;
  /** Writes IV, encrypts the plaintext region in place, writes the ICV. */
  seal(packet: Uint8Array, seqHigh: number, seqLow: number, esn: boolean): void;
  /** Verifies the ICV and returns the plaintext region decrypted (a new buffer), or null when the ICV fails. */
  open(packet: Uint8Array, seqHigh: number, esn: boolean): Uint8Array | null;
}

const SALT_LENGTH = 4;
const AEAD_ICV_LENGTH = 16;
const AES_BLOCK = 16;

const HMAC: Record<EspIntegrity, { hash: string; keyLength: number; icvLength: number }> = {
  'hmac-sha2-256-128': { hash: 'sha256', keyLength: 32, icvLength: 16 },
  'hmac-sha2-384-192': { hash: 'sha384', keyLength: 48, icvLength: 24 },
  'hmac-sha2-512-256': { hash: 'sha512', keyLength: 64, icvLength: 32 },
};

/** 'auto': the addon when it is built, else node:crypto. */
export type EspEngine = 'auto' | 'native' | 'node';

/**
 * Validates the key lengths (a configuration error throws RangeError here, never on the packet path).
 * ivTag: the sending member's IV tag (aead-iv.ts); AEAD transforms put it in every IV they write.
 */
export function createEspTransform(spec: EspTransformSpec, random: RandomSource, engine: EspEngine = 'auto', ivTag = 0): EspTransform {
  const addon = engine === 'node' ? null : espCryptoAddon();
  if (engine === 'native' && addon === null) throw new RangeError('the espcrypto addon is not built (run `npm rebuild`)');
  switch (spec.encryption) {
    case 'aes-gcm-16': {
      const bits = (spec.key.length - SALT_LENGTH) * 8;
      if (bits !== 128 && bits !== 192 && bits !== 256) throw new RangeError(`AES-GCM key material of ${spec.key.length} bytes: 20, 28 or 36 (key ‖ salt)`);
      const name = `aes-${bits}-gcm-16`;
      const cipher = `aes-${bits}-gcm` as const;
      return addon ? new NativeAeadTransform(addon, name, cipher, spec.key, ivTag) : new AeadTransform(name, cipher, spec.key, ivTag);
    }
    case 'chacha20-poly1305':
      if (spec.key.length !== 32 + SALT_LENGTH) throw new RangeError(`ChaCha20-Poly1305 key material of ${spec.key.length} bytes: 36 (key ‖ salt)`);
      return addon
        ? new NativeAeadTransform(addon, 'chacha20-poly1305', 'chacha20-poly1305', spec.key, ivTag)
        : new AeadTransform('chacha20-poly1305', 'chacha20-poly1305', spec.key, ivTag);
    case 'aes-cbc': {
      const bits = spec.key.length * 8;
      if (bits !== 128 && bits !== 192 && bits !== 256) throw new RangeError(`AES-CBC key of ${spec.key.length} bytes: 16, 24 or 32`);
      const mac = HMAC[spec.integrity];
      if (spec.integrityKey.length !== mac.keyLength) throw new RangeError(`${spec.integrity} key of ${spec.integrityKey.length} bytes: ${mac.keyLength}`);
      const cipher = `aes-${bits}-cbc`;
      return addon
        ? new NativeCbcHmacTransform(addon, `${cipher}/${spec.integrity}`, cipher, spec.key, mac.hash, spec.integrityKey, mac.icvLength, random)
        : new CbcHmacTransform(cipher, spec.key, spec.integrity, spec.integrityKey, random);
    }
  }
}

type AeadCipher = 'aes-128-gcm' | 'aes-192-gcm' | 'aes-256-gcm' | 'chacha20-poly1305';

// node's overloads take one algorithm family at a time
function aeadCipher(name: AeadCipher, key: KeyObject, nonce: Uint8Array): CipherGCM | CipherChaCha20Poly1305 {
  const options = { authTagLength: AEAD_ICV_LENGTH };
  return name === 'chacha20-poly1305' ? createCipheriv(name, key, nonce, options) : createCipheriv(name, key, nonce, options);
}

function aeadDecipher(name: AeadCipher, key: KeyObject, nonce: Uint8Array): DecipherGCM | DecipherChaCha20Poly1305 {
  const options = { authTagLength: AEAD_ICV_LENGTH };
  return name === 'chacha20-poly1305' ? createDecipheriv(name, key, nonce, options) : createDecipheriv(name, key, nonce, options);
}

class AeadTransform implements EspTransform {
  readonly ivLength = AEAD_IV_LENGTH;
  readonly icvLength = AEAD_ICV_LENGTH;
  readonly alignment = 4;
  private readonly key: KeyObject;
  /** salt ‖ IV, rewritten per packet (node copies it when the cipher is created). */
  private readonly nonce = new Uint8Array(SALT_LENGTH + AEAD_IV_LENGTH);
  /** SPI ‖ Seq high ‖ Seq low for ESN; without ESN the AAD is the packet's own first 8 bytes. */
  private readonly esnAad = new Uint8Array(12);

  constructor(
    readonly name: string,
    private readonly cipher: AeadCipher,
    keyMaterial: Uint8Array,
    private readonly ivTag: number,
  ) {
    const keyLength = keyMaterial.length - SALT_LENGTH;
    this.key = createSecretKey(keyMaterial.subarray(0, keyLength));
    this.nonce.set(keyMaterial.subarray(keyLength));
  }

  private aad(packet: Uint8Array, seqHigh: number, esn: boolean): Uint8Array {
    if (!esn) return packet.subarray(0, ESP_HEADER_LENGTH);
    this.esnAad.set(packet.subarray(0, 4));
    writeU32(this.esnAad, 4, seqHigh);
    this.esnAad.set(packet.subarray(4, 8), 8);
    return this.esnAad;
  }

  seal(packet: Uint8Array, seqHigh: number, seqLow: number, esn: boolean): void {
    const ivAt = ESP_HEADER_LENGTH;
    const textAt = ivAt + AEAD_IV_LENGTH;
    const icvAt = packet.length - AEAD_ICV_LENGTH;
    writeAeadIv(packet, ivAt, this.ivTag, seqHigh, seqLow);
    this.nonce.set(packet.subarray(ivAt, textAt), SALT_LENGTH);
    const c = aeadCipher(this.cipher, this.key, this.nonce);
    c.setAAD(this.aad(packet, seqHigh, esn), { plaintextLength: icvAt - textAt });
    packet.set(c.update(packet.subarray(textAt, icvAt)), textAt);
    c.final();
    packet.set(c.getAuthTag(), icvAt);
  }

  open(packet: Uint8Array, seqHigh: number, esn: boolean): Uint8Array | null {
    const textAt = ESP_HEADER_LENGTH + AEAD_IV_LENGTH;
    const icvAt = packet.length - AEAD_ICV_LENGTH;
    if (icvAt < textAt) return null;
    this.nonce.set(packet.subarray(ESP_HEADER_LENGTH, textAt), SALT_LENGTH);
    const d = aeadDecipher(this.cipher, this.key, this.nonce);
    d.setAAD(this.aad(packet, seqHigh, esn), { plaintextLength: icvAt - textAt });
    d.setAuthTag(packet.subarray(icvAt));
    const plain = d.update(packet.subarray(textAt, icvAt));
    try {
      d.final(); // throws when the tag does not verify; the plaintext is discarded
    } catch {
      return null;
    }
    return plain;
  }
}

class CbcHmacTransform implements EspTransform {
  readonly ivLength = AES_BLOCK;
  readonly icvLength: number;
  readonly alignment = AES_BLOCK;
  readonly name: string;
  private readonly key: KeyObject;
  private readonly macKey: KeyObject;
  private readonly hash: string;
  private readonly seqHighBytes = new Uint8Array(4);

  constructor(
    private readonly cipher: string,
    key: Uint8Array,
    integrity: EspIntegrity,
    integrityKey: Uint8Array,
    private readonly random: RandomSource,
  ) {
    this.name = `${cipher}/${integrity}`;
    this.key = createSecretKey(key);
    this.macKey = createSecretKey(integrityKey);
    this.hash = HMAC[integrity].hash;
    this.icvLength = HMAC[integrity].icvLength;
  }

  private mac(packet: Uint8Array, icvAt: number, seqHigh: number, esn: boolean): Buffer {
    const h = createHmac(this.hash, this.macKey);
    h.update(packet.subarray(0, icvAt));
    if (esn) {
      writeU32(this.seqHighBytes, 0, seqHigh);
      h.update(this.seqHighBytes);
    }
    return h.digest();
  }

  seal(packet: Uint8Array, seqHigh: number, _seqLow: number, esn: boolean): void {
    const ivAt = ESP_HEADER_LENGTH;
    const textAt = ivAt + AES_BLOCK;
    const icvAt = packet.length - this.icvLength;
    const iv = this.random.bytes(AES_BLOCK);
    packet.set(iv, ivAt);
    const c = createCipheriv(this.cipher, this.key, iv).setAutoPadding(false);
    packet.set(c.update(packet.subarray(textAt, icvAt)), textAt);
    c.final();
    packet.set(this.mac(packet, icvAt, seqHigh, esn).subarray(0, this.icvLength), icvAt);
  }

  open(packet: Uint8Array, seqHigh: number, esn: boolean): Uint8Array | null {
    const textAt = ESP_HEADER_LENGTH + AES_BLOCK;
    const icvAt = packet.length - this.icvLength;
    if (icvAt < textAt || (icvAt - textAt) % AES_BLOCK !== 0) return null;
    const expected = this.mac(packet, icvAt, seqHigh, esn).subarray(0, this.icvLength);
    if (!timingSafeEqual(expected, packet.subarray(icvAt))) return null;
    const d = createDecipheriv(this.cipher, this.key, packet.subarray(ESP_HEADER_LENGTH, textAt)).setAutoPadding(false);
    const plain = d.update(packet.subarray(textAt, icvAt));
    d.final();
    return plain;
  }
}
