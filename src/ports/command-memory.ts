/** A recording CommandRunner for tests: answers from a script of handlers, remembers every call. */
import { ShoalError } from '../lib/errors.js';
import { COMMAND_NOT_FOUND, type CommandOptions, type CommandResult, type CommandRunner } from './command.js';

export interface RecordedCommand {
  argv: string[];
  options: CommandOptions;
}

/** Answers one call, or returns undefined to let the next handler (or the default) answer. */
export type CommandHandler = (argv: readonly string[], options: CommandOptions) => Partial<CommandResult> | undefined;

export class MemoryCommandRunner implements CommandRunner {
  readonly calls: RecordedCommand[] = [];
  readonly #handlers: CommandHandler[] = [];
  readonly #missing = new Set<string>();

  /** Handlers are asked newest first; unanswered calls succeed with empty output. */
  on(handler: CommandHandler): this {
    this.#handlers.unshift(handler);
    return this;
  }

  /** Make `run` reject as if `program` were not installed. */
  missing(program: string): this {
    this.#missing.add(program);
    return this;
  }

  run(argv: readonly string[], options: CommandOptions = {}): Promise<CommandResult> {
    this.calls.push({ argv: [...argv], options: { ...options } });
    const file = argv[0] ?? '';
    if (this.#missing.has(file)) return Promise.reject(new ShoalError(COMMAND_NOT_FOUND, `${file}: not found`));
    for (const h of this.#handlers) {
      const r = h(argv, options);
      if (r !== undefined) return Promise.resolve({ code: 0, stdout: '', stderr: '', ...r });
    }
    return Promise.resolve({ code: 0, stdout: '', stderr: '' });
  }
}
