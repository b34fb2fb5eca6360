/**
 * IKEv2 registry values the codec and the responder name (RFC 7296 §3, the
 * IANA "IKEv2 Parameters" tables as quoted there; RFC 7383 for SKF). Notify
 * message types live in notify.ts, configuration types in cp.ts.
 */

/** Exchange Type (RFC 7296 §3.1). */
export const EXCHANGE = {
  IKE_SA_INIT: 34,
  IKE_AUTH: 35,
  CREATE_CHILD_SA: 36,
  INFORMATIONAL: 37,
} as const;

/** Next Payload / payload type values (RFC 7296 §3.2; SKF from RFC 7383 §2.5). */
export const PAYLOAD = {
  NONE: 0,
  SA: 33,
  KE: 34,
  IDI: 35,
  IDR: 36,
  CERT: 37,
  CERTREQ: 38,
  AUTH: 39,
  NONCE: 40,
  NOTIFY: 41,
  DELETE: 42,
  VENDOR: 43,
  TSI: 44,
  TSR: 45,
  SK: 46,
  CP: 47,
  EAP: 48,
  SKF: 53,
} as const;

/** Protocol ID in proposals, Notify and Delete (RFC 7296 §3.3.1). */
export const PROTOCOL = { IKE: 1, AH: 2, ESP: 3 } as const;

/** Transform Type (RFC 7296 §3.3.2). */
export const TRANSFORM_TYPE = { ENCR: 1, PRF: 2, INTEG: 3, DH: 4, ESN: 5 } as const;

/** Transform IDs for ENCR (type 1). */
export const ENCR = {
  AES_CBC: 12,
  AES_CTR: 13,
  AES_GCM_8: 18,
  AES_GCM_12: 19,
  AES_GCM_16: 20,
  CHACHA20_POLY1305: 28,
} as const;

/** Transform IDs for PRF (type 2). */
export const PRF = { HMAC_SHA1: 2, HMAC_SHA2_256: 5, HMAC_SHA2_384: 6, HMAC_SHA2_512: 7 } as const;

/** Transform IDs for INTEG (type 3). */
export const INTEG = {
  NONE: 0,
  HMAC_SHA1_96: 2,
  HMAC_SHA2_256_128: 12,
  HMAC_SHA2_384_192: 13,
  HMAC_SHA2_512_256: 14,
} as const;

/** Transform IDs for DH (type 4): the groups we name. */
export const DH_GROUP = { MODP_2048: 14, ECP_256: 19, ECP_384: 20, CURVE25519: 31 } as const;

/** Transform IDs for ESN (type 5). */
export const ESN = { NO: 0, YES: 1 } as const;

/** Transform attribute types (RFC 7296 §3.3.5): only Key Length, always TV. */
export const TRANSFORM_ATTRIBUTE = { KEY_LENGTH: 14 } as const;

/** Header flag bits (RFC 7296 §3.1). */
export const HEADER_FLAG = { INITIATOR: 0x08, VERSION: 0x10, RESPONSE: 0x20 } as const;

export const IKE_MAJOR_VERSION = 2;
export const IKE_HEADER_LENGTH = 28;
export const IKE_SPI_LENGTH = 8;
export const GENERIC_PAYLOAD_HEADER_LENGTH = 4;
