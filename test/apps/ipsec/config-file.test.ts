/**
 * The "ipsec" config section (issue 11): a pre-shared key shorter than
 * MIN_PSK_BYTES is refused at load with one line naming its identity (a
 * 1-byte key used to be accepted as hex); caps parse with their bounds.
 */
import { describe, expect, it } from 'vitest';
import { IPSEC_LIMITS } from '../../../src/apps/ipsec/config.js';
import { MIN_PSK_BYTES, parseIpsecSection } from '../../../src/apps/ipsec/config-file.js';
import { MAX_NARROWED_SELECTORS } from '../../../src/apps/ipsec/ike/negotiation/traffic-selectors.js';
import { ShoalError } from '../../../src/lib/errors.js';

const base = { certificate: 'vpn.pem', key: 'vpn.key', clientCa: ['ca.pem'] };
const parse = (more: Record<string, unknown>) => parseIpsecSection({ ...base, ...more }, (p) => `/etc/shoal/${p}`);

/** The one-line message a bad section is refused with. */
function refusal(more: Record<string, unknown>): string {
  try {
    parse(more);
  } catch (e) {
    expect(e).toBeInstanceOf(ShoalError);
    expect((e as ShoalError).code).toBe('BAD_CONFIG');
    return (e as Error).message;
  }
  throw new Error('accepted');
}

describe('pre-shared keys', () => {
  const psk = (secret: string) => ({ psk: [{ identity: 'fqdn:road1.shoal.test', secret }] });

  it(`${MIN_PSK_BYTES} bytes are taken, as text or hex`, () => {
    expect(parse(psk('x'.repeat(MIN_PSK_BYTES))).psk[0]!.secret).toHaveLength(MIN_PSK_BYTES);
    expect(parse(psk(`0x${'ab'.repeat(MIN_PSK_BYTES)}`)).psk[0]!.secret).toHaveLength(MIN_PSK_BYTES);
  });

  it('one byte fewer, a 1-byte hex key or a short multi-byte text: refused with one line naming the identity', () => {
    for (const secret of ['x'.repeat(MIN_PSK_BYTES - 1), '0x01', 'päßwörd']) {
      const message = refusal(psk(secret));
      expect(message).not.toContain('\n');
      expect(message).toContain('ipsec.psk[0].secret');
      expect(message).toContain('fqdn:road1.shoal.test');
      expect(message).not.toContain(secret);
    }
  });
});

describe('limits', () => {
  it('defaults when absent; each may be set; unknown names and out-of-range values are refused', () => {
    expect(parse({}).limits).toEqual(IPSEC_LIMITS);
    expect(parse({ limits: { childSas: 4, halfOpenPerSource: 2 } }).limits).toEqual({ ...IPSEC_LIMITS, childSas: 4, halfOpenPerSource: 2 });
    expect(refusal({ limits: { childSa: 4 } })).toContain('ipsec.limits.childSa: unknown setting');
    expect(refusal({ limits: { childSas: 255 } })).toContain('ipsec.limits.childSas');
    expect(refusal({ limits: { halfOpen: 0 } })).toContain('ipsec.limits.halfOpen');
  });

  it(`at most ${MAX_NARROWED_SELECTORS} protected networks (each is one TSr selector)`, () => {
    const nets = (n: number) => Array.from({ length: n }, (_, i) => `10.${i}.0.0/16`);
    expect(parse({ protectedNetworks: nets(MAX_NARROWED_SELECTORS) }).protectedNetworks).toHaveLength(MAX_NARROWED_SELECTORS);
    expect(refusal({ protectedNetworks: nets(MAX_NARROWED_SELECTORS + 1) })).toContain('ipsec.protectedNetworks');
  });
});
