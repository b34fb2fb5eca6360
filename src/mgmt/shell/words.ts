/**
 * A shell line as words: split on blanks, with '…' (literal) and "…"
 * (backslash escapes \" and \\) quoting, and a backslash escaping the next
 * character outside quotes — enough for `config set path "a value"`.
 */

export type Words = { ok: true; words: string[] } | { ok: false; error: string };

export function splitWords(line: string): Words {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quote === "'") {
      if (ch === "'") quote = null;
      else cur += ch;
    } else if (quote === '"') {
      if (ch === '"') quote = null;
      else if (ch === '\\' && (line[i + 1] === '"' || line[i + 1] === '\\')) cur += line[++i];
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (ch === '\\' && i + 1 < line.length) {
      cur += line[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (quote !== null) return { ok: false, error: `unterminated ${quote === '"' ? 'double' : 'single'} quote` };
  if (inWord) words.push(cur);
  return { ok: true, words };
}
