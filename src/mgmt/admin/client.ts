/** The CLI side of the admin socket: one request, one answer, clear errors when no member runs. */
import net from 'node:net';
import { ShoalError } from '../../lib/errors.js';
import { encodeAdminRequest, type AdminReply, type AdminRequest, type PlainCommand } from './protocol.js';

/** A request, or a command without args by name alone (`askMember(path, 'status')`). */
export function askMember(path: string, request: AdminRequest | PlainCommand, timeoutMs = 3000): Promise<unknown> {
  const req: AdminRequest = typeof request === 'string' ? { command: request } : request;
  return new Promise((resolve, reject) => {
    const conn = net.connect(path);
    let buf = '';
    conn.setEncoding('utf8');
    conn.setTimeout(timeoutMs, () => {
      conn.destroy();
      reject(new ShoalError('ADMIN_TIMEOUT', `the member on ${path} did not answer within ${timeoutMs} ms`));
    });
    conn.once('connect', () => conn.write(encodeAdminRequest(req)));
    conn.on('data', (chunk: string) => (buf += chunk));
    conn.once('error', (e: NodeJS.ErrnoException) => {
      const notRunning = e.code === 'ENOENT' || e.code === 'ECONNREFUSED';
      reject(new ShoalError(notRunning ? 'NOT_RUNNING' : 'ADMIN_FAILED', notRunning ? `no member answers on ${path}` : `admin socket ${path}: ${e.message}`));
    });
    conn.once('end', () => {
      let r: AdminReply;
      try {
        r = JSON.parse(buf) as AdminReply;
      } catch {
        return reject(new ShoalError('ADMIN_FAILED', `the member on ${path} sent an unreadable answer`));
      }
      if (r.ok) resolve(r.result);
      else reject(new ShoalError('ADMIN_REFUSED', r.error));
    });
  });
}
