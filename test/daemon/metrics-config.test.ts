/** The daemon configuration's "metrics" section: off when absent, "address:port" when present, one-line errors otherwise. */
import { describe, expect, it } from 'vitest';
import { parseDaemonConfig } from '../../src/daemon/config.js';

const BASE = {
  cluster: { name: 'lab' },
  member: { address: '198.18.3.11', certificate: 'm1.pem', key: 'm1.key' },
  trust: { ca: ['ca.pem'] },
};

const parse = (metrics: unknown) => parseDaemonConfig({ ...BASE, metrics }, (p) => p);

describe('config metrics', () => {
  it('is off when absent', () => {
    expect(parseDaemonConfig(BASE, (p) => p).metrics).toBeUndefined();
  });

  it('listen "address:port" gives the host and port', () => {
    expect(parse({ listen: '127.0.0.1:9105' }).metrics).toEqual({ host: '127.0.0.1', port: 9105 });
  });

  it('refuses what is not an IPv4 address and a port, or unknown settings, naming the field', () => {
    const cases: [unknown, string][] = [
      [{ listen: '127.0.0.1' }, "config: metrics.listen: '127.0.0.1' is not an address:port like 127.0.0.1:9105"],
      [{ listen: '127.0.0.1:0' }, "config: metrics.listen: '127.0.0.1:0' is not an address:port like 127.0.0.1:9105"],
      [{ listen: '127.0.0.1:65536' }, "config: metrics.listen: '127.0.0.1:65536' is not an address:port like 127.0.0.1:9105"],
      [{ listen: 'localhost:9105' }, "config: metrics.listen: 'localhost' is not an IPv4 address"],
      [{ listen: 9105 }, 'config: metrics.listen: must be a non-empty string'],
      [{}, 'config: metrics.listen: must be a non-empty string'],
      [{ listen: '127.0.0.1:9105', path: '/m' }, 'config: metrics.path: unknown setting (known: listen)'],
      ['127.0.0.1:9105', 'config: metrics: must be an object'],
    ];
    for (const [metrics, message] of cases) expect(() => parse(metrics), JSON.stringify(metrics)).toThrow(message);
  });
});
