/**
 * A/B personality slots on a flash device: slot-a.img, slot-b.img and the
 * boot-state record (boot-state.ts), every change written atomically.
 *
 *   install:  check image, version ≥ floor ─► write inactive slot (atomic) ─► read back + check
 *             ─► boot state: active = new slot, previous = old, on trial   ← the switch
 *   boot:     on trial with its attempt used up? ─► roll back to previous
 *             on trial? ─► count the attempt (durably, before trying)
 *             check active slot, version ≥ floor ─► ok: boot it │ refused: roll back to previous (if it checks)
 *             not on trial: it is good ─► floor = its version (when higher)
 *   markGood: the daemon started: the active slot is no longer on trial; floor = its version
 *   rollback: explicitly make the previous slot active again (version ≥ floor)
 *
 * Anti-rollback: the floor is the highest config version the box has run
 * (raised only once a slot is good, so a trial that fails can still fall
 * back), and no lower version is installed, rolled back to or booted: an
 * older signed personality (an old trust list, a since-revoked key) cannot
 * be revived by installing it or by copying it over a slot file. Only an
 * administrator's explicit `allowDowngrade` lowers the floor.
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

/** What the slot rules need of an accepted image: its config version, the anti-rollback counter. */
export interface SlotValue {
  readonly personality: { readonly configVersion: number };
}

/** Accepts a slot's image (returning what the caller needs of it) or throws a ShoalError naming what failed. */
export type SlotCheck<T extends SlotValue> = (image: Uint8Array, slot: SlotName) => T | Promise<T>;

const versionOf = (v: SlotValue): number => v.personality.configVersion;

function belowFloor(version: number, floor: number, where: string): ShoalError {
  return new ShoalError(
    'FLASH_DOWNGRADE',
    `${where} config version ${version}, below ${floor}, the highest this box has run (anti-rollback): build it with cluster.configVersion ${floor} or more, or let the administrator allow the downgrade`,
  );
}

/** `check`, and the version no lower than the floor. */
function withFloor<T extends SlotValue>(check: SlotCheck<T>, floor: number): SlotCheck<T> {
  return async (image, slot) => {
    const v = await check(image, slot);
    if (versionOf(v) < floor) throw belowFloor(versionOf(v), floor, `slot ${slot} holds`);
    return v;
  };
}

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

async function checkSlot<T extends SlotValue>(m: Medium, slot: SlotName, check: SlotCheck<T>): Promise<T> {
  const bytes = await m.read(slotFile(slot));
  if (bytes === null) throw new ShoalError('FLASH_SLOT_EMPTY', `slot ${slot} is empty`);
  return await check(bytes, slot);
}

export interface InstallResult<T extends SlotValue> {
  slot: SlotName;
  value: T;
  state: BootState;
}

export interface DowngradeOption {
  /** The administrator accepts a config version below the floor: the floor comes down to it. */
  allowDowngrade?: boolean;
}

/** Writes `image` to the inactive slot and switches to it, on trial (the first install boots as is: there is nothing to fall back to). */
export async function installImage<T extends SlotValue>(m: Medium, image: Uint8Array, check: SlotCheck<T>, options: DowngradeOption = {}): Promise<InstallResult<T>> {
  const { state, damaged } = await readBootState(m);
  if (damaged !== null) throw new ShoalError('FLASH_BOOT_STATE', `boot state on ${m.where} is damaged (${damaged}); boot once to repair it before installing`);
  if (state?.trial === true) {
    throw new ShoalError('FLASH_ON_TRIAL', `slot ${state.active} is on trial: boot it and mark it good, or roll back, before installing another personality`);
  }
  const slot = state === null ? 'a' : otherSlot(state.active);
  const version = versionOf(await check(image, slot));
  const floor = state?.floor ?? 0;
  if (version < floor && options.allowDowngrade !== true) throw belowFloor(version, floor, 'the image has');
  await atomicWrite(m, slotFile(slot), image);
  const value = await checkSlot(m, slot, check);
  const lowered = version < floor ? `config version lowered from ${floor} to ${version} by the administrator` : '';
  const next: BootState =
    state === null
      ? { active: slot, previous: null, trial: false, attempts: 0, generation: 1, floor: version, note: '' }
      : { active: slot, previous: state.active, trial: true, attempts: 0, generation: state.generation + 1, floor: Math.min(floor, version), note: lowered };
  await writeState(m, next);
  return { slot, value, state: next };
}

export interface BootResult<T extends SlotValue> {
  slot: SlotName;
  value: T;
  /** Booting on trial: call markGood once the daemon runs. */
  trial: boolean;
  state: BootState;
  rolledBack: { from: SlotName; reason: string } | null;
}

async function rollBackFrom<T extends SlotValue>(m: Medium, s: BootState, reason: string, check: SlotCheck<T>, cause?: ShoalError): Promise<BootResult<T>> {
  const prev = s.previous;
  if (prev === null) throw cause ?? new ShoalError('FLASH_TRIAL_FAILED', `${reason}, and there is no previous slot to fall back to`);
  let value: T;
  try {
    value = await checkSlot(m, prev, withFloor(check, s.floor));
  } catch (e) {
    if (!(e instanceof ShoalError)) throw e;
    throw new ShoalError(cause?.code ?? e.code, `${reason}; previous slot ${prev} refused too: ${e.message}`);
  }
  // The failed slot is no fallback: previous is cleared until the next install.
  const next: BootState = { active: prev, previous: null, trial: false, attempts: 0, generation: s.generation + 1, floor: Math.max(s.floor, versionOf(value)), note: reason };
  await writeState(m, next);
  return { slot: prev, value, trial: false, state: next, rolledBack: { from: s.active, reason } };
}

/**
 * A boot state lost to damage (or edited: its digest no longer matches): boot the slot with the highest
 * config version that checks, so a damaged record cannot bring an older personality back, and start the
 * floor there; record why.
 */
async function recover<T extends SlotValue>(m: Medium, why: string, check: SlotCheck<T>): Promise<BootResult<T>> {
  const problems: string[] = [];
  let best: { slot: SlotName; value: T } | null = null;
  for (const slot of SLOTS) {
    try {
      const value = await checkSlot(m, slot, check);
      if (best === null || versionOf(value) > versionOf(best.value)) best = { slot, value };
    } catch (e) {
      if (!(e instanceof ShoalError)) throw e;
      problems.push(`slot ${slot}: ${e.message}`);
    }
  }
  if (best === null) throw new ShoalError('FLASH_NO_BOOTABLE_SLOT', `boot state damaged (${why}) and no slot boots: ${problems.join('; ')}`);
  const { slot, value } = best;
  const state: BootState = { active: slot, previous: null, trial: false, attempts: 0, generation: 1, floor: versionOf(value), note: `boot state damaged (${why})` };
  await writeState(m, state);
  return { slot, value, trial: false, state, rolledBack: null };
}

/** Picks the slot to boot, rolling back where the rules say so; throws when none can boot. */
export async function bootSlot<T extends SlotValue>(m: Medium, check: SlotCheck<T>): Promise<BootResult<T>> {
  const { state, damaged } = await readBootState(m);
  if (damaged !== null) return recover(m, damaged, check);
  if (state === null) throw new ShoalError('FLASH_NOT_INSTALLED', `no personality installed on ${m.where}`);
  let s = state;
  if (s.trial && s.attempts >= MAX_TRIAL_ATTEMPTS) return rollBackFrom(m, s, `slot ${s.active} was on trial and its boot was never marked good`, check);
  if (s.trial) {
    s = { ...s, attempts: s.attempts + 1, generation: s.generation + 1 };
    await writeState(m, s);
  }
  let value: T;
  try {
    value = await checkSlot(m, s.active, withFloor(check, s.floor));
  } catch (e) {
    if (!(e instanceof ShoalError)) throw e;
    return rollBackFrom(m, s, `slot ${s.active} refused: ${e.message}`, check, e);
  }
  // A slot not on trial is good: what it runs is the new floor.
  if (!s.trial && versionOf(value) > s.floor) {
    s = { ...s, floor: versionOf(value), generation: s.generation + 1 };
    await writeState(m, s);
  }
  return { slot: s.active, value, trial: s.trial, state: s, rolledBack: null };
}

/** The daemon started from `slot`, which holds config `version`: it is no longer on trial, and the floor rises to it. */
export async function markGood(m: Medium, slot: SlotName, version: number): Promise<BootState> {
  const { state } = await readBootState(m);
  if (state === null || state.active !== slot) throw new ShoalError('FLASH_BOOT_STATE', `cannot mark slot ${slot} good: the boot state on ${m.where} changed meanwhile`);
  if (!state.trial && version <= state.floor) return state;
  const next = { ...state, trial: false, attempts: 0, generation: state.generation + 1, floor: Math.max(state.floor, version) };
  await writeState(m, next);
  return next;
}

/** Makes the previous slot active again, once it checks (and is no older than the floor, unless allowed); the slot left becomes the previous one. */
export async function rollbackSlot<T extends SlotValue>(m: Medium, check: SlotCheck<T>, options: DowngradeOption = {}): Promise<InstallResult<T> & { from: SlotName }> {
  const { state, damaged } = await readBootState(m);
  if (damaged !== null) throw new ShoalError('FLASH_BOOT_STATE', `boot state on ${m.where} is damaged (${damaged})`);
  if (state === null) throw new ShoalError('FLASH_NOT_INSTALLED', `no personality installed on ${m.where}`);
  const prev = state.previous;
  if (prev === null) throw new ShoalError('FLASH_NO_PREVIOUS', `no previous slot to roll back to on ${m.where}`);
  let value: T;
  try {
    value = await checkSlot(m, prev, options.allowDowngrade === true ? check : withFloor(check, state.floor));
  } catch (e) {
    if (!(e instanceof ShoalError)) throw e;
    throw new ShoalError(e.code, `cannot roll back to slot ${prev}: ${e.message}`);
  }
  const version = versionOf(value);
  const lowered = version < state.floor ? `; config version lowered from ${state.floor} to ${version}` : '';
  const next: BootState = {
    active: prev,
    previous: state.active,
    trial: false,
    attempts: 0,
    generation: state.generation + 1,
    floor: Math.min(state.floor, version),
    note: `rolled back from slot ${state.active} by the administrator${lowered}`,
  };
  await writeState(m, next);
  return { slot: prev, value, state: next, from: state.active };
}
