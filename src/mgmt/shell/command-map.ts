/**
 * The shell's command language and how it maps onto `shoal` command lines:
 * the shell runs the very same commander commands in process, so its output
 * is the one-shot commands' output by construction.
 *
 *   show cluster [--json]            ─► shoal status
 *   show members|units|tunnels|sessions|counters|log …  ─► shoal <same> …
 *   config …  cluster …  tunnel …  pki …                ─► shoal <same> …
 *   help [command …]  exit  quit
 *
 * Only these reach the program: a login shell on a console must not run
 * `shoal run` or `shoal lab`. The completion tree comes from the program's
 * own commands and options, so new subcommands (config, pki) complete
 * without the shell knowing them.
 */
import type { Command } from 'commander';

/** `show <what>` → the shoal command that prints it. */
export const SHOW: Readonly<Record<string, string>> = {
  cluster: 'status',
  members: 'members',
  units: 'units',
  tunnels: 'tunnels',
  sessions: 'sessions',
  counters: 'counters',
  log: 'log',
};

/** Shell words that are `shoal` commands of the same name. */
export const PASSED_THROUGH = ['config', 'cluster', 'tunnel', 'pki'] as const;

export type ShellLine =
  | { kind: 'empty' }
  | { kind: 'exit' }
  | { kind: 'help' }
  | { kind: 'run'; argv: string[] }
  | { kind: 'error'; message: string };

export function interpret(words: readonly string[]): ShellLine {
  const [first, ...rest] = words;
  if (first === undefined) return { kind: 'empty' };
  if (first === 'exit' || first === 'quit') return rest.length === 0 ? { kind: 'exit' } : { kind: 'error', message: `${first} takes no arguments` };
  if (first === 'help' || first === '?') {
    if (rest.length === 0) return { kind: 'help' };
    const topic = interpret(rest);
    return topic.kind === 'run' ? { kind: 'run', argv: [...topic.argv.filter((w) => !w.startsWith('-')), '--help'] } : topic;
  }
  if (first === 'show') {
    const [what, ...more] = rest;
    const command = what === undefined ? undefined : SHOW[what];
    if (command === undefined) return { kind: 'error', message: `${what === undefined ? 'show what?' : `show ${what}:`} expected one of ${Object.keys(SHOW).join(', ')}` };
    return { kind: 'run', argv: [command, ...more] };
  }
  if ((PASSED_THROUGH as readonly string[]).includes(first)) return { kind: 'run', argv: [first, ...rest] };
  return { kind: 'error', message: `unknown command '${first}' (type 'help')` };
}

export const SHELL_HELP = `commands (Tab completes, Up/Down recall, Ctrl-C clears the line, Ctrl-D or 'exit' leaves):
  show cluster|members|units|tunnels|sessions|counters|log [--json]   what this member sees
  config show|set|diff|commit|rollback                             the member's configuration
  cluster leave|join                                               take this member out of the cluster, and back
  tunnel kill <id>                                                 delete a tunnel (its client is sent a Delete)
  pki …                                                            the cluster's certificates, as 'shoal pki'
  help [command]                                                   this list, or a command's options
  exit`;

/** The subcommand `argv` names, walking down from `program` past options and arguments. */
export function leafCommand(program: Command, argv: readonly string[]): Command {
  let cmd = program;
  for (const w of argv) {
    if (w.startsWith('-')) continue;
    const sub = cmd.commands.find((c) => c.name() === w || c.aliases().includes(w));
    if (!sub) break;
    cmd = sub;
  }
  return cmd;
}

/**
 * Adds the shell's own `--socket` / `--config` to a command line whose
 * command takes that option and was not given it.
 */
export function withShellDefaults(program: Command, argv: readonly string[], defaults: Readonly<Record<string, string | undefined>>): string[] {
  const leaf = leafCommand(program, argv);
  const out = [...argv];
  for (const [long, value] of Object.entries(defaults)) {
    if (value === undefined) continue;
    const opt = leaf.options.find((o) => o.long === long);
    if (!opt) continue;
    const given = argv.some((w) => w === long || w.startsWith(`${long}=`) || (opt.short !== undefined && w === opt.short));
    if (!given) out.push(long, value);
  }
  return out;
}

/** One node of the completion tree: the words that may follow, the options, and where to ask for more. */
export interface CompletionNode {
  children: Map<string, CompletionNode>;
  options: string[];
  /** Values completed by asking the member (tunnel ids for `tunnel kill`). */
  dynamic?: 'tunnel-ids';
}

function leaf(options: string[] = []): CompletionNode {
  return { children: new Map(), options };
}

function fromCommand(cmd: Command | undefined): CompletionNode {
  if (!cmd) return leaf();
  const node: CompletionNode = {
    children: new Map(cmd.commands.filter((c) => c.name() !== 'help').map((c) => [c.name(), fromCommand(c)])),
    options: [...cmd.options.map((o) => o.long).filter((l): l is string => l !== undefined), '--help'],
  };
  return node;
}

export function completionTree(program: Command): CompletionNode {
  const top = (name: string): Command | undefined => program.commands.find((c) => c.name() === name);
  const show = leaf();
  for (const [word, command] of Object.entries(SHOW)) show.children.set(word, fromCommand(top(command)));
  const root = leaf();
  root.children.set('show', show);
  for (const word of PASSED_THROUGH) root.children.set(word, fromCommand(top(word)));
  const kill = root.children.get('tunnel')?.children.get('kill');
  if (kill) kill.dynamic = 'tunnel-ids';
  const help = leaf();
  for (const [word, node] of root.children) help.children.set(word, { children: node.children, options: [] });
  root.children.set('help', help);
  root.children.set('exit', leaf());
  root.children.set('quit', leaf());
  return root;
}

/**
 * Completions for the word being typed at the end of `line` (readline's
 * completer result: candidates and the text they replace). A single
 * candidate gets a trailing space, so the next word can follow at once.
 */
export async function complete(tree: CompletionNode, line: string, ask: (kind: 'tunnel-ids') => Promise<string[]>): Promise<[string[], string]> {
  const words = line.split(/\s+/);
  const partial = words.pop() ?? '';
  let node = tree;
  for (const w of words) {
    if (w === '' || w.startsWith('-')) continue;
    const next = node.children.get(w);
    if (!next) {
      if (node.dynamic) return [[], partial]; // its argument is typed already
      continue; // an option's value, or an argument
    }
    node = next;
  }
  let candidates: string[];
  if (partial.startsWith('-')) candidates = node.options;
  else {
    candidates = [...node.children.keys()];
    if (node.dynamic) candidates.push(...(await ask(node.dynamic).catch(() => [])));
  }
  const hits = candidates.filter((c) => c.startsWith(partial)).sort();
  return [hits.length === 1 ? [`${hits[0]} `] : hits, partial];
}
