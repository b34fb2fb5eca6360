/**
 * A/B personality slots on a flash device: slot-a.img, slot-b.img and the
 * boot-state record (boot-state.ts), every change written atomically.
 *
 *   install:  check image ─► write inactive slot (atomic) ─► read back + check
 *             ─► boot state: active = new slot, previous = old, on trial   ← the switch
 *   boot:     on trial with its attempt used up? ─► roll back to previous
 *             on trial? ─► count the attempt (durably, before trying)
 *             check active slot ─► ok: boot it │ refused: roll back to previous (if it checks)
 *   markGood: the daemon started: the active slot is no longer on trial
 *   rollback: explicitly make the previous slot active again
 *
 * A power cut at any step leaves either the old boot state (old slot boots)
 * or the new one (new slot boots on trial): the switch is one rename.
 * Slot contents are checked by the caller's `check` (signature, digest,
 * policy), which throws a ShoalError naming what failed.
 */
import { ShoalError } from '../lib/errors.js';
import { decodeBootState, encodeBootState, otherSlot, SLOTS, type BootState, type SlotName } from './boot-state.js';
import { atomicWrite, type Medium } from './medium.js';

export const BOOT_STATE_FILE = 'boot-state';
/** Boots a slot on trial gets before it is rolled back (unless marked good). */
export const MAX_TRIAL_ATTEMPTS = 1;

export function slotFile(s: SlotName): string {
  return `slot-${s}.img`;
}

/** Accepts a slot's image (returning what the caller needs of it) or throws a ShoalError naming what failed. */
export type SlotCheck<T> = (image: Uint8Array, slot: SlotName) => T | Promise<T>;

export interface StoredState {
  state: BootState | null;
  /** Set when a boot-state file exists but cannot be used. */
  damaged: string | null;
}

export async function readBootState(m: Medium): Promise<StoredState> {
  const bytes = await m.read(BOOT_STATE_FILE);
  if (bytes === null) return { state: null, damaged: null };
  const r = decodeBootState(bytes);
  return r.ok ? { state: r.value, damaged: null } : { state: null, damaged: r.why };
}

async function writeState(m: Medium, s: BootState): Promise<void> {
  await atomicWrite(m, BOOT_STATE_FILE, encodeBootState(s));
}

async function checkSlot<T>(m: Medium, slot: SlotName, check: SlotCheck<T>): Promise<T> {
  const bytes = await m.read(slotFile(slot));
  if (bytes === null) throw new ShoalError('FLASH_SLOT_EMPTY', `slot ${slot} is empty`);
  return await check(bytes, slot);
}

export interface InstallResult<T> {
  slot: SlotName;
  value: T;
  state: BootState;
}

/** Writes `image` to the inactive slot and switches to it, on trial (the first install boots as is: there is nothing to fall back to). */
export async function installImage<T>(m: Medium, image: Uint8Array, check: SlotCheck<T>): Promise<InstallResult<T>> {
  const { state, damaged } = await readBootState(m);
  if (damaged !== null) throw new ShoalError('FLASH_BOOT_STATE', `boot state on ${m.where} is damaged (${damaged}); boot once to repair it before installing`);
  if (state?.trial === true) {
    throw new ShoalError('FLASH_ON_TRIAL', `slot ${state.active} is on trial: boot it and mark it good, or roll back, before installing another personality`);
  }
  const slot = state === null ? 'a' : otherSlot(state.active);
  await check(image, slot);
  await atomicWrite(m, slotFile(slot), image);
  const value = await checkSlot(m, slot, check);
  const next: BootState =
    state === null
      ? { active: slot, previous: null, trial: false, attempts: 0, generation: 1, note: '' }
      : { active: slot, previous: state.active, trial: true, attempts: 0, generation: state.generation + 1, note: '' };
  await writeState(m, next);
  return { slot, value, state: next };
}

export interface BootResult<T> {
  slot: SlotName;
  value: T;
  /** Booting on trial: call markGood once the daemon runs. */
  trial: boolean;
  state: BootState;
  rolledBack: { from: SlotName; reason: string } | null;
}

async function rollBackFrom<T>(m: Medium, s: BootState, reason: string, check: SlotCheck<T>, cause?: ShoalError): Promise<BootResult<T>> {
  const prev = s.previous;
  if (prev === null) throw cause ?? new ShoalError('FLASH_TRIAL_FAILED', `${reason}, and there is no previous slot to fall back to`);
  let value: T;
  try {
    value = await checkSlot(m, prev, check);
  } catch (e) {
    if (!(e instanceof ShoalError)) throw e;
    throw new ShoalError(cause?.code ?? e.code, `${reason}; previous slot ${prev} refused too: ${e.message}`);
  }
  // The failed slot is no fallback: previous is cleared until the next install.
  const next: BootState = { active: prev, previous: null, trial: false, attempts: 0, generation: s.generation + 1, note: reason };
  await writeState(m, next);
  return { slot: prev, value, trial: false, state: next, rolledBack: { from: s.active, reason } };
}

/** A boot state lost to damage: boot the first slot that checks, and record why. */
async function recover<T>(m: Medium, why: string, check: SlotCheck<T>): Promise<BootResult<T>> {
  const problems: string[] = [];
  for (const slot of SLOTS) {
    try {
      const value = await checkSlot(m, slot, check);
      const state: BootState = { active: slot, previous: null, trial: false, attempts: 0, generation: 1, note: `boot state damaged (${why})` };
      await writeState(m, state);
      return { slot, value, trial: false, state, rolledBack: null };
    } catch (e) {
      if (!(e instanceof ShoalError)) throw e;
      problems.push(`slot ${slot}: ${e.message}`);
    }
  }
  throw new ShoalError('FLASH_NO_BOOTABLE_SLOT', `boot state damaged (${why}) and no slot boots: ${problems.join('; ')}`);
}

/** Picks the slot to boot, rolling back where the rules say so; throws when none can boot. */
export async function bootSlot<T>(m: Medium, check: SlotCheck<T>): Promise<BootResult<T>> {
  const { state, damaged } = await readBootState(m);
  if (damaged !== null) return recover(m, damaged, check);
  if (state === null) throw new ShoalError('FLASH_NOT_INSTALLED', `no personality installed on ${m.where}`);
  let s = state;
  if (s.trial && s.attempts >= MAX_TRIAL_ATTEMPTS) return rollBackFrom(m, s, `slot ${s.active} was on trial and its boot was never marked good`, check);
  if (s.trial) {
    s = { ...s, attempts: s.attempts + 1, generation: s.generation + 1 };
    await writeState(m, s);
  }
  try {
    const value = await checkSlot(m, s.active, check);
    return { slot: s.active, value, trial: s.trial, state: s, rolledBack: null };
  } catch (e) {
    if (!(e instanceof ShoalError)) throw e;
    return rollBackFrom(m, s, `slot ${s.active} refused: ${e.message}`, check, e);
  }
}

/** The daemon started from `slot`: it is no longer on trial. */
export async function markGood(m: Medium, slot: SlotName): Promise<BootState> {
  const { state } = await readBootState(m);
  if (state === null || state.active !== slot) throw new ShoalError('FLASH_BOOT_STATE', `cannot mark slot ${slot} good: the boot state on ${m.where} changed meanwhile`);
  if (!state.trial) return state;
  const next = { ...state, trial: false, attempts: 0, generation: state.generation + 1 };
  await writeState(m, next);
  return next;
}

/** Makes the previous slot active again, once it checks; the slot left becomes the previous one. */
export async function rollbackSlot<T>(m: Medium, check: SlotCheck<T>): Promise<InstallResult<T> & { from: SlotName }> {
  const { state, damaged } = await readBootState(m);
  if (damaged !== null) throw new ShoalError('FLASH_BOOT_STATE', `boot state on ${m.where} is damaged (${damaged})`);
  if (state === null) throw new ShoalError('FLASH_NOT_INSTALLED', `no personality installed on ${m.where}`);
  const prev = state.previous;
  if (prev === null) throw new ShoalError('FLASH_NO_PREVIOUS', `no previous slot to roll back to on ${m.where}`);
  let value: T;
  try {
    value = await checkSlot(m, prev, check);
  } catch (e) {
    if (!(e instanceof ShoalError)) throw e;
    throw new ShoalError(e.code, `cannot roll back to slot ${prev}: ${e.message}`);
  }
  const next: BootState = { active: prev, previous: state.active, trial: false, attempts: 0, generation: state.generation + 1, note: `rolled back from slot ${state.active} by the administrator` };
  await writeState(m, next);
  return { slot: prev, value, state: next, from: state.active };
}
