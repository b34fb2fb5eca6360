/**
 * The metrics endpoint: a thin node:http adapter that answers GET /metrics
 * with the exposition text the daemon renders at that moment, and 404 to
 * anything else. It listens on a local address from the configuration
 * (`metrics.listen`, e.g. 127.0.0.1:9105); no TLS, no authentication, so
 * it is meant for a loopback or management address.
 */
import http from 'node:http';
import { ShoalError } from '../../lib/errors.js';
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

  static async listen(at: ListenAddress, render: () => string): Promise<MetricsServer> {
    const server = http.createServer((req, res) => {
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
