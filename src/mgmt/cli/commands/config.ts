/**
 * `shoal config show | set <path> <value> | diff | commit | rollback`: the
 * configuration store of a member that runs from a JSON file
 * (src/mgmt/config-store.ts). `--config <file>` defaults to SHOAL_CONFIG or
 * /etc/shoal/member.json; commit and rollback ask the member on `--socket`
 * (default: the admin socket the configuration names) to reload.
 */
import { Command } from 'commander';
import { formatChange, type Change, type Json } from '../../config-doc.js';
import { openConfigStore, type CommitResult, type RollbackResult } from '../../config-store.js';
import { printJson, printLine } from '../output.js';
import { groupCommand } from './admin-query.js';

export const DEFAULT_CONFIG_PATH = '/etc/shoal/member.json';

function defaultConfig(): string {
  return process.env['SHOAL_CONFIG'] ?? DEFAULT_CONFIG_PATH;
}

interface StoreOpts {
  config: string;
  json?: boolean;
  socket?: string;
}

function storeCommand(name: string, description: string): Command {
  return new Command(name)
    .description(description)
    .option('-c, --config <file>', 'member configuration (JSON)', defaultConfig())
    .option('--json', 'print JSON');
}

function store(opts: StoreOpts) {
  return openConfigStore(opts.config, opts.socket ? { socket: opts.socket } : {});
}

function changeJson(c: Change): { op: string; path: string; before?: Json; after?: Json } {
  return { op: c.op, path: c.path, ...(c.before !== undefined ? { before: c.before } : {}), ...(c.after !== undefined ? { after: c.after } : {}) };
}

/** What commit and rollback print for people. */
function showCommitted(r: CommitResult | RollbackResult, verb: string): void {
  printLine(`${verb} configuration version ${r.configVersion} (version ${r.previousVersion} kept as ${r.kept})`);
  for (const c of r.changes) printLine(`  ${formatChange(c)}`);
  const reload = r.reload;
  if (!reload.answered) printLine(`no member reloaded (${reload.error}); it takes version ${r.configVersion} when it starts`);
  else if (reload.changed) printLine(`the member on ${reload.socket} restarts with version ${reload.configVersion}`);
  else printLine(`the member on ${reload.socket} already runs this configuration (it reads another file?)`);
}

export function configCommand(): Command {
  const show = storeCommand('show', 'the active configuration').action((opts: StoreOpts) => {
    const s = store(opts);
    const doc = s.show();
    if (opts.json) printJson({ config: s.path, staged: s.candidate() !== null, history: s.history(), document: doc });
    else printLine(JSON.stringify(doc, null, 2));
  });
  const set = storeCommand('set', 'stage a change: <value> is JSON when it parses (8, true, ["a.pem"]), else text')
    .argument('<path>', 'dotted key path, e.g. log.level or trust.ca.0')
    .argument('<value>', 'the new value')
    .action((path: string, value: string, opts: StoreOpts) => {
      const staged = store(opts).set(path, value);
      if (opts.json) printJson({ path, value: staged });
      else printLine(`staged ${path} = ${JSON.stringify(staged)} ('config diff' shows it, 'config commit' applies it)`);
    });
  const diff = storeCommand('diff', 'the staged changes against the active configuration').action((opts: StoreOpts) => {
    const changes = store(opts).diff();
    if (opts.json) printJson(changes.map(changeJson));
    else if (changes.length === 0) printLine('no staged changes');
    else for (const c of changes) printLine(formatChange(c));
  });
  const commit = storeCommand('commit', 'validate the staged changes, make them active as the next config version, and reload the member')
    .option('-s, --socket <path>', 'admin socket of the member to reload (default: the one the configuration names)')
    .action(async (opts: StoreOpts) => {
      const r = await store(opts).commit();
      if (opts.json) printJson({ ...r, changes: r.changes.map(changeJson) });
      else showCommitted(r, 'committed');
    });
  const rollback = storeCommand('rollback', 'make the previous version active again, as a new config version, and reload the member')
    .option('-s, --socket <path>', 'admin socket of the member to reload (default: the one the configuration names)')
    .action(async (opts: StoreOpts) => {
      const r = await store(opts).rollback();
      if (opts.json) printJson({ ...r, changes: r.changes.map(changeJson) });
      else showCommitted(r, `rolled back to version ${r.restored}'s content as`);
    });
  return groupCommand('config', "this member's configuration file: show, stage, diff, commit, roll back", [show, set, diff, commit, rollback]);
}
