import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeFrame, MAX_FRAME_LENGTH } from '../../src/cluster/control-codec.js';
import { readFrame } from '../../src/cluster/control-codec/frame.js';
import { AckKind, MessageType, type MessageType as MessageTypeT } from '../../src/cluster/messages.js';
import { UNIT_COUNT } from '../../src/cluster/types.js';
import type { ByteWriter } from '../../src/wire/byte-writer.js';
import { DecodeError, type DecodeFailure } from '../../src/wire/decode-error.js';
import { ALL_MESSAGE_TYPES, arbEncodedFrame, rawFrame, type RawHeader } from '../support/control-arbitraries.js';

/** The reason decodeFrame gives, or 'ok'. Also checks that it returned rather than threw. */
function reasonOf(bytes: Uint8Array): DecodeFailure | 'ok' {
  const d = decodeFrame(bytes);
  if (d.ok) return 'ok';
  expect(d.error).toBeInstanceOf(DecodeError);
  return d.error.reason;
}

/** The throwing decoder may only throw DecodeError: anything else is a bug in the codec. */
function onlyDecodeErrors(bytes: Uint8Array): void {
  try {
    readFrame(bytes);
  } catch (e) {
    expect(e).toBeInstanceOf(DecodeError);
  }
}

function frameOf(type: MessageTypeT, body: (w: ByteWriter) => void, header: Partial<RawHeader> = {}): Uint8Array {
  return rawFrame({ ...header, type }, body);
}

const KNOWN_TYPES: readonly number[] = ALL_MESSAGE_TYPES;
const arbFlip = fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 }));
const arbUnknownType = fc.integer({ min: 0, max: 255 }).filter((t) => !KNOWN_TYPES.includes(t));

describe('decodeFrame on malformed input never throws and says why', () => {
  it('every truncation of a valid frame is "truncated"', () => {
    fc.assert(
      fc.property(arbEncodedFrame, fc.nat(), ({ bytes }, cut) => {
        const prefix = bytes.subarray(0, cut % bytes.length);
        expect(reasonOf(prefix)).toBe('truncated');
        onlyDecodeErrors(prefix);
      }),
      { numRuns: 500 },
    );
  });

  it('random bytes never throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        expect(() => decodeFrame(bytes)).not.toThrow();
        onlyDecodeErrors(bytes);
      }),
      { numRuns: 1000 },
    );
  });

  it('random bodies behind a valid header never throw', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ALL_MESSAGE_TYPES),
        fc.uint8Array({ maxLength: 300 }),
        fc.uint8Array({ maxLength: 60 }),
        (type, body, tail) => {
          const frame = rawFrame({ type }, (w) => w.bytes(body));
          const withTail = new Uint8Array(frame.length + tail.length);
          withTail.set(frame);
          withTail.set(tail, frame.length);
          for (const b of [frame, withTail]) {
            expect(() => decodeFrame(b)).not.toThrow();
            onlyDecodeErrors(b);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('random byte flips in valid frames never throw', () => {
    fc.assert(
      fc.property(arbEncodedFrame, fc.array(arbFlip, { minLength: 1, maxLength: 4 }), ({ bytes }, flips) => {
        const b = bytes.slice();
        for (const [at, mask] of flips) b[at % b.length] = (b[at % b.length] ?? 0) ^ mask;
        expect(() => decodeFrame(b)).not.toThrow();
        onlyDecodeErrors(b);
      }),
      { numRuns: 1000 },
    );
  });

  it('a changed magic, version or type byte gives bad-magic, bad-version, unknown-type', () => {
    fc.assert(
      fc.property(
        arbEncodedFrame,
        fc.integer({ min: 0, max: 1 }),
        fc.integer({ min: 1, max: 255 }),
        fc.integer({ min: 0, max: 255 }).filter((v) => v !== 1),
        arbUnknownType,
        ({ bytes }, magicByte, mask, version, type) => {
          const magic = bytes.slice();
          magic[magicByte] = (magic[magicByte] ?? 0) ^ mask;
          expect(reasonOf(magic)).toBe('bad-magic');
          const ver = bytes.slice();
          ver[2] = version;
          expect(reasonOf(ver)).toBe('bad-version');
          const typ = bytes.slice();
          typ[3] = type;
          expect(reasonOf(typ)).toBe('unknown-type');
        },
      ),
    );
  });

  it('bytes after the trailer are "trailing-bytes"', () => {
    fc.assert(
      fc.property(arbEncodedFrame, fc.uint8Array({ minLength: 1, maxLength: 8 }), ({ bytes }, extra) => {
        const longer = new Uint8Array(bytes.length + extra.length);
        longer.set(bytes);
        longer.set(extra, bytes.length);
        expect(reasonOf(longer)).toBe('trailing-bytes');
      }),
    );
  });

  it('a body longer than its fields is "trailing-bytes"', () => {
    fc.assert(
      fc.property(arbEncodedFrame, fc.integer({ min: 0, max: 255 }), ({ bytes }, extra) => {
        const bodyLength = (bytes[28] ?? 0) * 256 + (bytes[29] ?? 0);
        const bodyEnd = 30 + bodyLength;
        const padded = new Uint8Array(bytes.length + 1);
        padded.set(bytes.subarray(0, bodyEnd));
        padded[bodyEnd] = extra;
        padded.set(bytes.subarray(bodyEnd), bodyEnd + 1);
        new DataView(padded.buffer).setUint16(28, bodyLength + 1);
        expect(reasonOf(padded)).toBe('trailing-bytes');
      }),
    );
  });

  it('a frame over the size limit, or a bodyLength that cannot fit one, is "bad-length"', () => {
    expect(reasonOf(new Uint8Array(MAX_FRAME_LENGTH + 1))).toBe('bad-length');
    const frame = rawFrame({ type: MessageType.TableRequest });
    new DataView(frame.buffer).setUint16(28, 0xffff);
    expect(reasonOf(frame)).toBe('bad-length');
  });

  it('an incarnation beyond 2^53 is "bad-value"', () => {
    const frame = rawFrame({ type: MessageType.TableRequest });
    new DataView(frame.buffer).setUint32(12, 0x00200000);
    expect(reasonOf(frame)).toBe('bad-value');
  });
});

describe('body value rules', () => {
  const arbBadUnit = fc.integer({ min: UNIT_COUNT, max: 0xffff });

  it('a unit at or above UNIT_COUNT is "bad-value" wherever a unit appears', () => {
    fc.assert(
      fc.property(arbBadUnit, (unit) => {
        expect(reasonOf(frameOf(MessageType.WorkAssign, (w) => w.u32(1).u16(1).u16(unit).u32(1).u16(1).u32(0)))).toBe('bad-value');
        expect(reasonOf(frameOf(MessageType.WorkAck, (w) => w.u8(1).u16(2).u16(5).u32(1).u16(unit).u32(1).u16(2).u32(0).u32(0)))).toBe(
          'bad-value',
        );
        expect(
          reasonOf(frameOf(MessageType.JoinRequest, (w) => w.u32(1).bytes16(new Uint8Array(16)).u16(1).u16(unit).u32(1).u32(0))),
        ).toBe('bad-value');
        expect(reasonOf(frameOf(MessageType.StateAck, (w) => w.u8(1).u16(unit).u32(1)))).toBe('bad-value');
        expect(reasonOf(frameOf(MessageType.StateSync, (w) => w.u8(1).u16(unit).u32(1).u32(0)))).toBe('bad-value');
        expect(reasonOf(frameOf(MessageType.ForwardedPacket, (w) => w.u16(unit).u8(0).bytes16(Uint8Array.of(1))))).toBe('bad-value');
      }),
    );
    // Exactly at the boundary: 1024 fails, 1023 passes.
    expect(reasonOf(frameOf(MessageType.WorkAssign, (w) => w.u32(1).u16(1).u16(UNIT_COUNT).u32(1).u16(1).u32(0)))).toBe('bad-value');
    expect(reasonOf(frameOf(MessageType.WorkAssign, (w) => w.u32(1).u16(1).u16(UNIT_COUNT - 1).u32(1).u16(1).u32(0)))).toBe('ok');
  });

  it('a nonce that is not 16 bytes is "bad-length"', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }).filter((n) => n.length !== 16), (nonce) => {
        const join = frameOf(MessageType.JoinRequest, (w) => w.u32(1).bytes16(nonce).u16(0).u32(0));
        expect(reasonOf(join)).toBe('bad-length');
        const nak = frameOf(MessageType.JoinNak, (w) => w.u32(1).bytes16(nonce).u8(1).bytes16(new Uint8Array(0)));
        expect(reasonOf(nak)).toBe('bad-length');
      }),
    );
    expect(reasonOf(frameOf(MessageType.JoinRequest, (w) => w.u32(1).bytes16(new Uint8Array(16)).u16(0).u32(0)))).toBe('ok');
  });

  it('n outside 2..20 is "bad-value" in OkToJoin and MasterKeepalive', () => {
    const okToJoin = (n: number): Uint8Array =>
      frameOf(MessageType.OkToJoin, (w) => w.u32(1).bytes16(new Uint8Array(16)).u32(1).u32(1).bytes16(Uint8Array.of(9)).u16(0).u16(0).u8(n));
    const keepalive = (n: number): Uint8Array =>
      frameOf(MessageType.MasterKeepalive, (w) => w.u32(1).u8(n).u16(0).bytes(new Uint8Array(8)).u32(0));
    fc.assert(
      fc.property(fc.oneof(fc.integer({ min: 0, max: 1 }), fc.integer({ min: 21, max: 255 })), (n) => {
        expect(reasonOf(okToJoin(n))).toBe('bad-value');
        expect(reasonOf(keepalive(n))).toBe('bad-value');
      }),
    );
    for (const n of [2, 20]) {
      expect(reasonOf(okToJoin(n))).toBe('ok');
      expect(reasonOf(keepalive(n))).toBe('ok');
    }
  });

  it('enum values outside their sets are "bad-value"', () => {
    const nak = (reason: number): Uint8Array =>
      frameOf(MessageType.JoinNak, (w) => w.u32(1).bytes16(new Uint8Array(16)).u8(reason).bytes16(new Uint8Array(0)).u32(1));
    expect(reasonOf(nak(0))).toBe('bad-value');
    expect(reasonOf(nak(8))).toBe('bad-value');
    expect(reasonOf(nak(7))).toBe('ok');
    expect(reasonOf(frameOf(MessageType.ExitCluster, (w) => w.u32(0).u8(5)))).toBe('bad-value');
    expect(reasonOf(frameOf(MessageType.WorkAck, (w) => w.u8(3).u16(0).u16(0)))).toBe('bad-value');
  });

  it('a JoinNak detail that is not UTF-8 is "bad-value"', () => {
    const nak = frameOf(MessageType.JoinNak, (w) => w.u32(1).bytes16(new Uint8Array(16)).u8(1).bytes16(Uint8Array.of(0xc3, 0x28)));
    expect(reasonOf(nak)).toBe('bad-value');
  });

  it('a body that ends before its config version (JoinNak, MasterAnnounce, ClientKeepalive, ConfigVersionExit) is "truncated"', () => {
    // The layouts before the config version was carried: every field the old decoders read, and nothing after.
    const nak = (w: ByteWriter): ByteWriter => w.u32(1).bytes16(new Uint8Array(16)).u8(5).bytes16(new Uint8Array(0));
    expect(reasonOf(frameOf(MessageType.JoinNak, nak))).toBe('truncated');
    expect(reasonOf(frameOf(MessageType.JoinNak, (w) => nak(w).u32(7)))).toBe('ok');
    expect(reasonOf(frameOf(MessageType.MasterAnnounce, (w) => w.u16(3).u32(9)))).toBe('truncated');
    expect(reasonOf(frameOf(MessageType.MasterAnnounce, (w) => w.u16(3).u32(9).u32(7)))).toBe('ok');
    expect(reasonOf(frameOf(MessageType.ClientKeepalive, (w) => w.u32(1).bytes(new Uint8Array(8))))).toBe('truncated');
    expect(reasonOf(frameOf(MessageType.ClientKeepalive, (w) => w.u32(1).bytes(new Uint8Array(8)).u32(7)))).toBe('ok');
    expect(reasonOf(frameOf(MessageType.ConfigVersionExit, (w) => w.u32(1).u32(2)))).toBe('truncated');
    expect(reasonOf(frameOf(MessageType.ConfigVersionExit, (w) => w.u32(1).u32(2).u32(1)))).toBe('ok');
    // One byte more than the layout is "trailing-bytes", as for every other body.
    expect(reasonOf(frameOf(MessageType.ConfigVersionExit, (w) => w.u32(1).u32(2).u32(1).u8(0)))).toBe('trailing-bytes');
  });

  it('a MasterKeepalive digest shorter than 8 bytes is "truncated"', () => {
    expect(reasonOf(frameOf(MessageType.MasterKeepalive, (w) => w.u32(1).u8(3).u16(0).bytes(new Uint8Array(7))))).toBe('truncated');
    expect(reasonOf(frameOf(MessageType.ClientKeepalive, (w) => w.u32(1).bytes(new Uint8Array(7))))).toBe('truncated');
  });

  it('a list count larger than the body is "truncated"', () => {
    expect(reasonOf(frameOf(MessageType.WorkAssign, (w) => w.u32(1).u16(0xffff).u16(1).u32(1)))).toBe('truncated');
    expect(reasonOf(frameOf(MessageType.MasterKeepalive, (w) => w.u32(1).u8(3).u16(500).u32(1)))).toBe('truncated');
  });

  it('hand-over markers whose count is not the entries\' count are "bad-length"; missing ones "truncated"', () => {
    const assign = (entries: number, markers: number): Uint8Array =>
      frameOf(MessageType.WorkAssign, (w) => {
        w.u32(1).u16(entries);
        for (let i = 0; i < entries; i++) w.u16(i).u32(1);
        w.u16(markers);
        for (let i = 0; i < markers; i++) w.u32(i * 7 + 1);
      });
    const ack = (entries: number, markers: number): Uint8Array =>
      frameOf(MessageType.WorkAck, (w) => {
        w.u8(AckKind.Deassign).u16(entries);
        for (let i = 0; i < entries; i++) w.u16(i).u32(1);
        w.u16(markers);
        for (let i = 0; i < markers; i++) w.u32(i * 7 + 1);
      });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 8 }), (entries, markers) => {
        const expected = entries === markers ? 'ok' : 'bad-length';
        expect(reasonOf(assign(entries, markers))).toBe(expected);
        expect(reasonOf(ack(entries, markers))).toBe(expected);
      }),
    );
    // A body that ends after the entries (the layout before markers) has no marker list at all.
    expect(reasonOf(frameOf(MessageType.WorkAssign, (w) => w.u32(1).u16(1).u16(5).u32(1)))).toBe('truncated');
    expect(reasonOf(frameOf(MessageType.WorkAck, (w) => w.u8(AckKind.Assign).u16(0)))).toBe('truncated');
  });

  it('a StateSync payload length over 60000 is "bad-length"', () => {
    expect(reasonOf(frameOf(MessageType.StateSync, (w) => w.u8(1).u16(1).u32(1).u32(60001)))).toBe('bad-length');
    expect(reasonOf(frameOf(MessageType.StateSync, (w) => w.u8(1).u16(1).u32(1).u32(0xffffffff)))).toBe('bad-length');
  });

  describe('TableSnapshot', () => {
    const snapshot = (owners: number[], entry: (w: ByteWriter, unit: number) => void): Uint8Array =>
      frameOf(MessageType.TableSnapshot, (w) => {
        w.u32(1).u8(owners.length);
        for (const o of owners) w.u32(o);
        for (let unit = 0; unit < UNIT_COUNT; unit++) entry(w, unit);
      });

    it('accepts a well-formed hand-built table', () => {
      const d = decodeFrame(snapshot([7, 9], (w, unit) => w.u8(unit % 3 === 2 ? 0xff : unit % 3).u32(unit).u8(2)));
      expect(d.ok).toBe(true);
      if (d.ok && d.value.message.type === MessageType.TableSnapshot) {
        expect(d.value.message.entries.slice(0, 3)).toEqual([
          { owner: 7, epoch: 0, state: 2 },
          { owner: 9, epoch: 1, state: 2 },
          { owner: 0, epoch: 2, state: 2 },
        ]);
      }
    });

    it('rejects an owner index outside the dictionary, an unknown state, owner id 0, a short table', () => {
      expect(reasonOf(snapshot([7], (w, unit) => w.u8(unit === 500 ? 1 : 0).u32(0).u8(2)))).toBe('bad-value');
      expect(reasonOf(snapshot([7], (w, unit) => w.u8(0).u32(0).u8(unit === 1023 ? 4 : 2)))).toBe('bad-value');
      expect(reasonOf(snapshot([7, 0], (w) => w.u8(0).u32(0).u8(2)))).toBe('bad-value');
      expect(reasonOf(snapshot([7], (w, unit) => (unit < 1023 ? w.u8(0).u32(0).u8(2) : w)))).toBe('truncated');
      expect(reasonOf(snapshot([7], (w, unit) => (unit < 1023 ? w.u8(0).u32(0).u8(2) : w.u8(0).u32(0).u8(2).u8(0))))).toBe(
        'trailing-bytes',
      );
    });
  });

  describe('signed trailer', () => {
    const signed = (trailer: (w: ByteWriter) => void): Uint8Array =>
      rawFrame({ type: MessageType.OfferMaster }, (w) => w.u32(1), trailer);
    const cert = Uint8Array.of(0x30);

    it('accepts 1..4 certificates and rejects 0 or 5 ("bad-value")', () => {
      const withChain = (count: number): Uint8Array =>
        signed((w) => {
          w.u8(count);
          for (let i = 0; i < count; i++) w.bytes16(cert);
          w.u64(1).bytes16(Uint8Array.of(1));
        });
      expect(reasonOf(withChain(1))).toBe('ok');
      expect(reasonOf(withChain(4))).toBe('ok');
      expect(reasonOf(withChain(0))).toBe('bad-value');
      expect(reasonOf(withChain(5))).toBe('bad-value');
    });

    it('rejects an empty certificate or signature ("bad-length")', () => {
      expect(reasonOf(signed((w) => w.u8(1).bytes16(new Uint8Array(0)).u64(1).bytes16(Uint8Array.of(1))))).toBe('bad-length');
      expect(reasonOf(signed((w) => w.u8(1).bytes16(cert).u64(1).bytes16(new Uint8Array(0))))).toBe('bad-length');
    });

    it('the trailer kind follows the type: a MAC where a signature belongs (or the reverse) does not decode', () => {
      expect(reasonOf(signed((w) => w.bytes(new Uint8Array(16))))).not.toBe('ok');
      const signedTrailer = (w: ByteWriter): ByteWriter => w.u8(1).bytes16(cert).u64(1).bytes16(Uint8Array.of(1));
      expect(reasonOf(rawFrame({ type: MessageType.TableRequest }, () => {}, signedTrailer))).not.toBe('ok');
    });
  });
});
