/** The admin socket protocol v2: every line parses to a request or a one-line error; v1 requests still parse. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ADMIN_COMMANDS, DEFAULT_LOG_ARGS, encodeAdminRequest, parseAdminRequest } from '../../src/mgmt/admin/protocol.js';
import { LOG_RING_LINES } from '../../src/mgmt/log.js';

describe('parseAdminRequest', () => {
  it('version 1 requests ({command} alone) parse as before', () => {
    for (const command of ['status', 'members', 'units'] as const) {
      expect(parseAdminRequest(JSON.stringify({ command }))).toEqual({ ok: true, request: { command } });
    }
  });

  it('every v2 command without args parses; log gets its defaults', () => {
    for (const command of ['tunnels', 'sessions', 'counters', 'cluster-leave', 'cluster-join'] as const) {
      expect(parseAdminRequest(JSON.stringify({ command }))).toEqual({ ok: true, request: { command } });
      expect(parseAdminRequest(JSON.stringify({ command, args: {} }))).toEqual({ ok: true, request: { command } });
    }
    expect(parseAdminRequest('{"command":"log"}')).toEqual({ ok: true, request: { command: 'log', args: DEFAULT_LOG_ARGS } });
  });

  it('log takes lines (1..ring size) and a level', () => {
    expect(parseAdminRequest('{"command":"log","args":{"lines":5,"level":"warn"}}')).toEqual({ ok: true, request: { command: 'log', args: { lines: 5, level: 'warn' } } });
    for (const lines of [0, -1, 1.5, LOG_RING_LINES + 1, '5']) {
      const r = parseAdminRequest(JSON.stringify({ command: 'log', args: { lines } }));
      expect(r).toEqual({ ok: false, error: `log: lines must be a whole number from 1 to ${LOG_RING_LINES}` });
    }
    expect(parseAdminRequest('{"command":"log","args":{"level":"loud"}}')).toEqual({ ok: false, error: 'log: level must be one of debug, info, warn, error' });
  });

  it('tunnel-kill takes a 16-hex-digit id (lower-cased)', () => {
    expect(parseAdminRequest('{"command":"tunnel-kill","args":{"id":"00112233AABBCCDD"}}')).toEqual({ ok: true, request: { command: 'tunnel-kill', args: { id: '00112233aabbccdd' } } });
    for (const args of [{}, { id: 'xyz' }, { id: '0011223344556677ff' }, { id: 7 }]) {
      const r = parseAdminRequest(JSON.stringify({ command: 'tunnel-kill', args }));
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error).toMatch(/^tunnel-kill: id must be a tunnel id/);
    }
  });

  it('refuses unknown commands, unknown args, non-objects and non-JSON with one line each', () => {
    expect(parseAdminRequest('{"command":"reboot"}')).toEqual({ ok: false, error: 'unknown command "reboot"' });
    expect(parseAdminRequest('{}')).toEqual({ ok: false, error: 'unknown command undefined' });
    expect(parseAdminRequest('{"command":"units","args":{"all":true}}')).toEqual({ ok: false, error: "units: unknown argument 'all'" });
    expect(parseAdminRequest('{"command":"log","args":{"since":1}}')).toEqual({ ok: false, error: "log: unknown argument 'since'" });
    expect(parseAdminRequest('{"command":"log","args":[1]}')).toEqual({ ok: false, error: 'log: args must be a JSON object' });
    expect(parseAdminRequest('[1,2]')).toEqual({ ok: false, error: 'request is not a JSON object' });
    expect(parseAdminRequest('null')).toEqual({ ok: false, error: 'request is not a JSON object' });
    expect(parseAdminRequest('status')).toEqual({ ok: false, error: 'request is not JSON' });
  });

  it('any string gives a request or a single-line error, never a throw', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), (line) => {
        const r = parseAdminRequest(line);
        if (r.ok) expect(ADMIN_COMMANDS).toContain(r.request.command);
        else expect(r.error).not.toMatch(/\n/);
      }),
    );
  });

  it('what a client encodes, the server parses back', () => {
    const requests = [{ command: 'status' }, { command: 'log', args: { lines: 3, level: 'error' } }, { command: 'tunnel-kill', args: { id: 'a1b2c3d4e5f60718' } }] as const;
    for (const r of requests) {
      const line = encodeAdminRequest(r);
      expect(line.endsWith('\n')).toBe(true);
      expect(parseAdminRequest(line.trimEnd())).toEqual({ ok: true, request: r });
    }
  });
});
