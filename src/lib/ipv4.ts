import { ShoalError } from './errors.js';

/** An IPv4 address as an unsigned 32-bit integer (network order value). */
export type Ipv4 = number;

const DOTTED = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export function parseIpv4(text: string): Ipv4 {
  const m = DOTTED.exec(text.trim());
  if (!m) throw new ShoalError('BAD_IPV4', `not an IPv4 address: '${text}'`);
  let v = 0;
  for (let i = 1; i <= 4; i++) {
    const octet = Number(m[i]);
    if (octet > 255) throw new ShoalError('BAD_IPV4', `not an IPv4 address: '${text}'`);
    v = v * 256 + octet;
  }
  return v >>> 0;
}

export function formatIpv4(v: Ipv4): string {
  return `${v >>> 24}.${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff}.${v & 0xff}`;
}
