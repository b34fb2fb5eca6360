/** The daemon configuration's "metrics" section: off when absent, "address:port" when present, a bearer token off loopback, one-line errors otherwise. */
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
      [{ listen: '127.0.0.1:9105', path: '/m' }, 'config: metrics.path: unknown setting (known: listen, bearerTokenFile)'],
      [{ listen: '127.0.0.1:9105', bearerTokenFile: '' }, 'config: metrics.bearerTokenFile: must be a non-empty string'],
      ['127.0.0.1:9105', 'config: metrics: must be an object'],
    ];
    for (const [metrics, message] of cases) expect(() => parse(metrics), JSON.stringify(metrics)).toThrow(message);
  });

  it('refuses an address off loopback without a bearer token file, naming the remedy', () => {
    for (const host of ['0.0.0.0', '198.18.3.11']) {
      expect(() => parse({ listen: `${host}:9105` }), host).toThrow(
        `config: metrics.listen: '${host}' is not a loopback address: set metrics.bearerTokenFile (a file holding the token scrapers send), or listen on 127.0.0.1`,
      );
    }
  });

  it('takes an address off loopback with a bearer token file, resolved like every path; loopback may have one too', () => {
    const resolve = (p: string) => `/etc/shoal/${p}`;
    expect(parseDaemonConfig({ ...BASE, metrics: { listen: '0.0.0.0:9105', bearerTokenFile: 'metrics.token' } }, resolve).metrics).toEqual({
      host: '0.0.0.0',
      port: 9105,
      bearerTokenFile: '/etc/shoal/metrics.token',
    });
    expect(parse({ listen: '127.0.0.2:9105', bearerTokenFile: 't' }).metrics).toEqual({ host: '127.0.0.2', port: 9105, bearerTokenFile: 't' });
  });
});
