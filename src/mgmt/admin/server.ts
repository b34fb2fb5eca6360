/** The daemon side of the admin socket (see protocol.ts). */
import { mkdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import { dirname } from 'node:path';
import { ShoalError } from '../../lib/errors.js';
import { MAX_REQUEST_BYTES, parseAdminRequest, type AdminReply, type AdminRequest } from './protocol.js';

/** Answers one request; a thrown error (or rejected promise) becomes the one-line error reply. */
export type AdminHandler = (request: AdminRequest) => unknown;

export class AdminServer {
  private constructor(
    private readonly server: net.Server,
    readonly path: string,
  ) {}

  static async listen(path: string, handle: AdminHandler): Promise<AdminServer> {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    // A socket file left by a crashed daemon would make listen fail; a live one would answer.
    if (await isAnswering(path)) throw new ShoalError('ADMIN_SOCKET_IN_USE', `another member already answers on ${path}`);
    rmSync(path, { force: true });
    const server = net.createServer((conn) => serve(conn, handle));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => resolve());
    });
    return new AdminServer(server, path);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => {
        rmSync(this.path, { force: true });
        resolve();
      });
    });
  }
}

function serve(conn: net.Socket, handle: AdminHandler): void {
  let buf = '';
  let taken = false; // one request per connection: what follows its line is ignored
  conn.setEncoding('utf8');
  conn.setTimeout(5000, () => conn.destroy());
  conn.on('error', () => conn.destroy());
  conn.on('data', (chunk: string) => {
    if (taken) return;
    buf += chunk;
    if (buf.length > MAX_REQUEST_BYTES) {
      taken = true;
      return reply(conn, { ok: false, error: 'request too large' });
    }
    const nl = buf.indexOf('\n');
    if (nl < 0) return;
    taken = true;
    const parsed = parseAdminRequest(buf.slice(0, nl));
    if (!parsed.ok) return reply(conn, { ok: false, error: parsed.error });
    Promise.resolve()
      .then(() => handle(parsed.request))
      .then(
        (result) => reply(conn, { ok: true, result }),
        (e: unknown) => reply(conn, { ok: false, error: e instanceof Error ? e.message : String(e) }),
      );
  });
}

function reply(conn: net.Socket, r: AdminReply): void {
  conn.end(`${JSON.stringify(r)}\n`);
}

function isAnswering(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(path);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}
