/**
 * A/B slots (src/flash/slots.ts) with real signed personalities: install
 * switches to the inactive slot on trial; markGood confirms it; a trial slot
 * that never confirmed, or an active slot that no longer verifies, is rolled
 * back to the previous one (and why is recorded); an explicit rollback
 * switches back. Anti-rollback: no config version below the highest the box
 * has run is installed, rolled back to or booted (an older signed image
 * copied over a slot included) unless the administrator allows it; the
 * record's digest catches an edit. Runs on the in-memory medium and on a
 * real directory.
 */
import { createHash } from 'node:crypto';
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
      await markGood(m, 'b', 2);
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
      await tamper(m, 'b');
      const b = await boot(m);
      expect(b.slot).toBe('a');
      expect(b.rolledBack?.reason).toMatch(/^slot b refused: flash image: signature does not verify/);
    });

    it('a damaged slot of the version it has run does not fall back to an older one (a member of the cluster at 2 would be excluded at 1 anyway)', async () => {
      const m = await fresh();
      await installPersonality(m, s.image, s.root);
      await installPersonality(m, s.v2, s.root);
      await markGood(m, 'b', 2);
      await tamper(m, 'b');
      await expect(boot(m)).rejects.toThrow(/^slot b refused: flash image: signature does not verify.*; previous slot a refused too: slot a holds config version 1, below 2/);
    });

    it('refuses to boot when both slots fail, naming both failures', async () => {
      const m = await fresh();
      await installPersonality(m, s.image, s.root);
      await installPersonality(m, s.v2, s.root);
      await markGood(m, 'b', 2);
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

    /** Version 1 in slot a, version 2 in slot b, run and marked good: the floor is 2. */
    async function ranV2(): Promise<Medium> {
      const m = await fresh();
      await installPersonality(m, s.image, s.root);
      await installPersonality(m, s.v2, s.root);
      expect((await boot(m)).slot).toBe('b');
      await markGood(m, 'b', 2);
      expect((await readBootState(m)).state).toMatchObject({ active: 'b', trial: false, floor: 2 });
      return m;
    }

    it('refuses to install a config version below the highest the box has run, leaving the device as it was', async () => {
      const m = await ranV2();
      const before = await deviceStatus(m);
      await expect(installPersonality(m, s.image, s.root)).rejects.toMatchObject({
        code: 'FLASH_DOWNGRADE',
        message:
          'the image has config version 1, below 2, the highest this box has run (anti-rollback): build it with cluster.configVersion 2 or more, or let the administrator allow the downgrade',
      });
      expect(await deviceStatus(m)).toEqual(before);
      // The administrator may, explicitly: the floor comes down with it, and the note says so.
      const r = await installPersonality(m, s.image, s.root, { allowDowngrade: true });
      expect(r.state).toMatchObject({ active: 'a', previous: 'b', trial: true, floor: 1, note: 'config version lowered from 2 to 1 by the administrator' });
      const b = await boot(m);
      expect([b.slot, version(b)]).toEqual(['a', 1]);
    });

    it('refuses an explicit rollback to an older version than it has run, unless allowed', async () => {
      const m = await ranV2();
      await expect(rollbackPersonality(m, s.root)).rejects.toMatchObject({ code: 'FLASH_DOWNGRADE', message: expect.stringMatching(/^cannot roll back to slot a: slot a holds config version 1, below 2/) as string });
      const r = await rollbackPersonality(m, s.root, { allowDowngrade: true });
      expect(r.state).toMatchObject({ active: 'a', previous: 'b', floor: 1, note: 'rolled back from slot b by the administrator; config version lowered from 2 to 1' });
      expect(version(await boot(m))).toBe(1);
    });

    it('refuses to boot an older signed image copied over the active slot (and over the fallback)', async () => {
      const m = await ranV2();
      await m.write(slotFile('b'), s.image); // a genuine, signed version 1
      await expect(boot(m)).rejects.toMatchObject({
        code: 'FLASH_DOWNGRADE',
        message: expect.stringMatching(/^slot b refused: slot b holds config version 1, below 2, .*; previous slot a refused too: slot a holds config version 1, below 2/) as string,
      });
    });

    it('a trial that fails still falls back: the floor rises only once a slot ran', async () => {
      const m = await fresh();
      await installPersonality(m, s.image, s.root);
      expect((await boot(m)).state.floor).toBe(1);
      await installPersonality(m, s.v2, s.root);
      expect((await boot(m)).state).toMatchObject({ active: 'b', trial: true, floor: 1 });
      const b = await boot(m); // never marked good
      expect([b.slot, version(b), b.state.floor]).toEqual(['a', 1, 1]);
    });

    it('an edited record fails its digest; the recovery boots the newest version that checks and starts the floor there', async () => {
      const m = await ranV2();
      const rec = (await m.read(BOOT_STATE_FILE)) ?? new Uint8Array(0);
      rec[19] = 0; // floor 2 → 0, the digest left as it was
      await m.write(BOOT_STATE_FILE, rec);
      expect((await deviceStatus(m)).damaged).toMatch(/check digest does not match/);
      const b = await boot(m);
      expect([b.slot, version(b), b.state.floor]).toEqual(['b', 2, 2]);
      expect(b.state.note).toMatch(/^boot state damaged/);
    });

    it('reads a version 1 record (a 4-byte check, no floor) as damaged rather than trusting it', async () => {
      const m = await ranV2();
      const body = Uint8Array.of(0x53, 0x48, 0x42, 0x53, 1, 0, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0);
      const old = new Uint8Array([...body, ...createHash('sha256').update(body).digest().subarray(0, 4)]);
      await m.write(BOOT_STATE_FILE, old);
      expect((await deviceStatus(m)).damaged).toBe('bad-version: record version 1 (this software writes 2)');
      const b = await boot(m);
      expect([b.slot, version(b), b.state.floor]).toEqual(['b', 2, 2]);
    });

    it('recovers from a damaged boot-state record by booting a slot that verifies', async () => {
      const m = await fresh();
      await installPersonality(m, s.image, s.root);
      await m.write(BOOT_STATE_FILE, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
      expect((await deviceStatus(m)).damaged).toMatch(/not a boot-state record/);
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
