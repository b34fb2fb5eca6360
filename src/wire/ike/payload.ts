/**
 * The typed payload union and its mapping to and from the raw chain
 * (payload-chain.ts): a payload's `kind` names its type; the body codecs
 * live one per file. Unknown non-critical payloads stay raw ('unknown').
 */
import { PAYLOAD } from './constants.js';
import { encodeAuth, readAuth, type AuthPayload } from './auth.js';
import { encodeCert, readCert, type CertPayload } from './cert.js';
import { encodeCp, readCp, type CpPayload } from './cp.js';
import { encodeDelete, readDelete, type DeletePayload } from './delete.js';
import { MAX_PAYLOAD_BODY, maxLength } from './fields.js';
import { encodeId, readId, type IdPayload } from './id.js';
import { encodeKe, readKe, type KePayload } from './ke.js';
import { encodeNonce, readNonce, type NoncePayload } from './nonce.js';
import { encodeNotify, readNotify, type NotifyPayload } from './notify.js';
import type { RawPayload } from './payload-chain.js';
import { encodeSa, readSa, type SaPayload } from './sa.js';
import { encodeSk, encodeSkf, readSk, readSkf, type SkfPayload, type SkPayload } from './sk.js';
import { encodeTs, readTs, type TsPayload } from './ts.js';
import { encodeVendor, readVendor, type VendorPayload } from './vendor.js';

/** SK and SKF carry the type of the first payload inside the ciphertext (0 in non-first fragments, RFC 7383 §2.5). */
interface Encrypted {
  innerFirst: number;
}

export type IkePayload =
  | ({ kind: 'sa' } & SaPayload)
  | ({ kind: 'ke' } & KePayload)
  | ({ kind: 'idi' } & IdPayload)
  | ({ kind: 'idr' } & IdPayload)
  | ({ kind: 'cert' } & CertPayload)
  | ({ kind: 'certreq' } & CertPayload)
  | ({ kind: 'auth' } & AuthPayload)
  | ({ kind: 'nonce' } & NoncePayload)
  | ({ kind: 'notify' } & NotifyPayload)
  | ({ kind: 'delete' } & DeletePayload)
  | ({ kind: 'vendor' } & VendorPayload)
  | ({ kind: 'tsi' } & TsPayload)
  | ({ kind: 'tsr' } & TsPayload)
  | ({ kind: 'cp' } & CpPayload)
  /** RFC 7296 §3.16: the EAP message, opaque here. */
  | { kind: 'eap'; message: Uint8Array }
  | ({ kind: 'sk' } & SkPayload & Encrypted)
  | ({ kind: 'skf' } & SkfPayload & Encrypted)
  | { kind: 'unknown'; type: number; critical: boolean; body: Uint8Array };

export type PayloadKind = Exclude<IkePayload['kind'], 'unknown'>;

export const PAYLOAD_TYPE: Readonly<Record<PayloadKind, number>> = {
  sa: PAYLOAD.SA,
  ke: PAYLOAD.KE,
  idi: PAYLOAD.IDI,
  idr: PAYLOAD.IDR,
  cert: PAYLOAD.CERT,
  certreq: PAYLOAD.CERTREQ,
  auth: PAYLOAD.AUTH,
  nonce: PAYLOAD.NONCE,
  notify: PAYLOAD.NOTIFY,
  delete: PAYLOAD.DELETE,
  vendor: PAYLOAD.VENDOR,
  tsi: PAYLOAD.TSI,
  tsr: PAYLOAD.TSR,
  cp: PAYLOAD.CP,
  eap: PAYLOAD.EAP,
  sk: PAYLOAD.SK,
  skf: PAYLOAD.SKF,
};

const KNOWN_TYPES: ReadonlySet<number> = new Set(Object.values(PAYLOAD_TYPE));

export function isKnownPayloadType(type: number): boolean {
  return KNOWN_TYPES.has(type);
}

export function payloadTypeOf(p: IkePayload): number {
  return p.kind === 'unknown' ? p.type : PAYLOAD_TYPE[p.kind];
}

/** The typed payload of a raw one; throws DecodeError (callers run inside decodeSafely). */
export function readPayload(raw: RawPayload): IkePayload {
  const b = raw.body;
  switch (raw.type) {
    case PAYLOAD.SA: return { kind: 'sa', ...readSa(b) };
    case PAYLOAD.KE: return { kind: 'ke', ...readKe(b) };
    case PAYLOAD.IDI: return { kind: 'idi', ...readId(b) };
    case PAYLOAD.IDR: return { kind: 'idr', ...readId(b) };
    case PAYLOAD.CERT: return { kind: 'cert', ...readCert(b) };
    case PAYLOAD.CERTREQ: return { kind: 'certreq', ...readCert(b) };
    case PAYLOAD.AUTH: return { kind: 'auth', ...readAuth(b) };
    case PAYLOAD.NONCE: return { kind: 'nonce', ...readNonce(b) };
    case PAYLOAD.NOTIFY: return { kind: 'notify', ...readNotify(b) };
    case PAYLOAD.DELETE: return { kind: 'delete', ...readDelete(b) };
    case PAYLOAD.VENDOR: return { kind: 'vendor', ...readVendor(b) };
    case PAYLOAD.TSI: return { kind: 'tsi', ...readTs(b) };
    case PAYLOAD.TSR: return { kind: 'tsr', ...readTs(b) };
    case PAYLOAD.CP: return { kind: 'cp', ...readCp(b) };
    case PAYLOAD.EAP: return { kind: 'eap', message: b };
    case PAYLOAD.SK: return { kind: 'sk', innerFirst: raw.nextType, ...readSk(b) };
    case PAYLOAD.SKF: return { kind: 'skf', innerFirst: raw.nextType, ...readSkf(b) };
    default: return { kind: 'unknown', type: raw.type, critical: raw.critical, body: b };
  }
}

function bodyOf(p: IkePayload): Uint8Array {
  switch (p.kind) {
    case 'sa': return encodeSa(p);
    case 'ke': return encodeKe(p);
    case 'idi':
    case 'idr': return encodeId(p);
    case 'cert':
    case 'certreq': return encodeCert(p);
    case 'auth': return encodeAuth(p);
    case 'nonce': return encodeNonce(p);
    case 'notify': return encodeNotify(p);
    case 'delete': return encodeDelete(p);
    case 'vendor': return encodeVendor(p);
    case 'tsi':
    case 'tsr': return encodeTs(p);
    case 'cp': return encodeCp(p);
    case 'eap': return maxLength(p.message, MAX_PAYLOAD_BODY, 'EAP message');
    case 'sk': return encodeSk(p);
    case 'skf': return encodeSkf(p);
    case 'unknown':
      if (isKnownPayloadType(p.type)) throw new RangeError(`payload type ${p.type} is known: use its kind`);
      return p.body;
  }
}

/** The raw form for writePayloadChain; known payloads are sent with the critical bit clear (§3.2). */
export function toRawPayload(p: IkePayload): RawPayload {
  const nextType = p.kind === 'sk' || p.kind === 'skf' ? p.innerFirst : 0;
  return { type: payloadTypeOf(p), critical: p.kind === 'unknown' && p.critical, nextType, body: bodyOf(p) };
}
