/**
 * `shoal flash …`: the signed personality store from the administrator's side.
 *
 *   keygen ─► admin.key + admin.pub          (the box is provisioned with admin.pub)
 *   build  ─► unsigned image from a member's daemon config (no development certificates)
 *   sign   ─► signed image                   verify / inspect / diff: read-only
 *   install ─► device's inactive slot, switched to on trial; rollback ─► previous slot
 *
 * Refused images and failed checks exit 1 with one line naming what failed;
 * unreadable inputs and bad options exit 2. Modules load when a command runs.
 */
import { Command, InvalidArgumentError } from 'commander';
import { ShoalError } from '../../../lib/errors.js';
import { printJson, printLine } from '../output.js';
import { readInput, writeOutput } from './flash-files.js';
import { deviceCommands } from './flash-device.js';

function adminKeyTypeOption(v: string): 'ecdsa-p256' | 'ed25519' {
  if (v === 'ecdsa-p256' || v === 'ed25519') return v;
  throw new InvalidArgumentError('expected ecdsa-p256 or ed25519.');
}

function whole(v: string): number {
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v))) throw new InvalidArgumentError('expected a whole number.');
  return Number(v);
}

/** The software digest to build for or check against: given, computed from a tree, or this installation's. */
export async function softwareDigestOption(o: { softwareDigest?: string; softwareRoot?: string }, fallback: 'this' | 'none'): Promise<Uint8Array | null> {
  const sw = await import('../../../flash/software-digest.js');
  if (o.softwareDigest !== undefined && o.softwareRoot !== undefined) throw new ShoalError('BAD_OPTIONS', 'give --software-digest or --software-root, not both');
  if (o.softwareDigest !== undefined) return sw.parseDigest(o.softwareDigest);
  if (o.softwareRoot !== undefined) return sw.softwareDigest(o.softwareRoot);
  return fallback === 'this' ? sw.softwareDigest(sw.installationRoot()) : null;
}

function keygen(): Command {
  return new Command('keygen')
    .description('make an administrator signing key pair: <prefix>.key (private, 0600) and <prefix>.pub (the trust root for boxes)')
    .requiredOption('-o, --out <prefix>', 'path prefix of the two files')
    .option('-t, --type <type>', 'ecdsa-p256 or ed25519', adminKeyTypeOption, 'ecdsa-p256')
    .option('--json', 'print JSON')
    .action(async (o: { out: string; type: 'ecdsa-p256' | 'ed25519'; json?: boolean }) => {
      const { generateAdminKey } = await import('../../../flash/signing.js');
      const k = generateAdminKey(o.type);
      await writeOutput(`${o.out}.key`, k.privateKeyPem, { secret: true, exclusive: true });
      await writeOutput(`${o.out}.pub`, k.publicKeyPem, { secret: false, exclusive: true });
      const keyId = Buffer.from(k.keyId).toString('hex');
      if (o.json) printJson({ type: k.type, keyId, privateKey: `${o.out}.key`, publicKey: `${o.out}.pub` });
      else printLine(`${k.type} key sha256:${keyId} → ${o.out}.key (keep it offline), ${o.out}.pub (provision boxes with it)`);
    });
}

interface BuildOpts {
  config: string;
  out: string;
  softwareDigest?: string;
  softwareRoot?: string;
  policy?: string;
  logPath?: string;
  logOffset?: number;
  logLength?: number;
}

function build(): Command {
  return new Command('build')
    .description("build an unsigned personality image from a member's daemon configuration and the files it names")
    .requiredOption('-c, --config <file>', 'member daemon configuration (JSON)')
    .requiredOption('-o, --out <image>', 'image to write')
    .option('--software-digest <sha256>', 'digest of the software the box must run (default: this installation)')
    .option('--software-root <dir>', 'compute the software digest from this installed tree')
    .option('--policy <file>', 'security policy (JSON; default: ipsec, encryption required, every implemented algorithm)')
    .option('--log-path <path>', 'error-log area: device or file')
    .option('--log-offset <bytes>', 'error-log area: offset', whole)
    .option('--log-length <bytes>', 'error-log area: length', whole)
    .action(async (o: BuildOpts) => {
      const { buildPersonality, DEFAULT_LOG_AREA } = await import('../../../flash/build.js');
      const { parsePolicy } = await import('../../../flash/policy.js');
      const { encodeImage } = await import('../../../wire/flash-image.js');
      const digest = (await softwareDigestOption(o, 'this')) as Uint8Array;
      const policy = o.policy === undefined ? undefined : parsePolicy(parseJson(await readInput(o.policy, 'policy'), o.policy));
      const logArea = { path: o.logPath ?? DEFAULT_LOG_AREA.path, offset: o.logOffset ?? DEFAULT_LOG_AREA.offset, length: o.logLength ?? DEFAULT_LOG_AREA.length };
      const p = buildPersonality({ configPath: o.config, softwareDigest: digest, logArea, ...(policy ? { policy } : {}) });
      const image = encodeImage(p);
      await writeOutput(o.out, image, { secret: true });
      printLine(`built ${o.out}: ${image.length} bytes, config version ${p.configVersion}, unsigned (sign it with shoal flash sign)`);
    });
}

function parseJson(data: Uint8Array, path: string): unknown {
  try {
    return JSON.parse(Buffer.from(data).toString('utf8'));
  } catch (e) {
    throw new ShoalError('BAD_INPUT', `${path}: not JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function sign(): Command {
  return new Command('sign')
    .description('sign an image with an administrator key (replaces any signature)')
    .argument('<image>', 'image to sign')
    .requiredOption('-k, --key <file>', 'administrator private key (PEM)')
    .requiredOption('-o, --out <image>', 'signed image to write (may be the input)')
    .action(async (path: string, o: { key: string; out: string }) => {
      const { readAdminKey, signImage, keyIdOf, shortKeyId } = await import('../../../flash/signing.js');
      const { decodeImage } = await import('../../../wire/flash-image.js');
      const { refuseDevelopmentKeys } = await import('../../../flash/dev-keys.js');
      const key = readAdminKey(o.key);
      const image = await readInput(path, 'image');
      refuseDevelopmentKeys(decodeImage(image).personality);
      const signed = signImage(image, key);
      await writeOutput(o.out, signed, { secret: true });
      printLine(`signed ${o.out} with key ${shortKeyId(keyIdOf(key))}`);
    });
}

function verify(): Command {
  return new Command('verify')
    .description('check an image as a box would at boot: signer, signature, sections, policy; and the software digest when given')
    .argument('<image>', 'image to check')
    .requiredOption('-r, --trust-root <file>', 'administrator public key or certificate (PEM) the box trusts')
    .option('--software-digest <sha256>', 'check the image names this software digest')
    .option('--software-root <dir>', 'check the image names the digest of this installed tree')
    .option('--json', 'print JSON')
    .action(async (path: string, o: { trustRoot: string; softwareDigest?: string; softwareRoot?: string; json?: boolean }) => {
      const { readTrustRoot, shortKeyId } = await import('../../../flash/signing.js');
      const { slotCheck } = await import('../../../flash/boot.js');
      const digest = await softwareDigestOption(o, 'none');
      const v = slotCheck(readTrustRoot(o.trustRoot), digest)(await readInput(path, 'image'));
      const result = {
        ok: true,
        signer: Buffer.from(v.signer.keyId).toString('hex'),
        configVersion: v.personality.configVersion,
        softwareDigest: Buffer.from(v.personality.softwareDigest).toString('hex'),
        softwareChecked: digest !== null,
      };
      if (o.json) printJson(result);
      else printLine(`ok: signed by ${shortKeyId(v.signer.keyId)} (${v.signer.label}), config version ${result.configVersion}, software digest ${digest === null ? 'not checked' : 'matches'}`);
    });
}

function inspect(): Command {
  return new Command('inspect')
    .description('show every section of an image (private keys only as type and fingerprint)')
    .argument('<image>', 'image to show')
    .option('--json', 'print JSON')
    .action(async (path: string, o: { json?: boolean }) => {
      const { decodeImage } = await import('../../../wire/flash-image.js');
      const { summarise, summaryLines } = await import('../../../flash/inspect.js');
      const { frame, personality } = decodeImage(await readInput(path, 'image'));
      const s = summarise(frame, personality);
      if (o.json) printJson(s);
      else for (const line of summaryLines(s)) printLine(line);
    });
}

function diff(): Command {
  return new Command('diff')
    .description('what changed between two images: versions, configuration keys, certificates, lists, policy, files')
    .argument('<old>', 'image before')
    .argument('<new>', 'image after')
    .option('--json', 'print JSON')
    .action(async (a: string, b: string, o: { json?: boolean }) => {
      const { decodeImage } = await import('../../../wire/flash-image.js');
      const { diffImages } = await import('../../../flash/diff.js');
      const changes = diffImages(decodeImage(await readInput(a, 'image')), decodeImage(await readInput(b, 'image')));
      if (o.json) printJson(changes);
      else if (changes.length === 0) printLine('no differences');
      else for (const c of changes) printLine(`${c.item}: ${c.from} → ${c.to}`);
    });
}

/** Hands the settings it inherits (exit override, error output) on to its subcommands, as `lab` does. */
class FlashCommand extends Command {
  override copyInheritedSettings(source: Command): this {
    super.copyInheritedSettings(source);
    for (const sub of this.commands) sub.copyInheritedSettings(this);
    return this;
  }
}

export function flashCommand(): Command {
  const flash = new FlashCommand('flash').description('build, sign, check and install signed flash personalities (A/B slots)');
  for (const c of [keygen(), build(), sign(), verify(), inspect(), diff(), ...deviceCommands()]) flash.addCommand(c);
  return flash;
}
