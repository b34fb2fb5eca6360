/**
 * The flash device port (src/flash/medium.ts): one contract for the real
 * directory and the in-memory medium, then the in-memory medium's power-cut
 * model — what survives depends on fsync and on syncing the directory, as
 * on a real file system.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryMedium, PowerCut } from '../../src/flash/medium-memory.js';
import { atomicWrite, directoryMedium, type Medium } from '../../src/flash/medium.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array | null): string | null => (b === null ? null : new TextDecoder().decode(b));
const scratch = mkdtempSync(join(tmpdir(), 'shoal-medium-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function contract(name: string, open: () => Promise<Medium>): void {
  describe(`${name}: the medium contract`, () => {
    it('reads what was written, null for a missing file, and lists files', async () => {
      const m = await open();
      expect(await m.read('x')).toBeNull();
      await m.write('x', bytes('one'));
      await m.fsync('x');
      expect(text(await m.read('x'))).toBe('one');
      await m.write('x', bytes('two!'));
      expect(text(await m.read('x'))).toBe('two!');
      expect(await m.list()).toEqual(['x']);
    });

    it('renames over an existing file and unlinks (twice without complaint)', async () => {
      const m = await open();
      await m.write('a', bytes('A'));
      await m.write('b', bytes('B'));
      await m.rename('a', 'b');
      expect(text(await m.read('b'))).toBe('A');
      expect(await m.read('a')).toBeNull();
      await m.unlink('b');
      await m.unlink('b');
      expect(await m.list()).toEqual([]);
    });

    it('atomicWrite replaces a file and leaves no temporary behind', async () => {
      const m = await open();
      await atomicWrite(m, 'state', bytes('v1'));
      await atomicWrite(m, 'state', bytes('v2'));
      await m.syncDir();
      expect(text(await m.read('state'))).toBe('v2');
      expect(await m.list()).toEqual(['state']);
    });
  });
}

let n = 0;
contract('directory', () => directoryMedium(join(scratch, `dev${n++}`)));
contract('memory', async () => new MemoryMedium());

describe('directory medium', () => {
  it('creates the device directory 0700 and its files 0600 (images carry private keys)', async () => {
    const dir = join(scratch, 'perm');
    const m = await directoryMedium(dir);
    await m.write('slot-a.img', bytes('x'));
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'slot-a.img')).mode & 0o777).toBe(0o600);
  });

  it('refuses a file name that is not one plain path component', async () => {
    const m = await directoryMedium(join(scratch, 'names'));
    await expect(m.write('../escape', bytes('x'))).rejects.toThrow(/not one plain path component/);
  });
});

describe('memory medium power cuts', () => {
  it('keeps only fsynced data and synced directory entries (outcome "old")', async () => {
    const m = new MemoryMedium();
    await m.write('kept', bytes('durable'));
    await m.fsync('kept');
    await m.syncDir();
    await m.write('kept', bytes('not synced'));
    await m.write('new', bytes('never synced'));
    const after = m.restart('old', 'old');
    expect(text(await after.read('kept'))).toBe('durable');
    expect(await after.read('new')).toBeNull();
  });

  it('can tear un-fsynced data: empty, half, or whole', async () => {
    const m = new MemoryMedium();
    await m.write('f', bytes('abcdefgh'));
    expect(text(await m.restart('empty', 'new').read('f'))).toBe('');
    expect(text(await m.restart('prefix', 'new').read('f'))).toBe('abcd');
    expect(text(await m.restart('new', 'new').read('f'))).toBe('abcdefgh');
    expect(text(await m.restart('old', 'new').read('f'))).toBe('');
  });

  it('an unsynced rename may or may not survive; after syncDir it does', async () => {
    const m = new MemoryMedium();
    await atomicWrite(m, 'state', bytes('v1'));
    await m.write('state.tmp', bytes('v2'));
    await m.fsync('state.tmp');
    await m.rename('state.tmp', 'state');
    expect(text(await m.restart('old', 'old').read('state'))).toBe('v1');
    expect(text(await m.restart('old', 'new').read('state'))).toBe('v2');
    await m.syncDir();
    expect(text(await m.restart('old', 'old').read('state'))).toBe('v2');
  });

  it('stops at the planned step and refuses every later call', async () => {
    const m = new MemoryMedium();
    m.planCut({ afterSteps: 2 });
    await m.write('a', bytes('1'));
    await m.fsync('a');
    await expect(m.rename('a', 'b')).rejects.toBeInstanceOf(PowerCut);
    expect(m.poweredOff).toBe(true);
    await expect(m.read('a')).rejects.toBeInstanceOf(PowerCut);
    expect(text(await m.restart('old', 'new').read('a'))).toBe('1');
    expect(await m.restart('old', 'new').read('b')).toBeNull();
  });

  it('with "during", the interrupted step is visible (but not durable) when the power goes', async () => {
    const m = new MemoryMedium();
    await atomicWrite(m, 'a', bytes('1'));
    m.planCut({ afterSteps: m.steps, during: true });
    await expect(m.rename('a', 'b')).rejects.toBeInstanceOf(PowerCut);
    expect(await m.restart('old', 'new').read('b')).not.toBeNull();
    expect(await m.restart('old', 'old').read('b')).toBeNull();
  });
});
