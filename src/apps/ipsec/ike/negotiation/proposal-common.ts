/**
 * Transform matching shared by the IKE and ESP proposal selection
 * (RFC 7296 §3.3, §3.3.6). A proposal is judged against one of our suites:
 * every transform type it carries must offer one transform we accept, and a
 * transform with an attribute we do not understand is unacceptable while
 * its siblings of the same type are still considered (§3.3.6).
 */
import { TRANSFORM_ATTRIBUTE } from '../../../../wire/ike/constants.js';
import type { Proposal, SaPayload, Transform } from '../../../../wire/ike/sa.js';

/** Bounds on what we evaluate, so a hostile SA costs little. */
export const MAX_PROPOSALS = 64;
export const MAX_TRANSFORMS = 256;

/** Why an SA is too large to consider, or null. */
export function oversize(sa: SaPayload): string | null {
  if (sa.proposals.length > MAX_PROPOSALS) return `${sa.proposals.length} proposals exceed ${MAX_PROPOSALS}`;
  const transforms = sa.proposals.reduce((n, p) => n + p.transforms.length, 0);
  if (transforms > MAX_TRANSFORMS) return `${transforms} transforms exceed ${MAX_TRANSFORMS}`;
  return null;
}

/**
 * The transform has this type and ID and exactly the Key Length attribute
 * wanted (none when keyBits is undefined): AES must carry it, ChaCha20 and
 * the non-ENCR transforms must not (RFC 7296 §3.3.5, RFC 7634 §4).
 */
export function transformIs(t: Transform, type: number, id: number, keyBits?: number): boolean {
  if (t.type !== type || t.id !== id) return false;
  if (keyBits === undefined) return t.attributes.length === 0;
  if (t.attributes.length !== 1) return false;
  const a = t.attributes[0];
  return a !== undefined && a.format === 'tv' && a.type === TRANSFORM_ATTRIBUTE.KEY_LENGTH && a.value === keyBits;
}

export function offers(p: Proposal, type: number, id: number, keyBits?: number): boolean {
  return p.transforms.some((t) => transformIs(t, type, id, keyBits));
}

export function hasType(p: Proposal, type: number): boolean {
  return p.transforms.some((t) => t.type === type);
}

/** A type absent, or offered only as NONE (ID 0): how AEAD proposals treat INTEG and IKE_AUTH treats D-H. */
export function absentOrNone(p: Proposal, type: number): 'absent' | 'none' | false {
  const ofType = p.transforms.filter((t) => t.type === type);
  if (ofType.length === 0) return 'absent';
  return ofType.some((t) => transformIs(t, type, 0)) ? 'none' : false;
}

/** The first transform type outside `known`, which makes the proposal unacceptable (§3.3.6). */
export function unknownType(p: Proposal, known: readonly number[]): number | undefined {
  return p.transforms.find((t) => !known.includes(t.type))?.type;
}

export function transform(type: number, id: number, keyBits?: number): Transform {
  return {
    type,
    id,
    attributes: keyBits === undefined ? [] : [{ format: 'tv', type: TRANSFORM_ATTRIBUTE.KEY_LENGTH, value: keyBits }],
  };
}

/** "#1 proto 1: 1.20/256 2.5 4.19" (type.id/keylength), bounded for logs. */
export function describeSa(sa: SaPayload): string {
  const shown = sa.proposals.slice(0, 8).map((p) => {
    const ts = p.transforms.slice(0, 32).map((t) => {
      const bits = t.attributes.find((a) => a.type === TRANSFORM_ATTRIBUTE.KEY_LENGTH && a.format === 'tv');
      return `${t.type}.${t.id}${bits !== undefined && bits.format === 'tv' ? `/${bits.value}` : ''}`;
    });
    return `#${p.number} proto ${p.protocolId}: ${ts.join(' ')}`;
  });
  const more = sa.proposals.length > shown.length ? `; +${sa.proposals.length - shown.length} more` : '';
  return shown.join('; ') + more;
}
