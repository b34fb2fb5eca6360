/**
 * What every exchange handler of the responder shares: configuration, the
 * injected randomness, the SAs by SPI, the unit-aware allocators, and the
 * outputs/events it produces. Sans-IO: nothing here touches a socket or a
 * clock; `now` is passed in.
 */
import type { AddressPool } from '../../../cluster/session-id.js';
import type { UnitId } from '../../../cluster/types.js';
import type { RandomSource } from '../../../lib/random.js';
import type { Endpoint } from '../../../stack/tunnel-handler.js';
import type { IpsecConfig } from '../config.js';
import type { ClientChainVerifier } from './peer-auth/client-cert.js';
import type { ChildSa, IkeSa } from './ike-sa.js';

export type IkeEventFields = Record<string, string | number | boolean | null>;

export type ResponderOutput =
  /** An IKE message (without the non-ESP marker: the adapter adds it on 4500). */
  | { kind: 'send'; to: Endpoint; localPort: number; message: Uint8Array }
  | { kind: 'child-up'; sa: IkeSa; child: ChildSa }
  | { kind: 'child-down'; sa: IkeSa; child: ChildSa }
  | { kind: 'ike-up'; sa: IkeSa }
  | { kind: 'ike-down'; sa: IkeSa; reason: string }
  | { kind: 'event'; name: string; fields: IkeEventFields };

export interface ResponderDeps {
  config: IpsecConfig;
  random: RandomSource;
  trust: ClientChainVerifier;
  pool: AddressPool;
  /** Wall-clock ms, for certificate validity (the `now` of inputs is monotonic). */
  wallNow(): number;
  /** SHA-1 of each trusted CA's SubjectPublicKeyInfo, concatenated: our CERTREQ (§3.7). */
  certReqAuthorities: Uint8Array;
  /** This member's AEAD IV tag (esp/aead-iv.ts); 0 when absent (a box of its own). */
  ivTag?: number;
}

/** The SAs and allocations of one responder; the exchange handlers read and change it. */
export interface ResponderState {
  /** By our (responder) SPI, hex. */
  readonly sas: Map<string, IkeSa>;
  /** Our inbound ESP SPIs in use (any SA). */
  readonly espSpis: Set<number>;
  counters: Map<string, number>;
}

export interface ExchangeInput {
  now: number;
  unit: UnitId;
  from: Endpoint;
  localPort: number;
}

export function count(state: ResponderState, what: string, n = 1): void {
  state.counters.set(what, (state.counters.get(what) ?? 0) + n);
}
