/**
 * Power cuts at every mutating step of install and of boot, with every way a
 * file system can come back (un-fsynced data old / empty / half / whole;
 * unsynced directory entries old / new; the step itself not done or done but
 * not durable). Afterwards the device must always boot a valid slot: the old
 * personality, or the new one once the switch was durable — and a new one
 * that boots is on trial, so it can still be rolled back. The anti-rollback
 * floor moves with the record: never above the version that boots, never
 * lost, raised only by a durable markGood, lowered only by an allowed
 * downgrade that took effect.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { slotCheck } from '../../src/flash/boot.js';
import { installPersonality } from '../../src/flash/device.js';
import { DIR_OUTCOMES, MemoryMedium, PowerCut, TORN_DATA } from '../../src/flash/medium-memory.js';
import { bootSlot, markGood, readBootState } from '../../src/flash/slots.js';
import { signedMember, SOFTWARE, type Signed } from './personalities.js';

const dir = mkdtempSync(join(tmpdir(), 'shoal-cut-'));
let s: Signed;
beforeAll(async () => {
  s = await signedMember(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const check = () => slotCheck(s.root, SOFTWARE);

/** Version 1 installed and confirmed good. */
async function deviceWithV1(): Promise<MemoryMedium> {
  const m = new MemoryMedium();
  await installPersonality(m, s.image, s.root);
  await markGood(m, 'a', 1);
  return m;
}

/** How many mutating steps `op` takes on a medium made by `setup`, uninterrupted. */
async function stepsOf(setup: () => Promise<MemoryMedium>, op: (m: MemoryMedium) => Promise<unknown>): Promise<number> {
  const m = await setup();
  const before = m.steps;
  await op(m);
  return m.steps - before;
}

/** Runs `op` with a cut after each step, in each mode; yields every device as it comes back. */
async function* everyCut(setup: () => Promise<MemoryMedium>, op: (m: MemoryMedium) => Promise<unknown>): AsyncGenerator<{ m: MemoryMedium; k: number; label: string }> {
  const total = await stepsOf(setup, op);
  expect(total).toBeGreaterThanOrEqual(4); // at least one atomic write: data, fsync, rename, directory sync
  for (let k = 0; k <= total; k++) {
    for (const during of [false, true]) {
      const m = await setup();
      m.planCut({ afterSteps: m.steps + k, during });
      let cut = false;
      try {
        await op(m);
      } catch (e) {
        if (!(e instanceof PowerCut)) throw e;
        cut = true;
      }
      expect(cut, `cut after ${k} of ${total} steps`).toBe(k < total);
      for (const torn of TORN_DATA) for (const d of DIR_OUTCOMES) yield { m: m.restart(torn, d), k, label: `cut after step ${k}/${total}${during ? ' (during)' : ''}, data ${torn}, dir ${d}` };
    }
  }
}

describe('power cut during install', () => {
  it('always leaves a bootable device: the old personality, or the new one on trial', async () => {
    const outcomes = new Map<number, number>();
    const total = await stepsOf(deviceWithV1, (m) => installPersonality(m, s.v2, s.root));
    for await (const { m, k, label } of everyCut(deviceWithV1, (m) => installPersonality(m, s.v2, s.root))) {
      const b = await bootSlot(m, check());
      const v = b.value.personality.configVersion;
      outcomes.set(v, (outcomes.get(v) ?? 0) + 1);
      expect(b.state.floor, label).toBe(1); // version 2 is not run yet
      expect(b.state.floor, label).toBeLessThanOrEqual(v);
      if (v === 1) expect([b.slot, b.trial], label).toEqual(['a', false]);
      else {
        expect([b.slot, b.trial], label).toEqual(['b', true]);
        // The switch is the last step: before it nothing may have changed what boots.
        expect(k, label).toBeGreaterThanOrEqual(total - 2);
        // Not marked good: the next boot goes back to version 1.
        const again = await bootSlot(m, check());
        expect([again.slot, again.value.personality.configVersion], label).toEqual(['a', 1]);
      }
      if (k === 0) expect(v, label).toBe(1);
      if (k === total) expect(v, label).toBe(2);
    }
    expect(outcomes.get(1)).toBeGreaterThan(0);
    expect(outcomes.get(2)).toBeGreaterThan(0);
  });
});

describe('power cut during boot', () => {
  /** Version 2 installed over version 1, on trial, never booted. */
  async function onTrial(): Promise<MemoryMedium> {
    const m = await deviceWithV1();
    await installPersonality(m, s.v2, s.root);
    return m;
  }
  /** …and booted once without being marked good (the next boot rolls back). */
  async function trialUsedUp(): Promise<MemoryMedium> {
    const m = await onTrial();
    await bootSlot(m, check());
    return m;
  }

  it('while counting a trial attempt: boots the trial slot again or rolls back, never neither', async () => {
    for await (const { m, label } of everyCut(onTrial, (m) => bootSlot(m, check()))) {
      const b = await bootSlot(m, check());
      if (b.slot === 'b') expect([b.trial, (await readBootState(m)).state?.attempts], label).toEqual([true, 1]);
      else expect(b.rolledBack?.from, label).toBe('b');
    }
  });

  it('while rolling back a trial slot: always ends on the old personality', async () => {
    for await (const { m, label } of everyCut(trialUsedUp, (m) => bootSlot(m, check()))) {
      const b = await bootSlot(m, check());
      expect([b.slot, b.value.personality.configVersion, b.trial], label).toEqual(['a', 1, false]);
    }
  });
});

describe('power cut around the version floor', () => {
  /** Version 2 installed over version 1 and booted once on trial: the daemon runs, markGood is next. */
  async function v2Running(): Promise<MemoryMedium> {
    const m = await deviceWithV1();
    await installPersonality(m, s.v2, s.root);
    await bootSlot(m, check());
    return m;
  }
  /** …and marked good: the floor is 2. */
  async function v2Good(): Promise<MemoryMedium> {
    const m = await v2Running();
    await markGood(m, 'b', 2);
    return m;
  }

  it('while marking good: version 2 good with floor 2, or the trial lost and version 1 with floor 1', async () => {
    const seen = new Set<string>();
    for await (const { m, label } of everyCut(v2Running, (m) => markGood(m, 'b', 2))) {
      const b = await bootSlot(m, check());
      const got = [b.slot, b.value.personality.configVersion, b.trial, b.state.floor];
      if (b.slot === 'b') expect(got, label).toEqual(['b', 2, false, 2]);
      else expect(got, label).toEqual(['a', 1, false, 1]);
      seen.add(b.slot);
    }
    expect([...seen].sort()).toEqual(['a', 'b']);
  });

  it('while an allowed downgrade installs: version 2 with floor 2, or version 1 on trial with floor 1; a refused one changes nothing', async () => {
    const seen = new Set<number>();
    const downgrade = (m: MemoryMedium) => installPersonality(m, s.image, s.root, { allowDowngrade: true });
    for await (const { m, label } of everyCut(v2Good, downgrade)) {
      const b = await bootSlot(m, check());
      const got = [b.slot, b.value.personality.configVersion, b.trial, b.state.floor];
      if (b.slot === 'b') expect(got, label).toEqual(['b', 2, false, 2]);
      else expect(got, label).toEqual(['a', 1, true, 1]);
      seen.add(b.value.personality.configVersion);
    }
    expect([...seen].sort()).toEqual([1, 2]);
    const m = await v2Good();
    const before = m.steps;
    await expect(installPersonality(m, s.image, s.root)).rejects.toMatchObject({ code: 'FLASH_DOWNGRADE' });
    expect(m.steps).toBe(before);
  });
});
