/**
 * The administrator's operations on a flash device (`shoal flash install |
 * rollback | status`): the slot rules of slots.ts with the checks of boot.ts.
 * Install checks the signature and the personality but not the software
 * digest: a personality may be installed ahead of the software it names.
 */
import { SLOTS, type BootState, type SlotName } from './boot-state.js';
import { slotCheck } from './boot.js';
import { directoryMedium, type Medium } from './medium.js';
import type { TrustRoot, VerifiedImage } from './signing.js';
import { installImage, readBootState, rollbackSlot, slotFile, type DowngradeOption } from './slots.js';

async function open(device: string | Medium): Promise<Medium> {
  return typeof device === 'string' ? directoryMedium(device) : device;
}

export interface SlotChange {
  slot: SlotName;
  state: BootState;
  image: VerifiedImage;
}

/** Refused below the device's version floor (anti-rollback, slots.ts) unless `options.allowDowngrade`. */
export async function installPersonality(device: string | Medium, image: Uint8Array, trustRoot: TrustRoot, options: DowngradeOption = {}): Promise<SlotChange> {
  const r = await installImage(await open(device), image, slotCheck(trustRoot, null), options);
  return { slot: r.slot, state: r.state, image: r.value };
}

export async function rollbackPersonality(device: string | Medium, trustRoot: TrustRoot, options: DowngradeOption = {}): Promise<SlotChange & { from: SlotName }> {
  const r = await rollbackSlot(await open(device), slotCheck(trustRoot, null), options);
  return { slot: r.slot, state: r.state, image: r.value, from: r.from };
}

export interface DeviceStatus {
  state: BootState | null;
  damaged: string | null;
  /** Bytes in each slot file (null: empty). */
  slots: Record<SlotName, number | null>;
}

export async function deviceStatus(device: string | Medium): Promise<DeviceStatus> {
  const m = await open(device);
  const { state, damaged } = await readBootState(m);
  const slots = { a: null, b: null } as Record<SlotName, number | null>;
  for (const s of SLOTS) slots[s] = (await m.read(slotFile(s)))?.length ?? null;
  return { state, damaged, slots };
}
