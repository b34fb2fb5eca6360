/**
 * `shoal shell`: the interactive admin shell, fit to be the login shell on
 * a serial console or over SSH. It reads lines with node:readline (a TTY
 * gets the prompt, completion, history and line editing) and runs each as
 * the matching `shoal` command in this process, so what it prints is what
 * the one-shot command prints.
 *
 *   line ─► splitWords ─► interpret (command-map.ts) ─┬─ run: fresh program ─► runShoal ─► stdout/stderr
 *                                                    ├─ help / exit
 *                                                    └─ error: one line, and on
 *   prompt "<cluster>/<member> <role>> " from the member's status before each line
 *   Tab ─► completionTree(program) (+ tunnel ids from the member)
 *   history ─► ~/.shoal_history (bounded), Up/Down recall
 *   Ctrl-C clears the line; Ctrl-D on an empty line (or 'exit') leaves
 *
 * Commands print to process.stdout and process.stderr, as they do alone;
 * the shell's own lines go to the same streams.
 */
import readline from 'node:readline';
import type { Command } from 'commander';
import { askMember } from '../admin/client.js';
import type { StatusView } from '../admin/views.js';
import type { TunnelView } from '../admin/ipsec-views.js';
import { EXIT_OK, EXIT_USAGE, printError } from '../cli/output.js';
import { runShoal } from '../cli/run.js';
import { SHELL_HELP, complete, completionTree, interpret, withShellDefaults } from './command-map.js';
import { HISTORY_MAX, loadHistory, saveHistory } from './history.js';
import { splitWords } from './words.js';

export interface ShellOptions {
  /** A fresh `shoal` program for each command (commander keeps option values between parses). */
  program: () => Command;
  /** The member's admin socket, given to every command that takes --socket. */
  socket: string;
  /** The configuration file, given to every command that takes --config. */
  config?: string;
  /** null: no history file. */
  historyFile: string | null;
  input?: NodeJS.ReadableStream & { isTTY?: boolean };
  output?: NodeJS.WritableStream & { isTTY?: boolean };
}

const PROMPT_ASK_MS = 1000;

async function promptText(socket: string): Promise<string> {
  try {
    const s = (await askMember(socket, 'status', PROMPT_ASK_MS)) as StatusView;
    return `${s.cluster}/${s.self} ${s.role}> `;
  } catch {
    return 'shoal (no member)> ';
  }
}

/** Runs the shell until exit or end of input; the exit code (without a terminal: the last command's). */
export async function runShell(o: ShellOptions): Promise<number> {
  const input = o.input ?? process.stdin;
  const output = o.output ?? process.stdout;
  const tty = input.isTTY === true && output.isTTY === true;
  const tree = completionTree(o.program());
  const askTunnels = async (): Promise<string[]> => ((await askMember(o.socket, 'tunnels', PROMPT_ASK_MS)) as TunnelView[]).map((t) => t.id);
  const rl = readline.createInterface({
    input,
    output,
    terminal: tty,
    history: tty && o.historyFile !== null ? loadHistory(o.historyFile) : [],
    historySize: HISTORY_MAX,
    removeHistoryDuplicates: true,
    tabSize: 4,
    completer: (line: string, done: (err: Error | null, result: [string[], string]) => void) => {
      complete(tree, line, askTunnels).then(
        (r) => done(null, r),
        () => done(null, [[], line]),
      );
    },
  });
  let historyBroken = false;
  if (tty && o.historyFile !== null) {
    const file = o.historyFile;
    rl.on('history', (h: string[]) => {
      try {
        saveHistory(file, h);
      } catch (e) {
        if (!historyBroken) printError(`history not saved to ${file}: ${e instanceof Error ? e.message : String(e)}`);
        historyBroken = true;
      }
    });
  }
  rl.on('SIGINT', () => {
    // Ctrl-C: abandon the line being typed, keep the shell.
    rl.write(null, { ctrl: true, name: 'e' });
    output.write('^C\n');
    rl.write(null, { ctrl: true, name: 'u' });
  });
  const prompt = async (): Promise<void> => {
    if (!tty) return;
    rl.setPrompt(await promptText(o.socket));
    rl.prompt();
  };
  if (tty) output.write("Shoal admin shell: 'help' lists the commands, Tab completes, Ctrl-D leaves.\n");
  let last = EXIT_OK;
  await prompt();
  for await (const line of rl) {
    const words = splitWords(line);
    const what = words.ok ? interpret(words.words) : { kind: 'error' as const, message: words.error };
    if (what.kind === 'exit') break;
    if (what.kind === 'help') {
      output.write(`${SHELL_HELP}\n`);
      last = EXIT_OK;
    }
    else if (what.kind === 'error') {
      printError(what.message);
      last = EXIT_USAGE;
    } else if (what.kind === 'run') {
      const program = o.program();
      last = await runShoal(program, withShellDefaults(program, what.argv, { '--socket': o.socket, '--config': o.config }), 'user');
    }
    await prompt();
  }
  rl.close();
  if (tty) output.write('\n');
  return tty ? EXIT_OK : last;
}
