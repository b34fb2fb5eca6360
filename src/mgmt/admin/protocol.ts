/**
 * The admin socket protocol: a Unix stream socket; the client sends one JSON
 * line `{"command": "..."}`, the daemon answers one JSON line
 * `{"ok": true, "result": ...}` or `{"ok": false, "error": "..."}` and closes.
 */
export const ADMIN_COMMANDS = ['status', 'members', 'units'] as const;
export type AdminCommand = (typeof ADMIN_COMMANDS)[number];

export type AdminReply = { ok: true; result: unknown } | { ok: false; error: string };

export function isAdminCommand(x: unknown): x is AdminCommand {
  return typeof x === 'string' && (ADMIN_COMMANDS as readonly string[]).includes(x);
}

/** Largest request accepted: commands are tiny; anything bigger is not a client of ours. */
export const MAX_REQUEST_BYTES = 4096;
