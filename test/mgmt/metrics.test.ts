/**
 * The metrics: the exposition formatter (HELP/TYPE lines, label escaping,
 * special values, name checks), a member's metric families from its views,
 * the counters view they read, and the HTTP adapter (GET /metrics, 404 else).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { countersView, type CountersView } from '../../src/mgmt/admin/counters-view.js';
import type { MemberView, StatusView } from '../../src/mgmt/admin/views.js';
import { EXPOSITION_CONTENT_TYPE, escapeLabelValue, formatExposition } from '../../src/mgmt/metrics/exposition.js';
import { readBearerToken } from '../../src/mgmt/metrics/bearer.js';
import { MetricsServer } from '../../src/mgmt/metrics/http.js';
import { shoalMetrics } from '../../src/mgmt/metrics/shoal-metrics.js';

describe('formatExposition', () => {
  it('writes HELP and TYPE before each family, labels in braces, and ends with a newline', () => {
    const text = formatExposition([
      { name: 'a_total', help: 'Things.', type: 'counter', samples: [{ value: 3 }] },
      { name: 'b', help: 'Per side.', type: 'gauge', samples: [{ labels: { side: 'outer', dir: 'rx' }, value: 1.5 }] },
    ]);
    expect(text).toBe('# HELP a_total Things.\n# TYPE a_total counter\na_total 3\n# HELP b Per side.\n# TYPE b gauge\nb{side="outer",dir="rx"} 1.5\n');
  });

  it('escapes backslash, double quote and newline in label values, backslash and newline in HELP', () => {
    expect(escapeLabelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
    const text = formatExposition([{ name: 'x', help: 'one\\two\nthree "q"', type: 'gauge', samples: [{ labels: { reason: 'say "hi"\\\n' }, value: 1 }] }]);
    expect(text.split('\n')).toEqual(['# HELP x one\\\\two\\nthree "q"', '# TYPE x gauge', 'x{reason="say \\"hi\\"\\\\\\n"} 1', '']);
  });

  it('writes NaN and the infinities as Prometheus reads them', () => {
    const text = formatExposition([{ name: 'v', help: 'h', type: 'gauge', samples: [{ value: NaN }, { value: Infinity }, { value: -Infinity }] }]);
    expect(text).toContain('v NaN\nv +Inf\nv -Inf\n');
  });

  it('a family without samples still has its HELP and TYPE; nothing at all is the empty body', () => {
    expect(formatExposition([{ name: 'none_total', help: 'h', type: 'counter', samples: [] }])).toBe('# HELP none_total h\n# TYPE none_total counter\n');
    expect(formatExposition([])).toBe('');
  });

  it('refuses bad metric and label names, reserved labels and a family twice', () => {
    expect(() => formatExposition([{ name: 'bad-name', help: '', type: 'gauge', samples: [] }])).toThrow(/bad metric name/);
    expect(() => formatExposition([{ name: 'ok', help: '', type: 'gauge', samples: [{ labels: { 'bad-label': 'x' }, value: 1 }] }])).toThrow(/bad label name/);
    expect(() => formatExposition([{ name: 'ok', help: '', type: 'gauge', samples: [{ labels: { __name__: 'x' }, value: 1 }] }])).toThrow(/bad label name/);
    const f = { name: 'twice', help: '', type: 'gauge' as const, samples: [] };
    expect(() => formatExposition([f, f])).toThrow(/appears twice/);
  });
});

describe('countersView', () => {
  it('sorts drops by layer and reason from every layer, leaves out zeros and non-drops', () => {
    const v = countersView({
      traffic: [{ side: 'outer', rxPackets: 10, rxBytes: 1000, txPackets: 8, txBytes: 800 }],
      host: { 'drop.not-mine': 4, mine: 99, 'drop.malformed-ip': 1, 'tx.dropped': 2, 'drop.hairpin': 0 },
      ipsec: new Map([
        ['esp.in', 7],
        ['esp.out', 6],
        ['esp.drop.bad-icv', 3],
        ['ike.drop.unknown-spi', 2],
        ['esp.out-failed.lifetime-expired', 1],
        ['ike.removed.idle', 5],
      ]),
      control: { 'drop.not-for-me': 12, accepted: 40 },
      failovers: 17,
      replication: { ready: true, backlog: 2, records: 30 },
    });
    expect(v.drops).toEqual([
      { layer: 'control', reason: 'not-for-me', count: 12 },
      { layer: 'esp', reason: 'bad-icv', count: 3 },
      { layer: 'esp', reason: 'out-failed-lifetime-expired', count: 1 },
      { layer: 'host', reason: 'malformed-ip', count: 1 },
      { layer: 'host', reason: 'not-mine', count: 4 },
      { layer: 'ike', reason: 'unknown-spi', count: 2 },
      { layer: 'tap', reason: 'tx-refused', count: 2 },
    ]);
    expect(v.esp).toEqual({ in: 7, out: 6 });
    expect(v.failovers).toBe(17);
    expect(v.replication).toEqual({ ready: true, backlog: 2, records: 30 });
  });

  it('a member without a data plane or IPsec has no traffic, no ESP and only control drops', () => {
    const v = countersView({ traffic: [], host: null, ipsec: null, control: { 'drop.replayed': 1 }, failovers: 0, replication: { ready: false, backlog: 0, records: 0 } });
    expect(v).toEqual({ traffic: [], esp: { in: 0, out: 0 }, drops: [{ layer: 'control', reason: 'replayed', count: 1 }], failovers: 0, replication: { ready: false, backlog: 0, records: 0 } });
  });
});

const STATUS: StatusView = {
  cluster: 'lab-x',
  self: '198.18.3.11',
  role: 'master',
  master: '198.18.3.11',
  term: 2,
  members: 2,
  n: 2,
  servedUnits: 512,
  keyEpoch: 1,
  counters: {},
  configVersion: 1,
  excluded: null,
};
const MEMBERS: MemberView[] = [
  { address: '198.18.3.11', role: 'master', self: true, units: 512, loss: 0 },
  { address: '198.18.3.12', role: 'member', self: false, units: 512, loss: 0.01 },
];
const COUNTERS: CountersView = {
  traffic: [
    { side: 'outer', rxPackets: 5, rxBytes: 500, txPackets: 4, txBytes: 400 },
    { side: 'inner', rxPackets: 3, rxBytes: 300, txPackets: 2, txBytes: 200 },
  ],
  esp: { in: 9, out: 8 },
  drops: [{ layer: 'host', reason: 'not-mine', count: 6 }],
  failovers: 3,
  replication: { ready: true, backlog: 1, records: 4 },
};

/** The value of one sample line (`name{labels} value`) in an exposition body. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('shoalMetrics', () => {
  const text = formatExposition(shoalMetrics({ status: STATUS, members: MEMBERS, counters: COUNTERS, tunnels: { ike: 7, child: 9 }, eventLoop: { p99Ms: 12.5, maxMs: 40 } }));

  it('exposes members, units per member, served units, role and tunnels', () => {
    expect(sample(text, 'shoal_members')).toBe(2);
    expect(sample(text, 'shoal_member_units{member="198.18.3.11",role="master"}')).toBe(512);
    expect(sample(text, 'shoal_member_units{member="198.18.3.12",role="member"}')).toBe(512);
    expect(sample(text, 'shoal_served_units')).toBe(512);
    expect(sample(text, 'shoal_role{role="master"}')).toBe(1);
    expect(sample(text, 'shoal_role{role="member"}')).toBe(0);
    expect(sample(text, 'shoal_ike_sas')).toBe(7);
    expect(sample(text, 'shoal_child_sas')).toBe(9);
  });

  it('exposes traffic per side and direction, ESP, drops by reason, failovers, backlog and event-loop delay', () => {
    expect(sample(text, 'shoal_packets_total{side="outer",direction="rx"}')).toBe(5);
    expect(sample(text, 'shoal_bytes_total{side="inner",direction="tx"}')).toBe(200);
    expect(sample(text, 'shoal_esp_packets_total{direction="in"}')).toBe(9);
    expect(sample(text, 'shoal_drops_total{layer="host",reason="not-mine"}')).toBe(6);
    expect(sample(text, 'shoal_failovers_total')).toBe(3);
    expect(sample(text, 'shoal_replication_backlog')).toBe(1);
    expect(sample(text, 'shoal_event_loop_delay_seconds{stat="p99"}')).toBe(0.0125);
    expect(text).toContain('# TYPE shoal_drops_total counter\n');
    expect(text).toContain('# TYPE shoal_members gauge\n');
  });
});

describe('MetricsServer', () => {
  let server: MetricsServer | null = null;
  afterEach(async () => {
    await server?.close();
    server = null;
  });

  it('answers GET /metrics with the rendered text and the exposition content type; 404 for anything else', async () => {
    let renders = 0;
    server = await MetricsServer.listen({ host: '127.0.0.1', port: 0 }, () => `# HELP up h\n# TYPE up gauge\nup ${++renders}\n`);
    const base = `http://127.0.0.1:${server.address.port}`;
    const r = await fetch(`${base}/metrics`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe(EXPOSITION_CONTENT_TYPE);
    expect(await r.text()).toBe('# HELP up h\n# TYPE up gauge\nup 1\n');
    expect(await (await fetch(`${base}/metrics?x=1`)).text()).toContain('up 2');
    for (const [path, method] of [['/', 'GET'], ['/metrics/x', 'GET'], ['/metrics', 'POST'], ['/favicon.ico', 'GET']] as const) {
      const res = await fetch(`${base}${path}`, { method });
      expect(res.status, `${method} ${path}`).toBe(404);
      await res.text();
    }
  });

  it('with a bearer token, answers only a request that carries it (401 with WWW-Authenticate otherwise)', async () => {
    const token = 'k3y-0f-at-least-16.chars';
    server = await MetricsServer.listen({ host: '127.0.0.1', port: 0 }, () => 'up 1\n', token);
    const url = `http://127.0.0.1:${server.address.port}/metrics`;
    for (const authorization of [undefined, 'Bearer wrong-token-of-some-length', `Basic ${token}`, `Bearer ${token}x`, 'Bearer ']) {
      const r = await fetch(url, authorization === undefined ? {} : { headers: { authorization } });
      expect(r.status, String(authorization)).toBe(401);
      expect(r.headers.get('www-authenticate')).toBe('Bearer realm="shoal metrics"');
      expect(await r.text()).not.toContain('up 1');
    }
    const ok = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('up 1\n');
  });

  it('refuses to listen off loopback without a bearer token, before binding anything', async () => {
    await expect(MetricsServer.listen({ host: '0.0.0.0', port: 0 }, () => '')).rejects.toMatchObject({
      code: 'METRICS_NO_TOKEN',
      message: 'metrics: 0.0.0.0 is not a loopback address: serving it needs a bearer token (metrics.bearerTokenFile)',
    });
  });

  it('a port in use is a one-line METRICS_LISTEN error', async () => {
    server = await MetricsServer.listen({ host: '127.0.0.1', port: 0 }, () => '');
    await expect(MetricsServer.listen({ host: '127.0.0.1', port: server.address.port }, () => '')).rejects.toMatchObject({ code: 'METRICS_LISTEN', message: `metrics: cannot listen on 127.0.0.1:${server.address.port}: EADDRINUSE` });
  });
});

describe('readBearerToken', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const file = (text: string): string => {
    dir = mkdtempSync(join(tmpdir(), 'shoal-token-'));
    const f = join(dir, 'metrics.token');
    writeFileSync(f, text, { mode: 0o600 });
    return f;
  };

  it('reads one token, a final newline ignored', () => {
    expect(readBearerToken(file('abcdefghijklmnop-1234\n'))).toBe('abcdefghijklmnop-1234');
  });

  it('refuses a missing file, a short token and anything but one token, each in one line naming the setting', () => {
    expect(() => readBearerToken('/nonexistent/metrics.token')).toThrow('metrics.bearerTokenFile: cannot read /nonexistent/metrics.token: ENOENT');
    const short = file('short\n');
    expect(() => readBearerToken(short)).toThrow(`metrics.bearerTokenFile: the token in ${short} has 5 characters; use at least 16`);
    rmSync(dir, { recursive: true });
    const two = file('abcdefghijklmnop\nqrstuvwxyz012345\n');
    expect(() => readBearerToken(two)).toThrow(`metrics.bearerTokenFile: ${two} must hold one token of letters, digits and -._~+/ (nothing else)`);
  });
});
