/** The files a configuration names, which `shoal flash build` carries in the image. */
import { describe, expect, it } from 'vitest';
import { fileRefs } from '../../src/flash/config-files.js';

describe('fileRefs', () => {
  it('carries the metrics bearer token as a secret file, renamed in the image', () => {
    const doc = { metrics: { listen: '0.0.0.0:9105', bearerTokenFile: '/etc/shoal/metrics.token' }, trust: { crl: ['a.crl'] } };
    const refs = fileRefs(doc);
    expect(refs.map((r) => [r.field, r.value, r.name, r.secret])).toEqual([
      ['trust.crl[0]', 'a.crl', 'member-crl-0.crl', false],
      ['metrics.bearerTokenFile', '/etc/shoal/metrics.token', 'metrics-token', true],
    ]);
    refs[1]?.rename('metrics-token');
    expect(doc.metrics.bearerTokenFile).toBe('metrics-token');
  });
});
