/**
 * The metrics endpoint: a thin node:http adapter that answers GET /metrics
 * with the exposition text the daemon renders at that moment, and 404 to
 * anything else. It listens on an address from the configuration
 * (`metrics.listen`, e.g. 127.0.0.1:9105). With a bearer token every request
 * must carry it (401 otherwise); without one it listens on loopback only
 * (bearer.ts). No TLS: the token protects against a neighbour on a
 * management network scraping or probing, not against one who sniffs it.
 */
import http from 'node:http';
import { ShoalError } from '../../lib/errors.js';
import { bearerMatches, isLoopback } from './bearer.js';
import { EXPOSITION_CONTENT_TYPE } from './exposition.js';

export interface ListenAddress {
  host: string;
  port: number;
}

export class MetricsServer {
  private constructor(
    private readonly server: http.Server,
    readonly address: ListenAddress,
  ) {}

  /** `token`: what every request must send as `Authorization: Bearer`; required unless `at` is a loopback address. */
  static async listen(at: ListenAddress, render: () => string, token?: string): Promise<MetricsServer> {
    if (token === undefined && !isLoopback(at.host)) {
      throw new ShoalError('METRICS_NO_TOKEN', `metrics: ${at.host} is not a loopback address: serving it needs a bearer token (metrics.bearerTokenFile)`);
    }
    const server = http.createServer((req, res) => {
      if (token !== undefined && !bearerMatches(req.headers.authorization, token)) {
        res.writeHead(401, { 'content-type': 'text/plain; charset=utf-8', 'www-authenticate': 'Bearer realm="shoal metrics"' }).end('unauthorized: send Authorization: Bearer <token>\n');
        return;
      }
      const path = (req.url ?? '').split('?')[0];
      if (req.method !== 'GET' || path !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found: the metrics are at GET /metrics\n');
        return;
      }
      let body: string;
      try {
        body = render();
      } catch (e) {
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`metrics failed: ${e instanceof Error ? e.message : String(e)}\n`);
        return;
      }
      res.writeHead(200, { 'content-type': EXPOSITION_CONTENT_TYPE, 'content-length': Buffer.byteLength(body) }).end(body);
    });
    // A scraper holding connections open must not keep a stopping daemon alive.
    server.keepAliveTimeout = 5000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) =>
        reject(new ShoalError('METRICS_LISTEN', `metrics: cannot listen on ${at.host}:${at.port}: ${e.code ?? e.message}`)),
      );
      server.listen(at.port, at.host, () => resolve());
    });
    const bound = server.address();
    const port = typeof bound === 'object' && bound !== null ? bound.port : at.port;
    return new MetricsServer(server, { host: at.host, port });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
