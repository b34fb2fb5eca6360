/**
 * IP address text ↔ the bytes an ID payload carries (RFC 7296 §3.5:
 * 4 octets for ID_IPV4_ADDR, 16 for ID_IPV6_ADDR). Parsers return undefined
 * on anything that is not an address, so callers choose how to complain.
 */

const DOTTED = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export function ipv4Bytes(text: string): Uint8Array | undefined {
  const m = DOTTED.exec(text);
  if (m === null) return undefined;
  const octets = m.slice(1).map(Number);
  // Leading zeros are refused: "010" reads as octal to some tools and decimal to others.
  if (octets.some((o) => o > 255) || m.slice(1).some((s) => s.length > 1 && s.startsWith('0'))) return undefined;
  return Uint8Array.from(octets);
}

export function formatIpv4Bytes(b: Uint8Array): string {
  return Array.from(b).join('.');
}

const GROUP = /^[0-9a-fA-F]{1,4}$/;

/** RFC 4291 §2.2 text forms 1 and 2 (no embedded IPv4, no zone). */
export function ipv6Bytes(text: string): Uint8Array | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parse = (s: string): number[] | undefined => {
    if (s === '') return [];
    const groups = s.split(':');
    return groups.every((g) => GROUP.test(g)) ? groups.map((g) => parseInt(g, 16)) : undefined;
  };
  const head = parse(halves[0] ?? '');
  const tail = halves.length === 2 ? parse(halves[1] ?? '') : [];
  if (head === undefined || tail === undefined) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
  return Uint8Array.from(groups.flatMap((g) => [g >> 8, g & 0xff]));
}

/** RFC 5952 §4: lowercase, longest run (≥ 2) of zero groups as "::". */
export function formatIpv6Bytes(b: Uint8Array): string {
  const groups = Array.from({ length: 8 }, (_, i) => ((b[2 * i] ?? 0) << 8) | (b[2 * i + 1] ?? 0));
  let best = { start: -1, length: 0 };
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.length) best = { start: i, length: j - i };
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.length < 2) return hex.join(':');
  return `${hex.slice(0, best.start).join(':')}::${hex.slice(best.start + best.length).join(':')}`;
}
