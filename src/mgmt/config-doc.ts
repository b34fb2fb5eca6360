/**
 * A configuration document as the config store edits it: plain JSON, keys
 * addressed by dotted paths (`log.level`, `trust.ca.0`), compared leaf by
 * leaf. Pure functions; the store (config-store.ts) does the files.
 */
import { ShoalError } from '../lib/errors.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A value as typed on a command line: JSON when it parses (`8`, `true`, `["a"]`, `"x"`), else the text itself. */
export function parseValue(text: string): Json {
  try {
    return JSON.parse(text) as Json;
  } catch {
    return text;
  }
}

const SEGMENT = /^[A-Za-z0-9_-]+$/;
/** Keys that reach an object's prototype instead of a property of its own: `__proto__.x` would set x on every object. */
const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

function segments(path: string): string[] {
  const parts = path.split('.');
  if (path.length === 0 || parts.some((p) => !SEGMENT.test(p))) {
    throw new ShoalError('BAD_PATH', `'${path}' is not a key path like log.level or trust.ca.0`);
  }
  const bad = parts.find((p) => PROTOTYPE_KEYS.has(p));
  if (bad !== undefined) throw new ShoalError('BAD_PATH', `'${path}': '${bad}' is not allowed in a key path (no configuration key has that name)`);
  return parts;
}

/** A copy of `doc` with the value at `path` set; missing objects on the way are made. */
export function setPath(doc: JsonObject, path: string, value: Json): JsonObject {
  const parts = segments(path);
  const out = structuredClone(doc);
  let node: JsonObject | Json[] = out;
  parts.forEach((key, i) => {
    const last = i === parts.length - 1;
    const where = parts.slice(0, i).join('.') || '(top)';
    if (Array.isArray(node)) {
      const index = Number(key);
      if (!Number.isInteger(index) || index > node.length) {
        throw new ShoalError('BAD_PATH', `cannot set ${path}: ${where} is a list of ${node.length}; use an index up to ${node.length}`);
      }
      if (last) node[index] = value;
      else node = descend(node, index, path, parts.slice(0, i + 1).join('.'));
      return;
    }
    if (last) node[key] = value;
    else node = descend(node, key, path, parts.slice(0, i + 1).join('.'));
  });
  return out;
}

function descend(container: JsonObject | Json[], key: string | number, path: string, at: string): JsonObject | Json[] {
  const holder = container as Record<string | number, Json | undefined>;
  // Own properties only: an inherited one is never part of the document.
  const next = Object.hasOwn(holder, key) ? holder[key] : undefined;
  if (next === undefined) {
    const made: JsonObject = {};
    holder[key] = made;
    return made;
  }
  if (typeof next === 'object' && next !== null) return next;
  throw new ShoalError('BAD_PATH', `cannot set ${path}: ${at} is ${JSON.stringify(next)}, not an object`);
}

/** Every leaf with its dotted path; lists and empty objects are leaves (compared whole). */
export function flatten(doc: Json, prefix = ''): Map<string, Json> {
  const out = new Map<string, Json>();
  if (!isObject(doc) || (Object.keys(doc).length === 0 && prefix !== '')) {
    out.set(prefix, doc);
    return out;
  }
  for (const [k, v] of Object.entries(doc)) {
    for (const [p, leaf] of flatten(v, prefix === '' ? k : `${prefix}.${k}`)) out.set(p, leaf);
  }
  return out;
}

export interface Change {
  /** `~` changed, `+` added, `-` removed. */
  op: '~' | '+' | '-';
  path: string;
  before?: Json;
  after?: Json;
}

/** What differs between two documents, one entry per leaf, by path. */
export function diffDocs(before: JsonObject, after: JsonObject): Change[] {
  const a = flatten(before);
  const b = flatten(after);
  const paths = [...new Set([...a.keys(), ...b.keys()])].sort();
  const out: Change[] = [];
  for (const path of paths) {
    const x = a.get(path);
    const y = b.get(path);
    if (x === undefined && y !== undefined) out.push({ op: '+', path, after: y });
    else if (y === undefined && x !== undefined) out.push({ op: '-', path, before: x });
    else if (JSON.stringify(x) !== JSON.stringify(y)) out.push({ op: '~', path, before: x as Json, after: y as Json });
  }
  return out;
}

/** `~ log.level: "info" → "debug"`, `+ metrics.listen: "127.0.0.1:9105"`, `- log.level: "info"`. */
export function formatChange(c: Change): string {
  const v = (x: Json | undefined): string => JSON.stringify(x);
  if (c.op === '~') return `~ ${c.path}: ${v(c.before)} → ${v(c.after)}`;
  return `${c.op} ${c.path}: ${v(c.op === '+' ? c.after : c.before)}`;
}
