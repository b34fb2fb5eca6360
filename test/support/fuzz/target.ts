/**
 * What a fuzz target is, and the one check every decoder target makes:
 *
 *   input ─► decode ─┬─ refused: a DecodeError (never another exception, never one
 *                    │           decodeSafely made out of a decoder's own bug)
 *                    └─ decoded ─► encode ─► decode again ─► the same value
 *
 * A broken property is thrown as a FuzzFinding naming the target, the input
 * (hex) and what broke; the runner stops at the first one.
 */
import { isDeepStrictEqual } from 'node:util';
import { DecodeError, type Decoded } from '../../../src/wire/decode-error.js';

export type Outcome = 'decoded' | 'refused';

export interface FuzzTarget {
  name: string;
  /** Valid encodings (and real captures) the mutator starts from; built once per run, seeded. */
  corpus(seed: number): Uint8Array[] | Promise<Uint8Array[]>;
  /** Runs one input; throws FuzzFinding when a property breaks. */
  check(input: Uint8Array): Outcome;
}

export class FuzzFinding extends Error {
  constructor(
    readonly target: string,
    readonly input: Uint8Array,
    what: string,
    options?: ErrorOptions,
  ) {
    super(`${target}: ${what} (input ${input.length} bytes: ${Buffer.from(input.subarray(0, 256)).toString('hex')}${input.length > 256 ? '…' : ''})`, options);
    this.name = 'FuzzFinding';
  }
}

/** A refusal must be a DecodeError of the decoder's own making. */
export function checkRefusal(target: string, input: Uint8Array, error: unknown): Outcome {
  if (!(error instanceof DecodeError)) throw new FuzzFinding(target, input, `threw ${String(error)}`, { cause: error });
  if (error.cause !== undefined) throw new FuzzFinding(target, input, `decoder bug caught by decodeSafely: ${error.message}`, { cause: error.cause });
  return 'refused';
}

/**
 * A codec whose decoder returns Decoded<T>: refusals typed, and what decodes
 * re-encodes to bytes that decode to the same value.
 */
export function codecTarget<T>(
  name: string,
  corpus: (seed: number) => Uint8Array[] | Promise<Uint8Array[]>,
  decode: (bytes: Uint8Array) => Decoded<T>,
  encode: (value: T) => Uint8Array,
  /** The decoder's domain: longer inputs cannot reach it (an IKE payload body is at most 65531 bytes) and are cut to this. */
  maxInput = Infinity,
): FuzzTarget {
  return {
    name,
    corpus,
    check(whole) {
      const input = whole.length > maxInput ? whole.subarray(0, maxInput) : whole;
      let d: Decoded<T>;
      try {
        d = decode(input);
      } catch (e) {
        throw new FuzzFinding(name, input, `decode threw ${String(e)}`, { cause: e });
      }
      if (!d.ok) return checkRefusal(name, input, d.error);
      let again: Uint8Array;
      try {
        again = encode(d.value);
      } catch (e) {
        throw new FuzzFinding(name, input, `encode refused what decode accepted: ${String(e)}`, { cause: e });
      }
      // Most codecs are canonical: the same bytes back prove the round trip without a second decode.
      if (Buffer.from(again.buffer, again.byteOffset, again.length).equals(input)) return 'decoded';
      const d2 = decode(again);
      if (!d2.ok) throw new FuzzFinding(name, input, `re-encoded value does not decode: ${d2.error.message}`);
      if (!isDeepStrictEqual(comparable(d2.value), comparable(d.value))) throw new FuzzFinding(name, input, 'round trip changed the value');
      return 'decoded';
    },
  };
}

/** Byte views compare by content whatever buffer they view. */
function comparable(v: unknown): unknown {
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  if (Array.isArray(v)) return v.map(comparable);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, comparable(x)]));
  return v;
}
