/**
 * Boot from the flash personality store: pick a slot (slots.ts), and accept
 * it only if every check holds; then write it out for the daemon.
 *
 *   device ─► bootSlot ─► per slot: signature by the trust root (signing.ts)
 *                                   software digest = this software's
 *                                   personality consistent, policy kept (personality-check.ts)
 *                                   staged beside runtimeDir, read back by the daemon's loaders
 *          ─► the chosen slot's staging renamed to runtimeDir ─► { configPath, markGood() }
 *
 * Every refusal is a ShoalError whose message names what failed. The caller
 * starts the daemon from configPath and calls markGood() once it runs; a
 * slot on trial that never gets there is rolled back at the next boot.
 */
import type { LogArea } from '../wire/flash-image-sections.js';
import type { SlotName } from './boot-state.js';
import { commit, discard, stage } from './materialise.js';
import { directoryMedium, type Medium } from './medium.js';
import { checkPersonality, checkSoftwareDigest } from './personality-check.js';
import { verifyImage, type TrustRoot, type VerifiedImage } from './signing.js';
import { bootSlot, markGood } from './slots.js';

export interface BootOptions {
  /** The device directory (or a medium, in tests). */
  device: string | Medium;
  /** The administrator key(s) this box was provisioned with: readTrustRoot(path). */
  trustRoot: TrustRoot;
  /** This software's digest: softwareDigest(installationRoot()). */
  softwareDigest: Uint8Array;
  /** Where config.json and its files are written (0700). */
  runtimeDir: string;
}

export interface BootedPersonality {
  configPath: string;
  configVersion: number;
  slot: SlotName;
  /** The slot is on trial until markGood(). */
  trial: boolean;
  rolledBack: { from: SlotName; reason: string } | null;
  logArea: LogArea;
  /** Who signed it (SHA-256 of the key's SPKI). */
  signerKeyId: Uint8Array;
  /** Call once the daemon started from configPath. */
  markGood(): Promise<void>;
}

/** The check a slot must pass to boot (and to be installed, without the software digest: see install). */
export function slotCheck(trustRoot: TrustRoot, software: Uint8Array | null, runtimeDir?: string): (image: Uint8Array) => VerifiedImage {
  return (image) => {
    const v = verifyImage(image, trustRoot);
    if (software !== null) checkSoftwareDigest(v.personality, software);
    checkPersonality(v.personality, runtimeDir);
    return v;
  };
}

export async function bootPersonality(o: BootOptions): Promise<BootedPersonality> {
  const m = typeof o.device === 'string' ? await directoryMedium(o.device) : o.device;
  const verify = slotCheck(o.trustRoot, o.softwareDigest, o.runtimeDir);
  // Each slot tried is staged as part of its check; whatever is not committed is removed.
  const staged: string[] = [];
  let committed: string | null = null;
  try {
    const booted = await bootSlot(m, async (image) => {
      const v = verify(image);
      const dir = await stage(v.personality, o.runtimeDir);
      staged.push(dir);
      return { v, dir, personality: v.personality };
    });
    committed = booted.value.dir;
    const configPath = await commit(booted.value.dir, o.runtimeDir);
    const p = booted.value.v.personality;
    return {
      configPath,
      configVersion: p.configVersion,
      slot: booted.slot,
      trial: booted.trial,
      rolledBack: booted.rolledBack,
      logArea: p.logArea,
      signerKeyId: booted.value.v.signer.keyId,
      markGood: async () => {
        await markGood(m, booted.slot, p.configVersion);
      },
    };
  } finally {
    for (const dir of staged) if (dir !== committed) await discard(dir);
  }
}
