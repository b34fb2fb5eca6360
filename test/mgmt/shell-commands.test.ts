/**
 * The shell's language without a terminal: words (quoting), what a line
 * means (a shoal command line, help, exit or a one-line error), the shell's
 * --socket/--config given to commands that take them, and Tab completion
 * from the real program's command tree.
 */
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/mgmt/cli/program.js';
import { complete, completionTree, interpret, leafCommand, withShellDefaults } from '../../src/mgmt/shell/command-map.js';
import { splitWords } from '../../src/mgmt/shell/words.js';

describe('splitWords', () => {
  it('splits on blanks and honours quotes and backslashes', () => {
    expect(splitWords('  show   units --json ')).toEqual({ ok: true, words: ['show', 'units', '--json'] });
    expect(splitWords(`config set name "a \\"b\\" c" 'd e' f\\ g ""`)).toEqual({ ok: true, words: ['config', 'set', 'name', 'a "b" c', 'd e', 'f g', ''] });
    expect(splitWords('')).toEqual({ ok: true, words: [] });
  });

  it('an unterminated quote is an error', () => {
    expect(splitWords('config set x "abc')).toEqual({ ok: false, error: 'unterminated double quote' });
    expect(splitWords("pki list 'x")).toEqual({ ok: false, error: 'unterminated single quote' });
  });
});

describe('interpret', () => {
  it('maps show to the one-shot commands (show cluster is status), passing the rest on', () => {
    expect(interpret(['show', 'cluster'])).toEqual({ kind: 'run', argv: ['status'] });
    expect(interpret(['show', 'units', '--json'])).toEqual({ kind: 'run', argv: ['units', '--json'] });
    expect(interpret(['show', 'log', '--level', 'warn', '-n', '5'])).toEqual({ kind: 'run', argv: ['log', '--level', 'warn', '-n', '5'] });
    for (const w of ['members', 'tunnels', 'sessions', 'counters']) expect(interpret(['show', w])).toEqual({ kind: 'run', argv: [w] });
  });

  it('passes config, cluster, tunnel and pki through', () => {
    expect(interpret(['config', 'set', 'log.level', 'warn'])).toEqual({ kind: 'run', argv: ['config', 'set', 'log.level', 'warn'] });
    expect(interpret(['cluster', 'leave'])).toEqual({ kind: 'run', argv: ['cluster', 'leave'] });
    expect(interpret(['tunnel', 'kill', '0011223344556677'])).toEqual({ kind: 'run', argv: ['tunnel', 'kill', '0011223344556677'] });
    expect(interpret(['pki', 'list'])).toEqual({ kind: 'run', argv: ['pki', 'list'] });
  });

  it('help, help <command>, exit, quit, empty', () => {
    expect(interpret(['help'])).toEqual({ kind: 'help' });
    expect(interpret(['help', 'show', 'log'])).toEqual({ kind: 'run', argv: ['log', '--help'] });
    expect(interpret(['help', 'tunnel', 'kill'])).toEqual({ kind: 'run', argv: ['tunnel', 'kill', '--help'] });
    expect(interpret(['exit'])).toEqual({ kind: 'exit' });
    expect(interpret(['quit'])).toEqual({ kind: 'exit' });
    expect(interpret([])).toEqual({ kind: 'empty' });
  });

  it('anything else is a one-line error; the program\'s other commands are not reachable', () => {
    expect(interpret(['show'])).toEqual({ kind: 'error', message: 'show what? expected one of cluster, members, units, tunnels, sessions, counters, log' });
    expect(interpret(['show', 'status'])).toEqual({ kind: 'error', message: 'show status: expected one of cluster, members, units, tunnels, sessions, counters, log' });
    for (const w of ['run', 'lab', 'sim', 'shell', 'status', 'rm']) expect(interpret([w, 'x'])).toEqual({ kind: 'error', message: `unknown command '${w}' (type 'help')` });
    expect(interpret(['exit', 'now'])).toEqual({ kind: 'error', message: 'exit takes no arguments' });
  });
});

describe('withShellDefaults', () => {
  const program = buildProgram();

  it('adds the shell socket to commands that take --socket, unless given', () => {
    expect(withShellDefaults(program, ['units'], { '--socket': '/s.sock' })).toEqual(['units', '--socket', '/s.sock']);
    expect(withShellDefaults(program, ['tunnel', 'kill', 'abc'], { '--socket': '/s.sock' })).toEqual(['tunnel', 'kill', 'abc', '--socket', '/s.sock']);
    expect(withShellDefaults(program, ['units', '-s', '/other'], { '--socket': '/s.sock' })).toEqual(['units', '-s', '/other']);
    expect(withShellDefaults(program, ['units', '--socket=/other'], { '--socket': '/s.sock' })).toEqual(['units', '--socket=/other']);
  });

  it('leaves commands without the option alone', () => {
    expect(withShellDefaults(program, ['tunnel'], { '--socket': '/s.sock' })).toEqual(['tunnel']);
    expect(withShellDefaults(program, ['units'], { '--config': '/m1.json', '--socket': undefined })).toEqual(['units']);
  });

  it('finds the leaf command past options', () => {
    expect(leafCommand(program, ['cluster', 'leave', '--json']).name()).toBe('leave');
    expect(leafCommand(program, ['nosuch']).name()).toBe('shoal');
  });
});

describe('complete', () => {
  const tree = completionTree(buildProgram());
  const noIds = async (): Promise<string[]> => [];

  it('completes a unique prefix with a trailing space, and lists the candidates of an ambiguous one', async () => {
    expect(await complete(tree, 'sh', noIds)).toEqual([['show '], 'sh']);
    expect(await complete(tree, 'show c', noIds)).toEqual([['cluster', 'counters'], 'c']);
    expect(await complete(tree, 'show u', noIds)).toEqual([['units '], 'u']);
    expect(await complete(tree, 'cluster ', noIds)).toEqual([['join', 'leave'], '']);
    expect(await complete(tree, 'e', noIds)).toEqual([['exit '], 'e']);
  });

  it('completes the options of the command typed so far', async () => {
    expect(await complete(tree, 'show units --j', noIds)).toEqual([['--json '], '--j']);
    const [logOptions] = await complete(tree, 'show log --', noIds);
    expect(logOptions).toEqual(expect.arrayContaining(['--lines', '--level', '--json', '--socket', '--help']));
  });

  it('completes tunnel ids for tunnel kill by asking the member, once', async () => {
    let asked = 0;
    const ids = async (): Promise<string[]> => {
      asked++;
      return ['00aa11bb22cc33dd', '00ab000000000001', 'ff00000000000000'];
    };
    expect(await complete(tree, 'tunnel kill 00a', ids)).toEqual([['00aa11bb22cc33dd', '00ab000000000001'], '00a']);
    expect(await complete(tree, 'tunnel kill ff', ids)).toEqual([['ff00000000000000 '], 'ff']);
    expect(asked).toBe(2);
    expect(await complete(tree, 'tunnel kill ff00000000000000 ', ids)).toEqual([[], '']);
    expect(await complete(tree, 'tunnel kill x', async () => Promise.reject(new Error('no member')))).toEqual([[], 'x']);
  });

  it('config and pki complete with whatever subcommands the program gives them', async () => {
    const program = buildProgram();
    for (const word of ['config', 'pki']) {
      const cmd = program.commands.find((c) => c.name() === word);
      const subs = (cmd?.commands ?? []).map((c) => c.name()).filter((n) => n !== 'help').sort();
      const [hits] = await complete(tree, `${word} `, noIds);
      expect(hits.map((h) => h.trimEnd())).toEqual(subs);
    }
  });

  it('help completes the same commands', async () => {
    expect(await complete(tree, 'help show m', noIds)).toEqual([['members '], 'm']);
  });
});
