/**
 * What a log line may carry of a value. Much of what is logged comes from
 * outside (IKE identities, vendor IDs, certificate subjects, configuration
 * values, error messages quoting them), so the logger passes every field
 * through here, and no call site has to remember to:
 *
 *   string       control and invisible format characters written as \xNN / \u{NNNN} (no terminal
 *                escape, no fake line, no right-to-left override reaches a reader), a backslash as \\,
 *                then cut at MAX_LOG_STRING characters with "…[+N chars]"
 *   list         the first MAX_LOG_ITEMS items, then "…[+N items]"
 *   object       its first MAX_LOG_ITEMS keys (keys made safe too), MAX_LOG_DEPTH levels deep
 *   bytes        hex of the first MAX_LOG_BYTES, then "…[+N bytes]"
 *   Error        its message, as a string
 *
 * So a line stays one line and its size is bounded whatever a peer sends.
 */

/** Characters of one string; a certificate subject or an error message fits, a 60 kB vendor ID does not. */
export const MAX_LOG_STRING = 512;
export const MAX_LOG_ITEMS = 64;
export const MAX_LOG_DEPTH = 4;
export const MAX_LOG_BYTES = 64;

/**
 * What a reader's terminal would act on rather than show: controls (C0, DEL, C1), invisible formatting
 * (bidi marks, overrides and isolates, zero-width, BOM, tags), line and paragraph separators, lone
 * surrogates; and the backslash that starts our escapes, so an escape in the text cannot pass for ours.
 */
const UNSAFE = /[\\\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu;

const NAMED: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escapeChar(c: string): string {
  const code = c.codePointAt(0) ?? 0;
  return NAMED[c] ?? (code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`);
}

export function safeLogString(s: string): string {
  const over = s.length - MAX_LOG_STRING;
  const head = over > 0 ? s.slice(0, MAX_LOG_STRING) : s;
  const escaped = head.replace(UNSAFE, escapeChar);
  return over > 0 ? `${escaped}…[+${over} chars]` : escaped;
}

/** `value` as it may appear in a log line (see the top of this file). */
export function safeLogValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return safeLogString(value);
  if (value === null || value === undefined || typeof value === 'number' || typeof value === 'boolean') return value;
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Error) return safeLogString(value.message);
  if (value instanceof Uint8Array) {
    const hex = Buffer.from(value.subarray(0, MAX_LOG_BYTES)).toString('hex');
    return value.length > MAX_LOG_BYTES ? `${hex}…[+${value.length - MAX_LOG_BYTES} bytes]` : hex;
  }
  if (typeof value !== 'object') return safeLogString(String(value));
  if (depth >= MAX_LOG_DEPTH) return Array.isArray(value) ? '[list]' : '[object]';
  if (Array.isArray(value)) {
    const items: unknown[] = value.slice(0, MAX_LOG_ITEMS).map((v: unknown) => safeLogValue(v, depth + 1));
    if (value.length > MAX_LOG_ITEMS) items.push(`…[+${value.length - MAX_LOG_ITEMS} items]`);
    return items;
  }
  return safeLogFields(value as Record<string, unknown>, depth + 1);
}

/** Every field of a log line made safe, keys included. */
export function safeLogFields(fields: Record<string, unknown>, depth = 0): Record<string, unknown> {
  const entries = Object.entries(fields);
  const out: Record<string, unknown> = {};
  for (const [k, v] of entries.slice(0, MAX_LOG_ITEMS)) out[safeLogString(k)] = safeLogValue(v, depth);
  if (entries.length > MAX_LOG_ITEMS) out['…'] = `[+${entries.length - MAX_LOG_ITEMS} keys]`;
  return out;
}
