/**
 * The master's join check for IV tags: a joiner whose tag (the low 16 bits of
 * its address, esp/aead-iv.ts) a current member holds is refused with a
 * reason naming that member; a distinct tag, or the same member rejoining, is not.
 */
import { describe, expect, it } from 'vitest';
import type { JoinCandidate } from '../../../src/apps/application.js';
import { IpsecApp } from '../../../src/apps/ipsec/ipsec-app.js';
import type { IpsecHandler } from '../../../src/apps/ipsec/ipsec-handler.js';
import { parseIpv4 } from '../../../src/lib/ipv4.js';

const candidate = (address: string): JoinCandidate => ({ memberId: parseIpv4(address), subject: address, configVersion: 1, served: [] });

describe('IpsecApp: IV tags are unique among members', () => {
  // approveJoin reads only the member list: no handler is reached
  const app = new IpsecApp(null as unknown as IpsecHandler, { records: () => [] }, () => 0);
  app.membersChanged([], [], [parseIpv4('198.18.0.1'), parseIpv4('198.18.0.2')]);

  it('refuses a joiner whose low 16 address bits a member already has, naming it', () => {
    const a = app.approveJoin(candidate('198.19.0.2'));
    expect(a.approve).toBe(false);
    if (!a.approve) expect(a.reason).toContain('198.18.0.2');
  });

  it('admits a distinct tag and the same member rejoining', () => {
    expect(app.approveJoin(candidate('198.18.0.3')).approve).toBe(true);
    expect(app.approveJoin(candidate('198.18.0.2')).approve).toBe(true);
  });
});
