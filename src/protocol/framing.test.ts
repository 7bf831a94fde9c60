import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameDecoder, frame } from './framing.ts';
import { MAX_FRAME_BYTES } from './limits.ts';

const concat = (parts: Uint8Array[]) => Buffer.concat(parts.map((p) => Buffer.from(p)));

describe('frame decoder', () => {
  it('gives back every frame however the stream is cut', () => {
    const bodies = fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 });
    const cuts = fc.array(fc.nat(), { maxLength: 12 });
    fc.assert(
      fc.property(bodies, cuts, (parts, cutPoints) => {
        const stream = concat(parts.map(frame));
        const points = [...new Set(cutPoints.map((c) => c % (stream.length + 1)))].sort((x, y) => x - y);
        const decoder = new FrameDecoder();
        const out: Uint8Array[] = [];
        let from = 0;
        for (const to of [...points, stream.length]) {
          const { frames, error } = decoder.push(stream.subarray(from, to));
          expect(error).toBeUndefined();
          out.push(...frames);
          from = to;
        }
        expect(decoder.end()).toBeUndefined();
        expect(out.map((b) => Buffer.from(b).toString('hex'))).toEqual(
          parts.map((b) => Buffer.from(b).toString('hex')),
        );
      }),
    );
  });

  it('rejects a huge length prefix as soon as the prefix is read', () => {
    const decoder = new FrameDecoder();
    expect(decoder.push(Uint8Array.of(0xff, 0xff)).error).toBeUndefined();
    const { error } = decoder.push(Uint8Array.of(0xff, 0xff));
    expect(error).toEqual({ kind: 'frame-too-large', length: 0xffffffff });
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('accepts a frame of exactly the cap and rejects one byte more', () => {
    const ok = new FrameDecoder().push(frame(new Uint8Array(MAX_FRAME_BYTES)));
    expect(ok.frames[0]?.length).toBe(MAX_FRAME_BYTES);
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32BE(MAX_FRAME_BYTES + 1);
    expect(new FrameDecoder().push(prefix).error?.kind).toBe('frame-too-large');
  });

  it('reports a stream that ends inside a frame as truncated', () => {
    const decoder = new FrameDecoder();
    decoder.push(frame(new Uint8Array(10)).subarray(0, 9));
    expect(decoder.end()).toEqual({ kind: 'truncated-frame', have: 9, need: 14 });
    const inPrefix = new FrameDecoder();
    inPrefix.push(Uint8Array.of(0, 0));
    expect(inPrefix.end()?.kind).toBe('truncated-frame');
  });
});
