/**
 * The daemon side of the admin socket (see protocol.ts). The socket reloads
 * configurations, kills tunnels and makes members leave, so only root and
 * the daemon's own user may use it, whatever the umask:
 *
 *   directory  made 0700 when missing; an existing one must be writable by its owner only (or sticky, like /tmp)
 *              and owned by root or by us, else nobody else could be kept from replacing the socket
 *   socket     bound under umask 0177, then chmod 0600 (others cannot connect)
 *   each peer  SO_PEERCRED (ports/peer-cred-linux.ts): a uid other than 0 or ours is refused, logged with
 *              its uid and pid; a peer whose credentials cannot be read is refused too
 */
import { chmodSync, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import { dirname } from 'node:path';
import { ShoalError } from '../../lib/errors.js';
import { EntryGuard } from '../../lib/guard.js';
import { linuxPeerCred, type PeerCredOf } from '../../ports/peer-cred-linux.js';
import { silentLogger, type Logger } from '../log.js';
import { MAX_REQUEST_BYTES, parseAdminRequest, type AdminReply, type AdminRequest } from './protocol.js';

/** Answers one request; a thrown error (or rejected promise) becomes the one-line error reply. */
export type AdminHandler = (request: AdminRequest) => unknown;

export interface AdminServerOptions {
  /** Where refused peers are logged. */
  logger?: Logger;
  /** How a connection's peer is identified (default: SO_PEERCRED through the native addon). */
  peerCred?: PeerCredOf;
  /** The uid the daemon runs as (default: process.geteuid()); it and root may connect. */
  ownUid?: number;
}

export class AdminServer {
  private constructor(
    private readonly server: net.Server,
    readonly path: string,
  ) {}

  static async listen(path: string, handle: AdminHandler, options: AdminServerOptions = {}): Promise<AdminServer> {
    const ownUid = options.ownUid ?? process.geteuid?.() ?? 0;
    privateDirectory(dirname(path), ownUid);
    // A socket file left by a crashed daemon would make listen fail; a live one would answer.
    if (await isAnswering(path)) throw new ShoalError('ADMIN_SOCKET_IN_USE', `another member already answers on ${path}`);
    rmSync(path, { force: true });
    const peerCred = options.peerCred ?? linuxPeerCred();
    const logger = options.logger ?? silentLogger;
    // A connection and its request are an event-loop entry point: nothing a request does may end the member.
    const guard = new EntryGuard('admin', logger, { now: () => performance.now() });
    const server = net.createServer((conn) => {
      guard.run('connection', () => {
        if (admitted(conn, peerCred, ownUid, logger)) serve(conn, handle, guard);
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      withUmask(0o177, () => server.listen(path, () => resolve()));
    });
    chmodSync(path, 0o600); // explicit, in case the umask could not be set (a worker thread)
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

/** Make `dir` 0700 when it is missing; refuse one that others than its owner could write to. */
function privateDirectory(dir: string, ownUid: number): void {
  if (!existsSync(dir)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700); // mkdir's mode passes through the umask
    return;
  }
  const st = statSync(dir);
  const sticky = (st.mode & 0o1000) !== 0;
  if (st.uid !== 0 && st.uid !== ownUid) {
    throw new ShoalError('ADMIN_SOCKET_DIR', `admin socket directory ${dir} belongs to uid ${st.uid}, who could replace the socket: use a directory of root's or this user's`);
  }
  if ((st.mode & 0o022) !== 0 && !sticky) {
    throw new ShoalError('ADMIN_SOCKET_DIR', `admin socket directory ${dir} is writable by others than its owner (mode ${(st.mode & 0o777).toString(8)}), who could replace the socket: use a private directory (the default is /run/shoal, made 0700)`);
  }
}

/** The socket's mode is fixed at bind(): a narrow umask for that synchronous moment only. */
function withUmask(mask: number, f: () => void): void {
  let old: number | null = null;
  try {
    old = process.umask(mask);
  } catch {
    // worker threads cannot set the umask: the chmod after listen narrows the mode instead
  }
  try {
    f();
  } finally {
    if (old !== null) process.umask(old);
  }
}

/** Root and the daemon's own user only; every refusal is logged with what the kernel says about the peer. */
function admitted(conn: net.Socket, peerCred: PeerCredOf, ownUid: number, logger: Logger): boolean {
  let refusal: string;
  let fields: Record<string, unknown>;
  try {
    const peer = peerCred(conn);
    if (peer.uid === 0 || peer.uid === ownUid) return true;
    refusal = `uid ${peer.uid} may not use the admin socket (only root${ownUid === 0 ? '' : ` and uid ${ownUid}`})`;
    fields = { uid: peer.uid, pid: peer.pid, reason: 'uid-not-allowed' };
  } catch (e) {
    refusal = 'the admin socket could not identify you';
    fields = { reason: 'peer-unknown', error: e instanceof Error ? e.message : String(e) };
  }
  logger.log('warn', 'admin-peer-refused', fields);
  conn.on('error', () => conn.destroy());
  conn.setTimeout(5000, () => conn.destroy());
  conn.resume(); // its request is never read, only drained, so its end is seen and the connection closes
  reply(conn, { ok: false, error: refusal });
  return false;
}

function serve(conn: net.Socket, handle: AdminHandler, guard: EntryGuard): void {
  let buf = '';
  let taken = false; // one request per connection: what follows its line is ignored
  conn.setEncoding('utf8');
  conn.setTimeout(5000, () => conn.destroy());
  conn.on('error', () => conn.destroy());
  const fail = (e: unknown): void => {
    guard.caught('request', e);
    if (!conn.destroyed) guard.run('reply', () => reply(conn, { ok: false, error: `internal error: ${e instanceof Error ? e.message : String(e)}` }));
  };
  conn.on('data', (chunk: string) => {
    try {
      take(chunk);
    } catch (e) {
      fail(e);
    }
  });
  const take = (chunk: string): void => {
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
      )
      // A reply that cannot be encoded (a BigInt, a cycle) must not become an unhandled rejection: those end the process.
      .catch(fail);
  };
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
