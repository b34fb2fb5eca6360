import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeFrame,
  encodeHeaderAndBody,
  encodeMacFrame,
  encodeSignedFrame,
  encodeSignedPart,
  HEADER_LENGTH,
  MAX_STATE_PAYLOAD,
  messageTypeName,
  peekHeader,
} from '../../src/cluster/control-codec.js';
import {
  AckKind,
  AUTH_OF_TYPE,
  MAC_LENGTH,
  MessageType,
  UnitState,
  type ClientKeepalive,
  type ConfigVersionExit,
  type Frame,
  type Header,
  type JoinRequest,
  type MasterKeepalive,
  type TableSnapshot,
  type WorkAck,
  type WorkAssign,
} from '../../src/cluster/messages.js';
import { UNIT_COUNT } from '../../src/cluster/types.js';
import type { Decoded } from '../../src/wire/decode-error.js';
import {
  ALL_MESSAGE_TYPES,
  arbEncodedFrame,
  arbFramePartsFor,
  arbMessageOfType,
  encodeFrameParts,
  type FrameParts,
} from '../support/control-arbitraries.js';

function hex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, '');
  return Uint8Array.from(clean.match(/../g) ?? [], (b) => parseInt(b, 16));
}

function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

function ok<T>(d: Decoded<T>): T {
  if (!d.ok) throw new Error(`expected a value, got ${d.error.message}`);
  return d.value;
}

/** Where the authenticated range of an encoded frame ends, from the documented layout. */
function expectedAuthenticatedEnd(parts: FrameParts, frameLength: number): number {
  return parts.trailer.kind === 'mac' ? frameLength - MAC_LENGTH : frameLength - 2 - parts.trailer.signature.length;
}

describe('control codec round trip', () => {
  for (const type of ALL_MESSAGE_TYPES) {
    const name = messageTypeName(type);
    it(`${name} (${AUTH_OF_TYPE[type]}) decodes to exactly what was encoded`, () => {
      fc.assert(
        fc.property(arbFramePartsFor(arbMessageOfType(type)), (parts) => {
          const bytes = encodeFrameParts(parts);
          const frame = ok(decodeFrame(bytes));
          expect(frame.header).toEqual(parts.header);
          expect(frame.message).toEqual(parts.message);
          expect(frame.trailer).toEqual(parts.trailer);
          expect(frame.authenticated.length).toBe(expectedAuthenticatedEnd(parts, bytes.length));
        }),
        { numRuns: type === MessageType.TableSnapshot ? 30 : 150 },
      );
    });
  }

  it('the authenticated range is what the encoder handed to the MAC or signer', () => {
    fc.assert(
      fc.property(arbEncodedFrame, ({ parts, bytes }) => {
        const frame = ok(decodeFrame(bytes));
        const headerAndBody = encodeHeaderAndBody(parts.header, parts.message);
        const covered =
          parts.trailer.kind === 'mac'
            ? headerAndBody
            : encodeSignedPart(headerAndBody, parts.trailer.chain, parts.trailer.signedAt);
        expect(toHex(frame.authenticated)).toBe(toHex(covered));
      }),
    );
  });

  it('decodes a frame that sits at an offset inside a larger buffer', () => {
    fc.assert(
      fc.property(arbEncodedFrame, fc.integer({ min: 1, max: 9 }), ({ parts, bytes }, pad) => {
        const big = new Uint8Array(pad + bytes.length + pad).fill(0xee);
        big.set(bytes, pad);
        const frame = ok(decodeFrame(big.subarray(pad, pad + bytes.length)));
        expect(frame.message).toEqual(parts.message);
        expect(frame.header).toEqual(parts.header);
      }),
      { numRuns: 50 },
    );
  });

  it('handles the extremes: 255 distinct table owners, a 60000-byte state payload', () => {
    const owners = Array.from({ length: 255 }, (_, i) => 0x0a000001 + i);
    const snapshot: TableSnapshot = {
      type: MessageType.TableSnapshot,
      target: 7,
      entries: Array.from({ length: UNIT_COUNT }, (_, unit) => ({
        owner: unit % 256 === 255 ? 0 : (owners[unit % 256] ?? 0),
        epoch: unit * 3,
        state: unit % 256 === 255 ? UnitState.Unassigned : UnitState.Owned,
      })),
    };
    const header: Header = { type: MessageType.TableSnapshot, clusterId: 1, sender: 2, incarnation: 3, seq: 4, epoch: 5 };
    const bytes = encodeMacFrame(encodeHeaderAndBody(header, snapshot), new Uint8Array(MAC_LENGTH));
    expect(bytes.length).toBe(HEADER_LENGTH + 2 + 4 + 1 + 255 * 4 + UNIT_COUNT * 6 + MAC_LENGTH);
    expect(ok(decodeFrame(bytes)).message).toEqual(snapshot);

    const payload = new Uint8Array(MAX_STATE_PAYLOAD).fill(0x42);
    const sync = { type: MessageType.StateSync, app: 1, unit: UNIT_COUNT - 1, syncSeq: 9, payload } as const;
    const syncHeader: Header = { ...header, type: MessageType.StateSync };
    const syncBytes = encodeMacFrame(encodeHeaderAndBody(syncHeader, sync), new Uint8Array(MAC_LENGTH));
    expect(ok(decodeFrame(syncBytes)).message).toEqual(sync);
  });
});

describe('golden frames (a layout change must fail here)', () => {
  const header = (type: Header['type'], seq: number, epoch: number): Header => ({
    type,
    clusterId: 42,
    sender: 0x0a000001,
    incarnation: 1_700_000_000_000,
    seq,
    epoch,
  });

  it('JoinRequest, signed', () => {
    const message: JoinRequest = {
      type: MessageType.JoinRequest,
      configVersion: 5,
      nonce: Uint8Array.from({ length: 16 }, (_, i) => i),
      served: [
        { unit: 3, epoch: 9 },
        { unit: 1023, epoch: 1 },
      ],
      maxEpoch: 12,
    };
    const golden = hex(`
      5348 01 01 0000002a 0a000001 0000018bcfe56800 00000007 00000003
      0028
      00000005
      0010 000102030405060708090a0b0c0d0e0f
      0002 0003 00000009 03ff 00000001
      0000000c
      01 0003 300102
      0000018bcfe5687b
      0004 deadbeef
    `);
    const signedPart = encodeSignedPart(
      encodeHeaderAndBody(header(MessageType.JoinRequest, 7, 3), message),
      [Uint8Array.of(0x30, 0x01, 0x02)],
      1_700_000_000_123,
    );
    const bytes = encodeSignedFrame(signedPart, hex('deadbeef'));
    expect(toHex(bytes)).toBe(toHex(golden));

    const frame = ok(decodeFrame(golden));
    expect(frame.header).toEqual(header(MessageType.JoinRequest, 7, 3));
    expect(frame.message).toEqual(message);
    expect(frame.trailer).toEqual({
      kind: 'signed',
      chain: [Uint8Array.of(0x30, 0x01, 0x02)],
      signedAt: 1_700_000_000_123,
      signature: hex('deadbeef'),
    });
    expect(frame.authenticated.length).toBe(golden.length - 6);
  });

  it('MasterKeepalive, MACed', () => {
    const message: MasterKeepalive = {
      type: MessageType.MasterKeepalive,
      term: 4,
      n: 3,
      members: [0x0a000001, 0x0a000002, 0x0a000003],
      tableDigest: hex('0102030405060708'),
      maxEpoch: 99,
    };
    const mac = hex('a0a1a2a3a4a5a6a7a8a9aaabacadaeaf');
    const golden = hex(`
      5348 01 07 0000002a 0a000001 0000018bcfe56800 00000100 00000002
      001f
      00000004
      03
      0003 0a000001 0a000002 0a000003
      0102030405060708
      00000063
      a0a1a2a3a4a5a6a7a8a9aaabacadaeaf
    `);
    const bytes = encodeMacFrame(encodeHeaderAndBody(header(MessageType.MasterKeepalive, 256, 2), message), mac);
    expect(toHex(bytes)).toBe(toHex(golden));
    const frame = ok(decodeFrame(golden));
    expect(frame.message).toEqual(message);
    expect(frame.trailer).toEqual({ kind: 'mac', mac });
    expect(frame.authenticated.length).toBe(golden.length - MAC_LENGTH);
  });

  it('ConfigVersionExit, signed', () => {
    const message: ConfigVersionExit = { type: MessageType.ConfigVersionExit, target: 0x0a000002, configVersion: 4, memberConfigVersion: 3 };
    const golden = hex(`
      5348 01 13 0000002a 0a000001 0000018bcfe56800 00000009 00000002
      000c
      0a000002 00000004 00000003
      01 0003 300102
      0000018bcfe5687b
      0004 deadbeef
    `);
    const signedPart = encodeSignedPart(
      encodeHeaderAndBody(header(MessageType.ConfigVersionExit, 9, 2), message),
      [Uint8Array.of(0x30, 0x01, 0x02)],
      1_700_000_000_123,
    );
    expect(toHex(encodeSignedFrame(signedPart, hex('deadbeef')))).toBe(toHex(golden));
    expect(ok(decodeFrame(golden)).message).toEqual(message);
  });

  it('ClientKeepalive, MACed', () => {
    const message: ClientKeepalive = { type: MessageType.ClientKeepalive, keepaliveSeq: 17, tableDigest: hex('1122334455667788'), configVersion: 3 };
    const golden = hex(`
      5348 01 08 0000002a 0a000001 0000018bcfe56800 00000005 00000002
      0010
      00000011 1122334455667788 00000003
      00000000000000000000000000000000
    `);
    const bytes = encodeMacFrame(encodeHeaderAndBody(header(MessageType.ClientKeepalive, 5, 2), message), new Uint8Array(16));
    expect(toHex(bytes)).toBe(toHex(golden));
    expect(ok(decodeFrame(golden)).message).toEqual(message);
  });

  it('WorkAck with hand-over markers, MACed', () => {
    const message: WorkAck = {
      type: MessageType.WorkAck,
      kind: AckKind.Deassign,
      entries: [
        { unit: 3, epoch: 9 },
        { unit: 1023, epoch: 1 },
      ],
      markers: [22, 0xffffffff],
    };
    const golden = hex(`
      5348 01 0c 0000002a 0a000001 0000018bcfe56800 00000006 00000002
      0019
      02
      0002 0003 00000009 03ff 00000001
      0002 00000016 ffffffff
      00000000000000000000000000000000
    `);
    const bytes = encodeMacFrame(encodeHeaderAndBody(header(MessageType.WorkAck, 6, 2), message), new Uint8Array(16));
    expect(toHex(bytes)).toBe(toHex(golden));
    expect(ok(decodeFrame(golden)).message).toEqual(message);
  });
});

describe('hand-over markers', () => {
  it('WorkAssign and WorkAck keep each entry\'s marker, zeros and u32 extremes included', () => {
    fc.assert(
      fc.property(arbFramePartsFor(fc.oneof(arbMessageOfType(MessageType.WorkAssign), arbMessageOfType(MessageType.WorkAck))), (parts) => {
        const message = ok(decodeFrame(encodeFrameParts(parts))).message;
        if (message.type !== MessageType.WorkAssign && message.type !== MessageType.WorkAck) throw new Error('wrong type');
        expect(message.markers).toHaveLength(message.entries.length);
        expect(message).toEqual(parts.message);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses to encode a marker list whose length is not the entries\'', () => {
    const assign: WorkAssign = { type: MessageType.WorkAssign, owner: 1, entries: [{ unit: 1, epoch: 2 }], markers: [1, 2] };
    expect(() => encodeHeaderAndBody({ type: MessageType.WorkAssign, clusterId: 1, sender: 1, incarnation: 1, seq: 1, epoch: 1 }, assign)).toThrow(
      RangeError,
    );
  });
});

describe('authenticated range', () => {
  it('is a view of the input, not a copy, covering exactly the documented bytes', () => {
    fc.assert(
      fc.property(arbEncodedFrame, ({ parts, bytes }) => {
        const { authenticated } = ok(decodeFrame(bytes));
        expect(authenticated.buffer).toBe(bytes.buffer);
        expect(authenticated.byteOffset).toBe(bytes.byteOffset);
        expect(authenticated.length).toBe(expectedAuthenticatedEnd(parts, bytes.length));
      }),
    );
  });

  it('changes with any byte flipped inside it, and not with one flipped in the MAC or signature', () => {
    fc.assert(
      fc.property(arbEncodedFrame, fc.nat(), fc.integer({ min: 1, max: 255 }), ({ parts, bytes }, at, mask) => {
        const original = ok(decodeFrame(bytes));
        const authEnd = original.authenticated.length;
        const i = at % bytes.length;
        const flipped = bytes.slice();
        flipped[i] = (flipped[i] ?? 0) ^ mask;
        const decoded = decodeFrame(flipped);
        if (!decoded.ok) return; // the flip broke the frame: also fine
        const changed = toHex(decoded.value.authenticated) !== toHex(original.authenticated);
        expect(changed).toBe(i < authEnd);
        if (i >= authEnd) expect(decoded.value.trailer).not.toEqual(parts.trailer);
      }),
      { numRuns: 500 },
    );
  });

  it('a flip in the header seq field or in the MAC is seen where expected', () => {
    const header: Header = { type: MessageType.ClientKeepalive, clusterId: 1, sender: 2, incarnation: 3, seq: 4, epoch: 5 };
    const message: ClientKeepalive = { type: MessageType.ClientKeepalive, keepaliveSeq: 1, tableDigest: new Uint8Array(8), configVersion: 1 };
    const bytes = encodeMacFrame(encodeHeaderAndBody(header, message), new Uint8Array(MAC_LENGTH));
    const base: Frame = ok(decodeFrame(bytes.slice()));

    const inSeq = bytes.slice();
    inSeq[23] = 0x05;
    const seqFrame = ok(decodeFrame(inSeq));
    expect(seqFrame.header.seq).toBe(5);
    expect(toHex(seqFrame.authenticated)).not.toBe(toHex(base.authenticated));

    const inMac = bytes.slice();
    inMac[bytes.length - 1] = 0xff;
    const macFrame = ok(decodeFrame(inMac));
    expect(toHex(macFrame.authenticated)).toBe(toHex(base.authenticated));
  });
});

describe('peekHeader and messageTypeName', () => {
  it('peekHeader reads the header of any valid frame, and of its first 28 bytes alone', () => {
    fc.assert(
      fc.property(arbEncodedFrame, ({ parts, bytes }) => {
        expect(ok(peekHeader(bytes))).toEqual(parts.header);
        expect(ok(peekHeader(bytes.subarray(0, HEADER_LENGTH)))).toEqual(parts.header);
        const short = peekHeader(bytes.subarray(0, HEADER_LENGTH - 1));
        expect(short.ok ? 'ok' : short.error.reason).toBe('truncated');
      }),
      { numRuns: 50 },
    );
  });

  it('peekHeader refuses a bad magic, version or type like decodeFrame does', () => {
    const good = encodeMacFrame(
      encodeHeaderAndBody(
        { type: MessageType.TableRequest, clusterId: 1, sender: 2, incarnation: 3, seq: 4, epoch: 5 },
        { type: MessageType.TableRequest },
      ),
      new Uint8Array(MAC_LENGTH),
    );
    const reasonAfter = (i: number, v: number): string => {
      const b = good.slice();
      b[i] = v;
      const d = peekHeader(b);
      return d.ok ? 'ok' : d.error.reason;
    };
    expect(reasonAfter(0, 0x00)).toBe('bad-magic');
    expect(reasonAfter(2, 2)).toBe('bad-version');
    expect(reasonAfter(3, 0)).toBe('unknown-type');
  });

  it('names every type, and unknown numbers too', () => {
    for (const [name, type] of Object.entries(MessageType)) expect(messageTypeName(type)).toBe(name);
    expect(messageTypeName(99 as MessageType)).toBe('Unknown(99)');
  });
});
