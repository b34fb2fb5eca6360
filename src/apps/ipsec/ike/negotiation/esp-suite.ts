/**
 * ESP suites as configured (strongSwan `esp_proposals` syntax) and what a
 * negotiated suite becomes: the ESP SA's transform spec.
 */
import type { EspIntegrity, EspTransformSpec } from '../../esp/ciphers.js';
import type { EspSaKeys } from '../../crypto/keys.js';
import { concat } from '../../crypto/keys.js';
import {
  DhGroup,
  IntegId,
  SUPPORTED_DH_GROUPS,
  SUPPORTED_ENCRYPTIONS,
  SUPPORTED_INTEGRITIES,
  protectionSuite,
  type DhGroupInfo,
  type EncryptionTransform,
  type IntegrityTransform,
  type ProtectionSuite,
} from '../../crypto/transforms.js';

export interface EspSuite {
  readonly protection: ProtectionSuite;
  /** Extended sequence numbers: the setting preferred (configured) or chosen (negotiated). */
  readonly esn: boolean;
  /**
   * true: only `esn` is acceptable. false/absent: `esn` is preferred and the
   * other setting accepted too. Always true on a negotiated suite.
   */
  readonly esnOnly?: boolean;
  /** The PFS group for CREATE_CHILD_SA with KE; null: no PFS. Never used in IKE_AUTH. */
  readonly dhGroup: DhGroupInfo | null;
}

/**
 * Parses 'aes256gcm16', 'aes128-sha256-modp2048', 'chacha20poly1305-x25519-esn', ...
 * Without 'esn'/'noesn' both are accepted, ESN preferred (our SAs support it);
 * with both, the first named is preferred. Throws RangeError (configuration).
 */
export function parseEspSuite(name: string): EspSuite {
  let encryption: EncryptionTransform | undefined;
  let integrity: IntegrityTransform | null = null;
  let dhGroup: DhGroupInfo | null = null;
  const esns: boolean[] = [];
  for (const token of name.toLowerCase().split('-')) {
    const e = SUPPORTED_ENCRYPTIONS.find((x) => x.name === token);
    const i = SUPPORTED_INTEGRITIES.find((x) => x.name === token);
    const g = SUPPORTED_DH_GROUPS.find((x) => x.name === token || (token === 'curve25519' && x.group === DhGroup.CURVE25519));
    const esn = token === 'esn' ? true : token === 'noesn' ? false : undefined;
    if (e !== undefined && encryption === undefined) encryption = e;
    else if (i !== undefined && integrity === null) integrity = i;
    else if (g !== undefined && dhGroup === null) dhGroup = g;
    else if (esn !== undefined && !esns.includes(esn)) esns.push(esn);
    else throw new RangeError(`unknown or repeated token "${token}" in ESP proposal "${name}"`);
  }
  if (encryption === undefined) throw new RangeError(`ESP proposal "${name}" lacks an encryption algorithm`);
  const protection = protectionSuite(encryption, integrity);
  if (!protection.ok) throw new RangeError(`ESP proposal "${name}": ${protection.error.message}`);
  return { protection: protection.value, esn: esns[0] ?? true, esnOnly: esns.length === 1, dhGroup };
}

/** strongSwan-style name, e.g. 'aes256gcm16-esn', 'aes128-sha256-modp2048-esn-noesn'. */
export function espSuiteName(s: EspSuite): string {
  const esn = s.esn ? 'esn' : 'noesn';
  const other = s.esn ? 'noesn' : 'esn';
  const parts = [
    s.protection.encryption.name,
    ...(s.protection.integrity === null ? [] : [s.protection.integrity.name]),
    ...(s.dhGroup === null ? [] : [s.dhGroup.name]),
    esn,
    ...(s.esnOnly === true ? [] : [other]),
  ];
  return parts.join('-');
}

const ESP_INTEGRITY: Record<IntegId, EspIntegrity> = {
  [IntegId.HMAC_SHA2_256_128]: 'hmac-sha2-256-128',
  [IntegId.HMAC_SHA2_384_192]: 'hmac-sha2-384-192',
  [IntegId.HMAC_SHA2_512_256]: 'hmac-sha2-512-256',
};

/** One direction's ESP transform; AEAD key material is key ‖ salt (RFC 4106 §8.1, RFC 7634 §2). */
export function espTransformSpec(suite: ProtectionSuite, keys: EspSaKeys): EspTransformSpec {
  if (suite.integrity === null) {
    const key = concat(keys.encryptionKey, keys.salt);
    return suite.encryption.nodeName === 'chacha20-poly1305' ? { encryption: 'chacha20-poly1305', key } : { encryption: 'aes-gcm-16', key };
  }
  return { encryption: 'aes-cbc', key: keys.encryptionKey, integrity: ESP_INTEGRITY[suite.integrity.id], integrityKey: keys.integrityKey };
}
