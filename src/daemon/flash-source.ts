/**
 * A member's configuration from its signed flash personality (src/flash/):
 * booted (verified, checked against this software, written out to a
 * private runtime directory) before the member starts, and booted again when
 * the device's boot state changes — `shoal flash install` or `rollback` —
 * so an excluded member rejoins once its box got the cluster's version, and
 * `reload` picks up a new personality without a restart of the process.
 *
 * The slot on trial is marked good only after a member started from it
 * (started(), which the supervisor calls); a personality that never gets there is rolled back at the
 * next boot (flash-image/FORMAT.md §6).
 */
import { join } from 'node:path';
import { bootPersonality, type BootedPersonality } from '../flash/boot.js';
import { readTrustRoot } from '../flash/signing.js';
import { BOOT_STATE_FILE } from '../flash/slots.js';
import { installationRoot, softwareDigest } from '../flash/software-digest.js';
import type { DaemonConfig } from './config.js';
import { readDaemonConfig } from './daemon.js';
import { fileSignature, type ConfigSource } from './supervisor.js';

export interface FlashSourceOptions {
  /** The flash device directory (slot-a, slot-b, boot-state). */
  device: string;
  /** PEM with the administrator key(s) or certificate the box was provisioned with. */
  trustRootPath: string;
  /** Where the booted personality is written (0700; keys 0600). */
  runtimeDir: string;
  /** This software's digest (default: the running installation's). */
  softwareDigest?: Uint8Array;
}

export interface FlashConfigSource extends ConfigSource {
  /** What the last boot chose. */
  readonly booted: BootedPersonality;
}

/** Boots the personality now; a refused image throws the ShoalError that names what failed, before anything starts. */
export async function bootFlashSource(o: FlashSourceOptions): Promise<FlashConfigSource> {
  const trustRoot = readTrustRoot(o.trustRootPath);
  const software = o.softwareDigest ?? softwareDigest(installationRoot());
  const stateFile = join(o.device, BOOT_STATE_FILE);
  const signature = (): string => fileSignature(stateFile);
  const boot = async (): Promise<{ booted: BootedPersonality; sig: string }> => {
    // Taken before booting: a change during the boot is seen at the next poll.
    const sig = signature();
    return { booted: await bootPersonality({ device: o.device, trustRoot, softwareDigest: software, runtimeDir: o.runtimeDir }), sig };
  };
  let current = await boot();
  return {
    get where() {
      return `flash ${o.device} slot ${current.booted.slot}`;
    },
    get booted() {
      return current.booted;
    },
    load: (): DaemonConfig => readDaemonConfig(current.booted.configPath),
    changed: () => signature() !== current.sig,
    async refresh() {
      // markGood and rollback write the boot state too: only a real change of slot content needs a new boot
      current = await boot();
    },
    started: () => current.booted.markGood(),
  };
}
