/**
 * Who is at the other end of a connection to a Unix socket, on Linux:
 * getsockopt(SO_PEERCRED) through our N-API addon (native/peercred/, built
 * by node-gyp into build/Release/peercred.node). The kernel records the
 * credentials at connect(), so a peer cannot claim another user's.
 *
 *   accepted net.Socket ─► its fd (libuv's pipe handle) ─► addon.peerCred(fd) ─► { pid, uid, gid }
 */
import { existsSync } from 'node:fs';
import type net from 'node:net';
import { ShoalError } from '../lib/errors.js';
import { addonFile, requireAddon } from '../lib/native-addon.js';

export interface PeerCred {
  pid: number;
  uid: number;
  gid: number;
}

/** The credentials of a connected Unix-socket peer; throws a ShoalError coded PEERCRED when they cannot be read. */
export type PeerCredOf = (conn: net.Socket) => PeerCred;

interface PeerCredAddon {
  peerCred(fd: number): PeerCred;
}

/** The fd libuv holds for a connection: Node exposes no API for it, only the handle's field. */
function fdOf(conn: net.Socket): number | null {
  const fd = (conn as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : null;
}

/**
 * The reader over the addon. A missing or broken addon does not throw here:
 * each lookup throws instead, so the admin socket refuses every peer (and
 * says why) rather than letting the daemon run without the check.
 */
export function linuxPeerCred(path?: string): PeerCredOf {
  const file = path ?? addonFile('peercred');
  let addon: PeerCredAddon | null = null;
  let why = '';
  if (!existsSync(file)) why = `the peer-credential addon is not built (${file} is missing): run \`npm rebuild\``;
  else {
    try {
      addon = requireAddon(file) as PeerCredAddon;
    } catch (e) {
      why = `the peer-credential addon at ${file} does not load: ${String(e)}; run \`npm rebuild\``;
    }
  }
  return (conn) => {
    if (addon === null) throw new ShoalError('PEERCRED', why);
    const fd = fdOf(conn);
    if (fd === null) throw new ShoalError('PEERCRED', 'the connection has no file descriptor');
    try {
      return addon.peerCred(fd);
    } catch (e) {
      throw new ShoalError('PEERCRED', `SO_PEERCRED failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
}
