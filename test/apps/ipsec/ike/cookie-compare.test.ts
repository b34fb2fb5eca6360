/**
 * Regression (issue 11): cookies were compared with Buffer.compare, which
 * stops at the first differing byte. The check must go through
 * crypto.timingSafeEqual, for a forged cookie and for a good one alike.
 */
import type * as NodeCrypto from 'node:crypto';
import { beforeEach, describe, expect, it, vi } from 'vitest';

const compared = vi.hoisted(() => ({ calls: [] as [Uint8Array, Uint8Array][] }));
vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof NodeCrypto>();
  return {
    ...real,
    timingSafeEqual: (a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView): boolean => {
      compared.calls.push([new Uint8Array(a.buffer, a.byteOffset, a.byteLength), new Uint8Array(b.buffer, b.byteOffset, b.byteLength)]);
      return real.timingSafeEqual(a, b);
    },
  };
});

const { CookieJar } = await import('../../../../src/apps/ipsec/ike/sa-init.js');
const { SeededRandom } = await import('../../../../src/lib/random.js');

describe('CookieJar.check', () => {
  beforeEach(() => {
    compared.calls = [];
  });

  it('compares a good and a forged cookie in constant time, and still tells them apart', () => {
    const jar = new CookieJar(new SeededRandom(7));
    const from = { ip: 0xc6120001, port: 500 };
    const nonce = new Uint8Array(32).fill(3);
    const spiI = new Uint8Array(8).fill(9);
    const cookie = jar.issue(0, nonce, from, spiI);
    expect(jar.check(1, cookie, nonce, from, spiI)).toBe(true);
    const forged = cookie.slice();
    forged[16] = forged[16]! ^ 1;
    expect(jar.check(1, forged, nonce, from, spiI)).toBe(false);
    expect(compared.calls).toHaveLength(2);
    expect(compared.calls[0]![0]).toEqual(cookie);
    expect(compared.calls[1]![0]).toEqual(forged);
    // A cookie of the wrong length is refused before any comparison (timingSafeEqual needs equal lengths).
    expect(jar.check(1, cookie.subarray(0, 16), nonce, from, spiI)).toBe(false);
    expect(compared.calls).toHaveLength(2);
  });
});
