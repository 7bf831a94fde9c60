/** The transfer's deadlines run on the injected clock (shared/clock.ts), not the machine's timers. */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../test/support/manual-clock.ts';
import { hashBytes, toManifest } from '../../shared/content.ts';
import type { ChunkSource, PartialFile } from '../ports.ts';
import { Bitfield } from './bitfield.ts';
import { runTransfer, type TransferEvent } from './transfer.ts';

describe('transfer on an injected clock', () => {
  it('fails a source that never answers after three silences of requestTimeoutMs, counted on the clock', async () => {
    const clock = new ManualClock();
    const manifest = toManifest(hashBytes(Buffer.alloc(8, 1), 4), 'f'); // two chunks of 4 bytes
    let requests = 0;
    const silent: ChunkSource = {
      manifest: () => Promise.reject(new Error('not asked here')),
      close: () => undefined,
      range: (_source, _fileId, _start, _end, signal) => {
        requests += 1;
        return new Promise((_resolve, reject) =>
          signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }),
        );
      },
    };
    const partial: PartialFile = {
      path: 'unused',
      read: () => Promise.resolve(Buffer.alloc(0)),
      write: () => Promise.resolve(),
      sync: () => Promise.resolve(),
      close: () => Promise.resolve(),
    };
    const events: TransferEvent[] = [];
    const outcome = runTransfer({
      manifest,
      sources: ['a@127.0.0.1:1'],
      chunkSource: silent,
      partial,
      verified: new Bitfield(2),
      signal: new AbortController().signal,
      onEvent: (e) => events.push(e),
      options: { requestTimeoutMs: 30_000, slotsPerSource: 1 },
      clock,
    }).then(
      () => 'done',
      (err: Error) => err.message,
    );
    const failures = () => events.filter((e) => e.type === 'source-failed').length;
    await clock.advance(29_999);
    expect([requests, failures()]).toEqual([1, 0]); // silent, but not for long enough yet
    await clock.advance(1);
    expect([requests, failures()]).toEqual([2, 1]); // stalled: counted, asked again
    await clock.advance(60_000);
    expect(await outcome).toMatch(/no source could serve/);
    expect([requests, failures()]).toEqual([3, 3]);
    expect(clock.pending).toBe(0); // no deadline left behind
  });
});
