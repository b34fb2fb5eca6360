/**
 * SA payloads shaped the way strongSwan 5.9/6.0 sends them: a configured
 * proposal first, then (with the `default` keyword or no `proposals`) its
 * default AEAD proposal and its default classic one, AEAD and non-AEAD kept
 * apart (RFC 7296 §3.3). Transform IDs as in proposal.c's default lists.
 */
import { DH_GROUP, ENCR, ESN, INTEG, PRF, PROTOCOL, TRANSFORM_TYPE } from '../../../../../src/wire/ike/constants.js';
import type { Proposal, SaPayload, Transform } from '../../../../../src/wire/ike/sa.js';

const { ENCR: E, PRF: P, INTEG: I, DH: D, ESN: N } = TRANSFORM_TYPE;
const ENCR_3DES = 3;
const ENCR_CAMELLIA_CBC = 23;
const PRF_AES128_XCBC = 4;
const PRF_AES128_CMAC = 8;
const AUTH_AES_XCBC_96 = 5;
const AUTH_AES_CMAC_96 = 8;
const MODP_1024 = 2;
const ECP_521 = 21;
const CURVE_448 = 32;
const MODP_3072 = 15;
const MODP_4096 = 16;

export function t(type: number, id: number, keyBits?: number): Transform {
  return { type, id, attributes: keyBits === undefined ? [] : [{ format: 'tv', type: 14, value: keyBits }] };
}

export function ikeProposal(number: number, transforms: Transform[]): Proposal {
  return { number, protocolId: PROTOCOL.IKE, spi: new Uint8Array(0), transforms };
}

export function espProposal(number: number, spi: number, transforms: Transform[]): Proposal {
  const bytes = new Uint8Array([spi >>> 24, (spi >>> 16) & 0xff, (spi >>> 8) & 0xff, spi & 0xff]);
  return { number, protocolId: PROTOCOL.ESP, spi: bytes, transforms };
}

/** strongSwan's default group list, ECC first (proposal_add_supported_ike). */
export const DEFAULT_GROUPS = [DH_GROUP.ECP_256, DH_GROUP.ECP_384, ECP_521, DH_GROUP.CURVE25519, CURVE_448, MODP_3072, MODP_4096, DH_GROUP.MODP_2048];

/** The transforms strongSwan builds from a single-suite string (one of each type). */
export const CONFIGURED_IKE: Record<string, Transform[]> = {
  'aes256gcm16-prfsha256-ecp256': [t(E, ENCR.AES_GCM_16, 256), t(P, PRF.HMAC_SHA2_256), t(D, DH_GROUP.ECP_256)],
  'aes128gcm16-prfsha256-x25519': [t(E, ENCR.AES_GCM_16, 128), t(P, PRF.HMAC_SHA2_256), t(D, DH_GROUP.CURVE25519)],
  // strongSwan orders ENCR, INTEG, PRF, DH; the PRF follows the integrity hash.
  'aes256-sha256-modp2048': [t(E, ENCR.AES_CBC, 256), t(I, INTEG.HMAC_SHA2_256_128), t(P, PRF.HMAC_SHA2_256), t(D, DH_GROUP.MODP_2048)],
  'chacha20poly1305-prfsha256-x25519': [t(E, ENCR.CHACHA20_POLY1305), t(P, PRF.HMAC_SHA2_256), t(D, DH_GROUP.CURVE25519)],
};

export function defaultIkeAead(groups: readonly number[] = DEFAULT_GROUPS): Transform[] {
  return [
    t(E, ENCR.AES_GCM_16, 128),
    t(E, ENCR.AES_GCM_16, 192),
    t(E, ENCR.AES_GCM_16, 256),
    t(E, ENCR.CHACHA20_POLY1305),
    t(E, ENCR.AES_GCM_12, 128),
    t(E, ENCR.AES_GCM_8, 256),
    ...[PRF.HMAC_SHA2_256, PRF.HMAC_SHA2_384, PRF.HMAC_SHA2_512, PRF_AES128_XCBC, PRF_AES128_CMAC, PRF.HMAC_SHA1].map((id) => t(P, id)),
    ...groups.map((g) => t(D, g)),
  ];
}

export function defaultIkeClassic(groups: readonly number[] = DEFAULT_GROUPS): Transform[] {
  return [
    ...[128, 192, 256].flatMap((bits) => [t(E, ENCR.AES_CBC, bits), t(E, ENCR.AES_CTR, bits), t(E, ENCR_CAMELLIA_CBC, bits)]),
    t(E, ENCR_3DES),
    ...[INTEG.HMAC_SHA2_256_128, INTEG.HMAC_SHA2_384_192, INTEG.HMAC_SHA2_512_256, AUTH_AES_XCBC_96, AUTH_AES_CMAC_96, INTEG.HMAC_SHA1_96].map((id) => t(I, id)),
    ...[PRF.HMAC_SHA2_256, PRF.HMAC_SHA2_384, PRF.HMAC_SHA2_512, PRF_AES128_XCBC, PRF_AES128_CMAC, PRF.HMAC_SHA1].map((id) => t(P, id)),
    ...groups.map((g) => t(D, g)),
  ];
}

/** `proposals = <name>, default`: the configured suite, then strongSwan's two default proposals. */
export function strongSwanIkeSa(configured?: string): SaPayload {
  const lists = configured === undefined ? [] : [CONFIGURED_IKE[configured] ?? []];
  lists.push(defaultIkeAead(), defaultIkeClassic());
  return { proposals: lists.map((transforms, i) => ikeProposal(i + 1, transforms)) };
}

/** A legacy client allowed nothing we accept: 3DES / aes128-sha1-modp1024. */
export const LEGACY_IKE: SaPayload = {
  proposals: [
    ikeProposal(1, [t(E, ENCR_3DES), t(I, INTEG.HMAC_SHA1_96), t(P, PRF.HMAC_SHA1), t(D, MODP_1024)]),
    ikeProposal(2, [t(E, ENCR.AES_CBC, 128), t(I, INTEG.HMAC_SHA1_96), t(P, PRF.HMAC_SHA1), t(D, MODP_1024)]),
  ],
};

/** strongSwan's ESP transforms for a single-suite esp_proposals string. */
export const CONFIGURED_ESP: Record<string, Transform[]> = {
  aes256gcm16: [t(E, ENCR.AES_GCM_16, 256), t(N, ESN.NO)],
  aes128gcm16: [t(E, ENCR.AES_GCM_16, 128), t(N, ESN.NO)],
  'aes256-sha256': [t(E, ENCR.AES_CBC, 256), t(I, INTEG.HMAC_SHA2_256_128), t(N, ESN.NO)],
  'aes128-sha256': [t(E, ENCR.AES_CBC, 128), t(I, INTEG.HMAC_SHA2_256_128), t(N, ESN.NO)],
  chacha20poly1305: [t(E, ENCR.CHACHA20_POLY1305), t(N, ESN.NO)],
};

export const DEFAULT_ESP_AEAD: Transform[] = [t(E, ENCR.AES_GCM_16, 128), t(E, ENCR.AES_GCM_16, 192), t(E, ENCR.AES_GCM_16, 256), t(N, ESN.NO)];

export const DEFAULT_ESP_CLASSIC: Transform[] = [
  t(E, ENCR.AES_CBC, 128),
  t(E, ENCR.AES_CBC, 192),
  t(E, ENCR.AES_CBC, 256),
  ...[INTEG.HMAC_SHA2_256_128, INTEG.HMAC_SHA2_384_192, INTEG.HMAC_SHA2_512_256, INTEG.HMAC_SHA1_96, AUTH_AES_XCBC_96].map((id) => t(I, id)),
  t(N, ESN.NO),
];

/** IKE_AUTH child SA: `esp_proposals = <name>, default`; strongSwan strips D-H in IKE_AUTH. */
export function strongSwanEspSa(spi: number, configured?: string): SaPayload {
  const lists = configured === undefined ? [] : [CONFIGURED_ESP[configured] ?? []];
  lists.push(DEFAULT_ESP_AEAD, DEFAULT_ESP_CLASSIC);
  return { proposals: lists.map((transforms, i) => espProposal(i + 1, spi, transforms)) };
}
