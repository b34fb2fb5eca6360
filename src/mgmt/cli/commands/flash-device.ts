/** `shoal flash install | rollback | status`: the A/B slots of a flash device directory. */
import { Command } from 'commander';
import type { BootState } from '../../../flash/boot-state.js';
import { printJson, printLine } from '../output.js';
import { readInput } from './flash-files.js';

function stateText(s: BootState): string {
  const trial = s.trial ? `on trial (${s.attempts} boot attempt${s.attempts === 1 ? '' : 's'})` : 'good';
  return `active slot ${s.active} ${trial}, previous ${s.previous ?? 'none'}, lowest config version accepted ${s.floor}, generation ${s.generation}${s.note ? `; note: ${s.note}` : ''}`;
}

function install(): Command {
  return new Command('install')
    .description('write a signed image to the inactive slot, verify it there and switch to it (on trial until a good boot)')
    .argument('<image>', 'signed image')
    .requiredOption('-d, --device <dir>', 'flash device directory')
    .requiredOption('-r, --trust-root <file>', 'administrator public key or certificate (PEM) the box trusts')
    .option('--allow-downgrade', 'accept a config version below the highest this box has run (lowers its anti-rollback floor)')
    .option('--json', 'print JSON')
    .action(async (path: string, o: { device: string; trustRoot: string; allowDowngrade?: boolean; json?: boolean }) => {
      const { readTrustRoot } = await import('../../../flash/signing.js');
      const { installPersonality } = await import('../../../flash/device.js');
      const r = await installPersonality(o.device, await readInput(path, 'image'), readTrustRoot(o.trustRoot), { allowDowngrade: o.allowDowngrade === true });
      if (o.json) printJson({ slot: r.slot, configVersion: r.image.personality.configVersion, state: r.state });
      else printLine(`installed config version ${r.image.personality.configVersion} in slot ${r.slot}: ${stateText(r.state)}`);
    });
}

function rollback(): Command {
  return new Command('rollback')
    .description('switch back to the previous slot (after checking it still verifies)')
    .requiredOption('-d, --device <dir>', 'flash device directory')
    .requiredOption('-r, --trust-root <file>', 'administrator public key or certificate (PEM) the box trusts')
    .option('--allow-downgrade', 'accept a previous slot below the highest config version this box has run (lowers its anti-rollback floor)')
    .option('--json', 'print JSON')
    .action(async (o: { device: string; trustRoot: string; allowDowngrade?: boolean; json?: boolean }) => {
      const { readTrustRoot } = await import('../../../flash/signing.js');
      const { rollbackPersonality } = await import('../../../flash/device.js');
      const r = await rollbackPersonality(o.device, readTrustRoot(o.trustRoot), { allowDowngrade: o.allowDowngrade === true });
      if (o.json) printJson({ from: r.from, slot: r.slot, configVersion: r.image.personality.configVersion, state: r.state });
      else printLine(`rolled back from slot ${r.from} to slot ${r.slot} (config version ${r.image.personality.configVersion}): ${stateText(r.state)}`);
    });
}

function status(): Command {
  return new Command('status')
    .description("a device's boot state and slots")
    .requiredOption('-d, --device <dir>', 'flash device directory')
    .option('--json', 'print JSON')
    .action(async (o: { device: string; json?: boolean }) => {
      const { deviceStatus } = await import('../../../flash/device.js');
      const s = await deviceStatus(o.device);
      if (o.json) printJson(s);
      else {
        printLine(s.state ? stateText(s.state) : s.damaged ? `boot state damaged: ${s.damaged}` : 'no personality installed');
        for (const [slot, bytes] of Object.entries(s.slots)) printLine(`slot ${slot}: ${bytes === null ? 'empty' : `${bytes} bytes`}`);
      }
    });
}

export function deviceCommands(): Command[] {
  return [install(), rollback(), status()];
}
