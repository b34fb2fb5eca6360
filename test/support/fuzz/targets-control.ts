/**
 * Fuzz targets for the cluster control protocol, one per message type: the
 * corpus is frames of that type (fast-check samples from the codec tests'
 * arbitraries, MAC or signed trailer as the type requires); every input goes
 * through readFrame, the codec's throwing form, so any exception that is not
 * a DecodeError is a finding; a frame that decodes is re-encoded through the
 * public encoders and must decode to the same frame.
 */
import fc from 'fast-check';
import { isDeepStrictEqual } from 'node:util';
import { messageTypeName } from '../../../src/cluster/control-codec.js';
import { readFrame } from '../../../src/cluster/control-codec/frame.js';
import type { Frame } from '../../../src/cluster/messages.js';
import { ALL_MESSAGE_TYPES, arbFramePartsFor, arbMessageOfType, encodeFrameParts } from '../control-arbitraries.js';
import { FuzzFinding, checkRefusal, type FuzzTarget } from './target.js';

const SAMPLES = 200;

function hexed(f: Frame): unknown {
  const plain = (v: unknown): unknown =>
    v instanceof Uint8Array ? Buffer.from(v).toString('hex') : Array.isArray(v) ? v.map(plain) : v !== null && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)])) : v;
  return plain({ header: f.header, message: f.message, trailer: f.trailer });
}

export function controlTargets(): FuzzTarget[] {
  return ALL_MESSAGE_TYPES.map((type) => {
    const name = `control ${messageTypeName(type)}`;
    return {
      name,
      corpus: (seed) => fc.sample(arbFramePartsFor(arbMessageOfType(type)), { seed, numRuns: SAMPLES }).map(encodeFrameParts),
      check(input) {
        let frame: Frame;
        try {
          frame = readFrame(input);
        } catch (e) {
          return checkRefusal(name, input, e);
        }
        let again: Uint8Array;
        try {
          again = encodeFrameParts(frame);
        } catch (e) {
          throw new FuzzFinding(name, input, `the encoders refuse a frame the decoder accepted: ${String(e)}`, { cause: e });
        }
        if (Buffer.from(again.buffer, again.byteOffset, again.length).equals(input)) return 'decoded';
        let back: Frame;
        try {
          back = readFrame(again);
        } catch (e) {
          throw new FuzzFinding(name, input, `re-encoded frame does not decode: ${String(e)}`, { cause: e });
        }
        if (!isDeepStrictEqual(hexed(back), hexed(frame))) throw new FuzzFinding(name, input, 'round trip changed the frame');
        return 'decoded';
      },
    };
  });
}
