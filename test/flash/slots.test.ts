/**
 * A/B slots (src/flash/slots.ts) with real signed personalities: install
 * switches to the inactive slot on trial; markGood confirms it; a trial slot
 * that never confirmed, or an active slot that no longer verifies, is rolled
 * back to the previous one (and why is recorded); an explicit rollback
 * switches back. Runs on the in-memory medium and on a real directory.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { slotCheck } from '../../src/flash/boot.js';
import { deviceStatus, installPersonality, rollbackPersonality } from '../../src/flash/device.js';
import { MemoryMedium } from '../../src/flash/medium-memory.js';
import { directoryMedium, type Medium } from '../../src/flash/medium.js';
import { bootSlot, markGood, readBootState, slotFile, BOOT_STATE_FILE } from '../../src/flash/slots.js';
import { signImage } from '../../src/flash/signing.js';
import { adminKey } from './member-fixture.js';
import { signedMember, SOFTWARE, type Signed } from './personalities.js';

const dir = mkdtempSync(join(tmpdir(), 'shoal-slots-'));
let s: Signed;
beforeAll(async () => {
  s = await signedMember(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const boot = (m: Medium) => bootSlot(m, slotCheck(s.root, SOFTWARE));
const version = (r: { value: { personality: { configVersion: number } } }): number => r.value.personality.configVersion;

async function tamper(m: Medium, slot: 'a' | 'b', at = 200): Promise<void> {
  const img = (await m.read(slotFile(slot))) ?? new Uint8Array(0);
  img[at] = (img[at] ?? 0) ^ 0xff;
  await m.write(slotFile(slot), img);
}

for (const kind of ['memory', 'directory'] as const) {
  let n = 0;
  const fresh = async (): Promise<Medium> => (kind === 'memory' ? new MemoryMedium() : directoryMedium(join(dir, `dev-${n++}`)));

  describe(`A/B slots on a ${kind} device`, () => {
    it('installs the first personality in slot a, not on trial (nothing to fall back to)', async () => {
      const m = await fresh();
      await expect(boot(m)).rejects.toThrow(/no personality installed/);
      const r = await installPersonality(m, s.image, s.root);
      expect(r.slot).toBe('a');
      expect(r.state).toMatchObject({ active: 'a', previous: null, trial: false });
      const b = await boot(m);
      expect([b.slot, b.trial, version(b), b.rolledBack]).toEqual(['a', false, 1, null]);
    });

    it('switches to the other slot on trial; markGood confirms it', async () => {
      const m = await fresh();
      await installPersonality(m, s.image, s.root);
      const r = await installPersonality(m, s.v2, s.root);
      expect(r.state).toMatchObject({ active: 'b', previous: 'a', trial: true, attempts: 0 });
      const b = await boot(m);
      expect([b.slot, b.trial, version(b)]).toEqual(['b', true, 2]);
      expect((await readBootState(m)).state).toMatchObject({ trial: true, attempts: 1 });
      await expect(installPersonality(m, s.image, s.root)).rejects.toThrow(/slot b is on trial/);
      await markGood(m, 'b');
      expect((await readBootState(m)).state).toMatchObject({ active: 'b', previous: 'a', trial: false, attempts: 0 });
      const again = await boot(m);
      expect([again.slot, again.trial, version(again)]).toEqual(['b', false, 2]);
    });

    it('rolls a trial slot back after one boot that was never marked good, recording why', async () => {
      const m = await fresh();
      await installPersonality(m, s.image, s.root);
      await installPersonality(m, s.v2, s.root);
      expect((await boot(m)).slot).toBe('b'); // the daemon "crashes" before markGood
      const b = await boot(m);
      expect([b.slot, version(b)]).toEqual(['a', 1]);
      expect(b.rolledBack).toEqual({ from: 'b', reason: 'slot b was on trial and its boot was never marked good' });
      expect((await readBootState(m)).state).toMatchObject({ active: 'a', previous: null, trial: false, note: 'slot b was on trial and its boot was never marked good' });
      await expect(rollbackPersonality(m, s.root)).rejects.toThrow(/no previous slot/);
    });

    it('rolls back when the active slot no longer verifies, naming the failure', async () => {
      const m = await fresh();
      await installPersonality(m, s.image, s.root);
      await installPersonality(m, s.v2, s.root);
      await markGood(m, 'b');
      await tamper(m, 'b');
      const b = await boot(m);
      expect(b.slot).toBe('a');
      expect(b.rolledBack?.reason).toMatch(/^slot b refused: flash image: signature does not verify/);
    });

    it('refuses to boot when both slots fail, naming both failures', async () => {
      const m = await fresh();
      await installPersonality(m, s.image, s.root);
      await installPersonality(m, s.v2, s.root);
      await markGood(m, 'b');
      await tamper(m, 'b');
      await tamper(m, 'a');
      await expect(boot(m)).rejects.toThrow(/^slot b refused: flash image: signature does not verify.*; previous slot a refused too: flash image: signature does not verify/);
    });

    it('switches back explicitly with rollback, and forward again', async () => {
      const m = await fresh();
      await installPersonality(m, s.image, s.root);
      await installPersonality(m, s.v2, s.root);
      const r = await rollbackPersonality(m, s.root);
      expect([r.from, r.slot, r.image.personality.configVersion]).toEqual(['b', 'a', 1]);
      expect(r.state).toMatchObject({ active: 'a', previous: 'b', trial: false });
      expect(version(await boot(m))).toBe(1);
      const fwd = await rollbackPersonality(m, s.root);
      expect([fwd.slot, fwd.image.personality.configVersion]).toEqual(['b', 2]);
    });

    it('refuses to install an image that does not verify, and leaves the device as it was', async () => {
      const m = await fresh();
      await installPersonality(m, s.image, s.root);
      const before = await deviceStatus(m);
      const other = signImage(s.v2, adminKey().privateKey);
      await expect(installPersonality(m, other, s.root)).rejects.toThrow(/which this box does not trust/);
      expect(await deviceStatus(m)).toEqual(before);
      expect(before.slots).toEqual({ a: s.image.length, b: null });
    });

    it('recovers from a damaged boot-state record by booting a slot that verifies', async () => {
      const m = await fresh();
      await installPersonality(m, s.image, s.root);
      await m.write(BOOT_STATE_FILE, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
      expect((await deviceStatus(m)).damaged).toMatch(/check digest does not match/);
      const b = await boot(m);
      expect(b.slot).toBe('a');
      expect(b.state.note).toMatch(/^boot state damaged/);
    });
  });
}

describe('boot state on disk', () => {
  it('is a small file next to the two slot images', async () => {
    const d = join(dir, 'layout');
    const m = await directoryMedium(d);
    await installPersonality(m, s.image, s.root);
    await installPersonality(m, s.v2, s.root);
    expect((await m.list()).sort()).toEqual(['boot-state', 'slot-a.img', 'slot-b.img']);
    writeFileSync(join(d, 'stray.tmp'), 'x'); // unrelated files are ignored
    expect((await boot(m)).slot).toBe('b');
  });
});
