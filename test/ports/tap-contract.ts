/**
 * The compliance suite every TapDevice passes (STYLE.md §8): the in-memory
 * interface and a real Linux tap in a namespace run the same tests, so the
 * double cannot drift from the real thing.
 *
 *   harness.send(frames) ──► kernel side ──► device.readBatch / read
 *   device.writeBatch / write ──► kernel side ──► harness.receive(count)
 *
 * The suite's frames carry EtherType 0x88B5 (IEEE local experimental) and
 * unicast locally administered MACs; `receive` may ignore anything else.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ShoalError } from '../../src/lib/errors.js';
import { FrameBatch, type Frame, type TapDevice } from '../../src/ports/tap.js';

export const CONTRACT_ETHERTYPE = 0x88b5;

export interface TapHarness {
  /** The device under test: a TAP queue whose link is up. */
  device: TapDevice;
  /** Make the kernel side send these frames out of the device's interface, in order. */
  send(frames: Frame[]): void | Promise<void>;
  /** Frames the device sent, in order, once `count` have arrived or `timeoutMs` has passed. */
  receive(count: number, timeoutMs: number): Promise<Frame[]>;
  /** `ip link set … up|down` on the device's interface. */
  setLinkUp(up: boolean): void | Promise<void>;
  close(): void | Promise<void>;
}

export interface HarnessOptions {
  /** Passed to the device's open. */
  maxFrame?: number;
}

const SETTLE_MS = 50;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A contract frame of `length` bytes whose payload starts with `tag` and then counts. */
export function contractFrame(length: number, tag: number): Frame {
  const f = new Uint8Array(length);
  f.set([0x02, 0, 0, 0, 0, 0xb0, 0x02, 0, 0, 0, 0, 0xa0], 0); // dst, src: local unicast
  f[12] = CONTRACT_ETHERTYPE >> 8;
  f[13] = CONTRACT_ETHERTYPE & 0xff;
  for (let i = 14; i < length; i++) f[i] = (tag + i) & 0xff;
  if (length > 14) f[14] = tag & 0xff;
  return f;
}

/** Read until `count` frames arrived (copies), driven by onReadable; resolves early on timeout. */
export async function readFrames(device: TapDevice, count: number, timeoutMs = 2000, batch = new FrameBatch()): Promise<Frame[]> {
  const got: Frame[] = [];
  await new Promise<void>((resolve) => {
    const timer = setTimeout(done, timeoutMs);
    function done(): void {
      clearTimeout(timer);
      device.onReadable(undefined);
      resolve();
    }
    device.onReadable(() => {
      while (got.length < count && device.readBatch(batch) > 0) {
        for (let i = 0; i < batch.count; i++) got.push(batch.frame(i).slice());
      }
      if (got.length >= count) done();
    });
  });
  return got;
}

function sizes(n: number): number[] {
  return Array.from({ length: n }, (_, i) => 60 + ((i * 211) % 1341)); // 60 … 1400
}

export function tapContract(name: string, open: (options?: HarnessOptions) => Promise<TapHarness>): void {
  describe(`TapDevice contract: ${name}`, () => {
    const opened: TapHarness[] = [];
    async function harness(options?: HarnessOptions): Promise<TapHarness> {
      const h = await open(options);
      opened.push(h);
      return h;
    }
    afterEach(async () => {
      for (const h of opened.splice(0)) await h.close();
    });

    it('reports its name, kind and maxFrame', async () => {
      const { device } = await harness();
      expect(device.name.length).toBeGreaterThan(0);
      expect(device.kind).toBe('tap');
      expect(device.maxFrame).toBeGreaterThanOrEqual(1518);
      expect(device.closed).toBe(false);
    });

    it('reads nothing when nothing is queued', async () => {
      const { device } = await harness();
      const batch = new FrameBatch(8);
      expect(device.readBatch(batch)).toBe(0);
      expect(batch.count).toBe(0);
      expect(device.read()).toBeUndefined();
    });

    it('delivers what the kernel side sends, in order and byte-exact, after a readable event', async () => {
      const h = await harness();
      const frames = sizes(5).map((len, i) => contractFrame(len, i));
      let events = 0;
      h.device.onReadable(() => {
        events++;
        h.device.onReadable(undefined);
      });
      await h.send(frames);
      await sleep(SETTLE_MS);
      expect(events).toBe(1);
      const batch = new FrameBatch(16);
      expect(h.device.readBatch(batch)).toBe(5);
      for (let i = 0; i < 5; i++) {
        expect(batch.lengths[i]).toBe(frames[i]!.length);
        expect(batch.frame(i)).toEqual(frames[i]);
      }
      expect(h.device.stats().rxFrames).toBe(5);
    });

    it('readBatch stops at the batch capacity', async () => {
      const h = await harness();
      await h.send(Array.from({ length: 10 }, (_, i) => contractFrame(64, i)));
      await sleep(SETTLE_MS);
      const batch = new FrameBatch(4);
      const counts = [h.device.readBatch(batch), h.device.readBatch(batch), h.device.readBatch(batch), h.device.readBatch(batch)];
      expect(counts).toEqual([4, 4, 2, 0]);
      expect(batch.count).toBe(0);
    });

    it('readBatch reads only while more than maxFrame bytes are free, packing frames', async () => {
      const h = await harness();
      const max = h.device.maxFrame;
      await h.send(Array.from({ length: 5 }, (_, i) => contractFrame(60, i)));
      await sleep(SETTLE_MS);
      const batch = new FrameBatch(16, max + 1 + 150); // room for 3 frames of 60 before the free space drops to maxFrame
      expect(h.device.readBatch(batch)).toBe(3);
      expect([...batch.offsets.subarray(0, 3)]).toEqual([0, 60, 120]);
      expect(batch.used).toBe(180);
      expect(h.device.readBatch(batch)).toBe(2);
    });

    it('drops and counts a frame larger than maxFrame, and reads on', async () => {
      const h = await harness({ maxFrame: 1000 });
      await h.send([contractFrame(1001, 1), contractFrame(100, 2)]);
      await sleep(SETTLE_MS);
      const batch = new FrameBatch(4, 4000);
      expect(h.device.readBatch(batch)).toBe(1);
      expect(batch.frame(0)).toEqual(contractFrame(100, 2));
      expect(h.device.stats().rxTruncated).toBe(1);
    });

    it('rejects a read batch not larger than maxFrame', async () => {
      const h = await harness({ maxFrame: 1000 });
      const err = (() => {
        try {
          h.device.readBatch(new FrameBatch(4, 1000));
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(err).toBeInstanceOf(ShoalError);
      expect((err as ShoalError).code).toBe('TAP_BATCH_TOO_SMALL');
    });

    it('writeBatch sends every frame as one packet, in order, byte-exact', async () => {
      const h = await harness();
      const frames = sizes(20).map((len, i) => contractFrame(len, 100 + i));
      const batch = new FrameBatch(32);
      for (const f of frames) expect(batch.push(f)).toBe(true);
      expect(h.device.writeBatch(batch)).toBe(20);
      const got = await h.receive(20, 2000);
      expect(got).toHaveLength(20);
      for (let i = 0; i < 20; i++) expect(got[i]).toEqual(frames[i]);
      expect(h.device.stats().txFrames).toBe(20);
    });

    it('writeBatch from an index sends only the rest', async () => {
      const h = await harness();
      const batch = new FrameBatch(8);
      for (let i = 0; i < 5; i++) batch.push(contractFrame(80, i));
      expect(h.device.writeBatch(batch, 3)).toBe(2);
      expect(h.device.writeBatch(batch, 5)).toBe(0);
      const got = await h.receive(2, 2000);
      expect(got).toEqual([contractFrame(80, 3), contractFrame(80, 4)]);
    });

    it('refuses and counts a frame shorter than an Ethernet header; the rest still go', async () => {
      const h = await harness();
      const batch = new FrameBatch(4);
      batch.push(contractFrame(60, 1));
      batch.push(new Uint8Array(10));
      batch.push(contractFrame(60, 3));
      expect(h.device.writeBatch(batch)).toBe(2);
      const stats = h.device.stats();
      expect(stats.txFrames).toBe(2);
      expect(stats.txErrors).toBe(1);
      expect(stats.lastError).toBe('EINVAL');
      expect(await h.receive(2, 2000)).toEqual([contractFrame(60, 1), contractFrame(60, 3)]);
    });

    it('read() and write() move single frames', async () => {
      const h = await harness();
      expect(h.device.write(contractFrame(70, 7))).toBe(true);
      expect(await h.receive(1, 2000)).toEqual([contractFrame(70, 7)]);
      await h.send([contractFrame(90, 9)]);
      await sleep(SETTLE_MS);
      expect(h.device.read()).toEqual(contractFrame(90, 9));
      expect(h.device.read()).toBeUndefined();
    });

    it('calls the listener again while frames stay queued (level-triggered)', async () => {
      const h = await harness();
      await h.send([contractFrame(64, 1), contractFrame(64, 2), contractFrame(64, 3)]);
      await sleep(SETTLE_MS);
      const one = new FrameBatch(1);
      const got: Frame[] = [];
      let calls = 0;
      await new Promise<void>((resolve) => {
        h.device.onReadable(() => {
          calls++;
          if (h.device.readBatch(one) === 1) got.push(one.frame(0).slice());
          if (got.length === 3) resolve();
        });
      });
      h.device.onReadable(undefined);
      expect(calls).toBe(3);
      expect(got).toEqual([contractFrame(64, 1), contractFrame(64, 2), contractFrame(64, 3)]);
    });

    it('stops calling after onReadable(undefined); a new listener gets what is still queued', async () => {
      const h = await harness();
      let first = 0;
      h.device.onReadable(() => first++);
      h.device.onReadable(undefined);
      await h.send([contractFrame(64, 1)]);
      await sleep(SETTLE_MS);
      expect(first).toBe(0);
      expect(await readFrames(h.device, 1)).toEqual([contractFrame(64, 1)]);
    });

    it('while the link is down, writes are refused (EIO, counted) and nothing arrives', async () => {
      const h = await harness();
      await h.setLinkUp(false);
      expect(h.device.write(contractFrame(64, 1))).toBe(false);
      const batch = new FrameBatch(4);
      batch.push(contractFrame(64, 2));
      batch.push(contractFrame(64, 3));
      expect(h.device.writeBatch(batch)).toBe(0);
      expect(h.device.stats()).toMatchObject({ txFrames: 0, txErrors: 3, lastError: 'EIO' });
      await h.send([contractFrame(64, 4)]);
      await sleep(SETTLE_MS);
      expect(h.device.read()).toBeUndefined();
      await h.setLinkUp(true);
      expect(h.device.write(contractFrame(64, 3))).toBe(true);
      expect(await h.receive(1, 2000)).toEqual([contractFrame(64, 3)]);
    });

    it('a listener may close the device from inside its call', async () => {
      const h = await harness();
      let calls = 0;
      h.device.onReadable(() => {
        calls++;
        h.device.close();
      });
      await h.send([contractFrame(64, 1), contractFrame(64, 2)]);
      await sleep(SETTLE_MS);
      await h.send([contractFrame(64, 3)]);
      await sleep(SETTLE_MS);
      expect(calls).toBe(1);
      expect(h.device.closed).toBe(true);
    });

    it('after close: no more events, and the device is inert', async () => {
      const h = await harness();
      let calls = 0;
      h.device.onReadable(() => calls++);
      h.device.close();
      h.device.close();
      expect(h.device.closed).toBe(true);
      await h.send([contractFrame(64, 1)]);
      await sleep(100);
      expect(calls).toBe(0);
      const batch = new FrameBatch(4);
      batch.push(contractFrame(64, 2));
      expect(h.device.writeBatch(batch)).toBe(0);
      expect(h.device.write(contractFrame(64, 3))).toBe(false);
      expect(h.device.readBatch(batch)).toBe(0);
      expect(h.device.read()).toBeUndefined();
      h.device.onReadable(() => calls++);
      await sleep(SETTLE_MS);
      expect(calls).toBe(0);
    });
  });
}
