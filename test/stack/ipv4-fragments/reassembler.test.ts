import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FRAGMENT_OVERHEAD, fragment, Reassembler, type AcceptResult } from '../../../src/stack/ipv4-fragments.js';
import { decodeIpv4, encodeIpv4 } from '../../../src/wire/ipv4.js';
import { flipBit, valueOf } from '../../wire/arbitraries.js';
import { arbMtu, arbWholeDatagram, frag, header } from './fragment-support.js';

function fragmentsOf(packet: Uint8Array, mtu: number): Uint8Array[] {
  const r = fragment(packet, mtu);
  if (!r.ok) throw new Error(`refused: ${r.refusal}`);
  return r.fragments;
}

function completed(r: AcceptResult): Uint8Array | undefined {
  return 'complete' in r ? r.complete : undefined;
}

const roomy = { maxFragmentsPerDatagram: 10_000, maxBytes: 64 * 1024 * 1024 };

describe('Reassembler round trip', () => {
  it('rebuilds any datagram from its fragments in any order, duplicates included', () => {
    fc.assert(
      fc.property(arbWholeDatagram(4000), arbMtu, fc.gen(), (packet, mtu, g) => {
        const parts = fragmentsOf(packet, mtu);
        const arrivals = [...parts, ...parts.filter(() => g(fc.integer, { min: 0, max: 3 }) === 0)];
        for (let i = arrivals.length - 1; i > 0; i--) {
          const j = g(fc.integer, { min: 0, max: i });
          [arrivals[i], arrivals[j]] = [arrivals[j]!, arrivals[i]!];
        }
        const r = new Reassembler(roomy);
        const seen = new Set<Uint8Array>();
        let completions = 0;
        for (const f of arrivals) {
          const first = !seen.has(f);
          seen.add(f);
          const result = r.accept(1000, f);
          const done = completed(result);
          if (done) {
            completions++;
            expect(done).toEqual(packet);
            if (completions === 1) expect(seen.size).toBe(parts.length);
          } else if (completions === 0) {
            expect(result).toEqual(first ? { pending: true } : { drop: 'duplicate' });
          }
          expect(r.bytesHeld).toBeGreaterThanOrEqual(0);
        }
        expect(completions).toBeGreaterThanOrEqual(1);
        if (completions === 1 && r.inProgress === 0) expect(r.bytesHeld).toBe(0);
        expect(r.counters.reassembled).toBe(parts.length > 1 ? completions : 0); // whole datagrams pass through uncounted
      }),
      { numRuns: 300 },
    );
  });

  it('accepts identical overlaps: fragments of two MTUs mixed together still rebuild the datagram', () => {
    fc.assert(
      fc.property(arbWholeDatagram(3000), arbMtu, arbMtu, fc.gen(), (packet, mtuA, mtuB, g) => {
        const a = fragmentsOf(packet, mtuA);
        const b = fragmentsOf(packet, mtuB);
        const arrivals = [...a.filter(() => g(fc.boolean)), ...b];
        for (let i = arrivals.length - 1; i > 0; i--) {
          const j = g(fc.integer, { min: 0, max: i });
          [arrivals[i], arrivals[j]] = [arrivals[j]!, arrivals[i]!];
        }
        const r = new Reassembler(roomy);
        const results = arrivals.map((f) => r.accept(0, f));
        const done = results.map(completed).filter((x) => x !== undefined);
        expect(done.length).toBeGreaterThanOrEqual(1);
        for (const d of done) expect(d).toEqual(packet);
        expect(results.filter((x) => 'drop' in x && x.drop !== 'duplicate')).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });

  it('rebuilds fragments of fragments', () => {
    fc.assert(
      fc.property(arbWholeDatagram(4000), fc.integer({ min: 600, max: 1500 }), fc.integer({ min: 68, max: 600 }), (packet, outer, inner) => {
        const parts = fragmentsOf(packet, outer).flatMap((f) => fragmentsOf(f, inner));
        const r = new Reassembler(roomy);
        const done = parts.reverse().map((f) => completed(r.accept(0, f)));
        expect(done.at(-1)).toEqual(packet);
      }),
      { numRuns: 100 },
    );
  });

  it('rebuilds the largest datagram there is (65535 octets)', () => {
    const packet = encodeIpv4({ header: header(), payload: Uint8Array.from({ length: 65535 - 20 }, (_, i) => i * 7) });
    for (const mtu of [1500, 576]) {
      const r = new Reassembler();
      const done = fragmentsOf(packet, mtu).map((f) => completed(r.accept(0, f)));
      expect(done.at(-1)).toEqual(packet);
      expect(r.bytesHeld).toBe(0);
    }
  });

  it('passes whole datagrams through as views and flushes a reassembly with the same BUFID (RFC 791 step 4)', () => {
    const r = new Reassembler();
    expect(r.accept(0, frag(0, 16, true))).toEqual({ pending: true });
    const whole = frag(0, 30, false);
    const padded = new Uint8Array(whole.length + 4);
    padded.set(whole);
    const out = completed(r.accept(0, padded));
    expect(out).toEqual(whole);
    expect(out?.buffer).toBe(padded.buffer);
    expect(r.inProgress).toBe(0);
    expect(r.bytesHeld).toBe(0);
    expect(r.counters.superseded).toBe(1);
  });

  it('keys on (src, dst, protocol, id): fragments of different datagrams do not mix', () => {
    const r = new Reassembler();
    expect(r.accept(0, frag(0, 16, true, { id: 1 }))).toEqual({ pending: true });
    expect(r.accept(0, frag(16, 8, false, { id: 2 }))).toEqual({ pending: true });
    expect(r.accept(0, frag(16, 8, false, { id: 1, protocol: 6 }))).toEqual({ pending: true });
    expect(r.accept(0, frag(16, 8, false, { id: 1, src: 9 }))).toEqual({ pending: true });
    expect(r.inProgress).toBe(4);
    expect(completed(r.accept(0, frag(16, 8, false, { id: 1 })))).toBeDefined();
  });
});

describe('Reassembler drops, each counted', () => {
  it('drops data that is not a datagram', () => {
    const r = new Reassembler();
    expect(r.accept(0, new Uint8Array(12))).toEqual({ drop: 'malformed' });
    expect(r.counters.malformed).toBe(1);
  });

  it('drops non-last fragments whose data is empty or not a multiple of 8', () => {
    const r = new Reassembler();
    expect(r.accept(0, frag(0, 7, true))).toEqual({ drop: 'bad-fragment' });
    expect(r.accept(0, frag(8, 0, true))).toEqual({ drop: 'bad-fragment' });
    expect(r.counters['bad-fragment']).toBe(2);
    expect(r.inProgress).toBe(0);
  });

  it('drops a datagram that would exceed 65535 octets (ping of death)', () => {
    const r = new Reassembler();
    expect(r.accept(0, frag(0, 1000, true))).toEqual({ pending: true });
    expect(r.accept(0, frag(8189 * 8, 8, false))).toEqual({ drop: 'too-big' });
    expect(r.inProgress).toBe(0);
    // the data fits 65515 octets, but fragment 0 brings a 24-byte header: found on completion
    const r2 = new Reassembler();
    expect(r2.accept(0, frag(0, 65504, true, { options: Uint8Array.of(0x94, 0x04, 0, 0) }))).toEqual({ pending: true });
    expect(r2.accept(0, frag(65504, 11, false))).toEqual({ drop: 'too-big' });
    expect(r2.counters['too-big']).toBe(1);
    expect(r2.bytesHeld).toBe(0);
  });

  it('drops on conflicting ends: two last fragments, or data past the known end', () => {
    const r = new Reassembler();
    r.accept(0, frag(16, 8, false));
    expect(r.accept(0, frag(16, 16, false))).toEqual({ drop: 'inconsistent-length' });
    r.accept(0, frag(16, 8, false));
    expect(r.accept(0, frag(16, 16, true))).toEqual({ drop: 'inconsistent-length' });
    r.accept(0, frag(32, 8, true));
    expect(r.accept(0, frag(16, 8, false))).toEqual({ drop: 'inconsistent-length' });
    expect(r.counters['inconsistent-length']).toBe(3);
    expect(r.inProgress).toBe(0);
  });

  it('drops the whole datagram when overlapping bytes differ (teardrop / header rewrite)', () => {
    const r = new Reassembler();
    expect(r.accept(0, frag(0, Uint8Array.from({ length: 16 }, () => 1), true))).toEqual({ pending: true });
    expect(r.accept(0, frag(8, Uint8Array.from({ length: 16 }, () => 2), true))).toEqual({ drop: 'overlap-conflict' });
    expect(r.inProgress).toBe(0);
    expect(r.bytesHeld).toBe(0);
    expect(r.counters['overlap-conflict']).toBe(1);
    // the rest of it then starts a fresh reassembly that cannot complete without fragment 0
    expect(r.accept(0, frag(24, 8, false))).toEqual({ pending: true });
  });

  it('accepts identical overlaps and fills only the gaps', () => {
    const r = new Reassembler();
    r.accept(0, frag(0, 16, true));
    r.accept(0, frag(32, 16, false));
    const spanning = frag(8, 32, true); // overlaps both ends with the same bytes
    const done = completed(r.accept(0, spanning));
    expect(done).toEqual(frag(0, 48, false));
  });

  it('drops exact duplicates but keeps the datagram', () => {
    const r = new Reassembler();
    r.accept(0, frag(0, 16, true));
    expect(r.accept(0, frag(0, 16, true))).toEqual({ drop: 'duplicate' });
    expect(r.accept(0, frag(0, 8, true))).toEqual({ drop: 'duplicate' });
    expect(completed(r.accept(0, frag(16, 3, false)))).toEqual(frag(0, 19, false));
    expect(r.counters.duplicate).toBe(2);
  });

  it('caps the fragments per datagram', () => {
    const r = new Reassembler({ maxFragmentsPerDatagram: 3 });
    for (let i = 0; i < 3; i++) expect(r.accept(0, frag(i * 8, 8, true))).toEqual({ pending: true });
    expect(r.accept(0, frag(24, 8, false))).toEqual({ drop: 'too-many-fragments' });
    expect(r.inProgress).toBe(0);
  });
});

describe('Reassembler time and memory limits', () => {
  it('expires a datagram at its deadline with the quote ICMP Time Exceeded needs', () => {
    const r = new Reassembler({ timeout: 30_000 });
    const first = frag(0, 40, true, { id: 9 });
    r.accept(1_000, first);
    r.accept(2_000, frag(48, 8, false, { id: 10 })); // fragment 0 never arrives
    expect(r.expire(30_999)).toEqual([]);
    const expired = r.expire(31_000);
    expect(expired).toEqual([{ src: header().src, dst: header().dst, protocol: 17, id: 9, quote: first.subarray(0, 28) }]);
    expect(r.expire(32_000)).toEqual([{ src: header().src, dst: header().dst, protocol: 17, id: 10, quote: undefined }]);
    expect(r.counters.timeout).toBe(2);
    expect(r.bytesHeld).toBe(0);
  });

  it('starts over when a fragment arrives after the deadline', () => {
    const r = new Reassembler({ timeout: 100 });
    r.accept(0, frag(0, 16, true));
    expect(r.accept(100, frag(16, 8, false))).toEqual({ pending: true });
    expect(r.counters.timeout).toBe(1);
    expect(completed(r.accept(150, frag(0, 16, true)))).toEqual(frag(0, 24, false));
  });

  it('counts memory as data + header + quote + overhead per piece', () => {
    const r = new Reassembler();
    r.accept(0, frag(0, 1480, true));
    expect(r.bytesHeld).toBe(1480 + FRAGMENT_OVERHEAD + 20 + 28);
    r.accept(0, frag(2960, 100, false));
    expect(r.bytesHeld).toBe(1480 + 100 + 2 * FRAGMENT_OVERHEAD + 20 + 28);
  });

  it('evicts the oldest datagrams first when over the memory limit', () => {
    const perDatagram = 1480 + FRAGMENT_OVERHEAD + 20 + 28;
    const r = new Reassembler({ maxBytes: 3 * perDatagram + 100 });
    for (const id of [1, 2, 3]) expect(r.accept(0, frag(0, 1480, true, { id }))).toEqual({ pending: true });
    expect(r.accept(0, frag(0, 1480, true, { id: 4 }))).toEqual({ pending: true });
    expect(r.counters['memory-limit']).toBe(1);
    expect(r.inProgress).toBe(3);
    expect(r.bytesHeld).toBeLessThanOrEqual(3 * perDatagram + 100);
    expect(completed(r.accept(0, frag(1480, 8, false, { id: 2 })))).toBeDefined();
    expect(r.accept(0, frag(1480, 8, false, { id: 1 }))).toEqual({ pending: true }); // 1 was evicted
  });

  it('drops a datagram that alone outgrows the limit', () => {
    const r = new Reassembler({ maxBytes: 2000 });
    expect(r.accept(0, frag(0, 1480, true))).toEqual({ pending: true });
    expect(r.accept(0, frag(1480, 1480, true))).toEqual({ drop: 'memory-limit' });
    expect(r.inProgress).toBe(0);
    expect(r.bytesHeld).toBe(0);
  });

  it('caps the datagrams in progress, evicting the oldest', () => {
    const r = new Reassembler({ maxDatagrams: 2 });
    for (const id of [1, 2, 3]) r.accept(0, frag(0, 8, true, { id }));
    expect(r.inProgress).toBe(2);
    expect(r.counters['datagram-limit']).toBe(1);
    expect(completed(r.accept(0, frag(8, 1, false, { id: 3 })))).toBeDefined();
    expect(r.accept(0, frag(8, 1, false, { id: 1 }))).toEqual({ pending: true });
  });

  it('refuses nonsensical limits (programming errors)', () => {
    expect(() => new Reassembler({ timeout: 0 })).toThrow(RangeError);
    expect(() => new Reassembler({ maxBytes: -1 })).toThrow(RangeError);
    expect(() => new Reassembler({ maxDatagrams: Number.NaN })).toThrow(RangeError);
  });

  it('never throws, and stays within its limits, on random and corrupted fragments', () => {
    const limits = { maxBytes: 20_000, maxDatagrams: 8, maxFragmentsPerDatagram: 50, timeout: 500 };
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.uint8Array({ maxLength: 80 }),
            fc.tuple(arbWholeDatagram(2000), arbMtu, fc.nat(), fc.nat()).map(([p, mtu, pick, bit]) => {
              const parts = fragmentsOf(p, mtu);
              const f = parts[pick % parts.length]!;
              return bit % 3 === 0 ? flipBit(f, bit) : f;
            }),
          ),
          { maxLength: 60 },
        ),
        (packets) => {
          const r = new Reassembler(limits);
          packets.forEach((p, i) => {
            const result = r.accept(i * 20, p);
            if ('complete' in result) expect(decodeIpv4(result.complete).ok).toBe(true);
            expect(r.bytesHeld).toBeLessThanOrEqual(limits.maxBytes);
            expect(r.bytesHeld).toBeGreaterThanOrEqual(0);
            expect(r.inProgress).toBeLessThanOrEqual(limits.maxDatagrams);
            if (i % 10 === 9) r.expire(i * 20);
          });
          r.expire(1e9);
          expect(r.bytesHeld).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('reassembled header', () => {
  it('is fragment 0 header with MF and offset cleared, total length and checksum recomputed', () => {
    const r = new Reassembler();
    r.accept(0, frag(8, 8, false, { ttl: 3 }));
    const done = completed(r.accept(0, frag(0, 8, true, { ttl: 9, dontFragment: true })));
    const h = valueOf(decodeIpv4(done!)).header;
    expect(h).toMatchObject({ ttl: 9, dontFragment: true, moreFragments: false, fragmentOffset: 0 });
  });
});
