import { afterEach, describe, expect, it, vi } from 'vitest';
import { hashBytes, toManifest, type Manifest } from '../../shared/content.ts';
import type { ChunkSource } from '../ports.ts';
import { MANIFEST_PARALLEL, MANIFEST_STEP_TIMEOUT_MS, MANIFEST_TIMEOUT_MS, raceManifests } from './manifest-race.ts';

const good = toManifest(hashBytes(Buffer.alloc(100_000, 1), 16 * 1024), 'a.bin');
const other = toManifest(hashBytes(Buffer.alloc(100_000, 2), 16 * 1024), 'b.bin');
const tampered: Manifest = { ...good, chunks: [other.chunks[0]!, ...good.chunks.slice(1)] };

/** What a fake source does when asked: answer at once, answer when told, fail, or never answer. */
type Behaviour = Manifest | Error | 'never' | 'held';

/** A ChunkSource whose manifest answers are scripted per source; it records who was asked and who was aborted. */
function scripted(behaviours: Record<string, Behaviour>) {
  const asked: string[] = [];
  const aborted: string[] = [];
  const held = new Map<string, (m: Manifest) => void>();
  const source: ChunkSource = {
    manifest(url, _fileId, signal) {
      asked.push(url);
      signal.addEventListener('abort', () => aborted.push(url), { once: true });
      const b = behaviours[url]!;
      if (b === 'never') return new Promise<Manifest>(() => undefined); // ignores the signal, too
      if (b === 'held') return new Promise<Manifest>((resolve) => held.set(url, resolve));
      if (b instanceof Error) return Promise.reject(b);
      return Promise.resolve(b);
    },
    range: () => Promise.reject(new Error('not used')),
    close: () => undefined,
  };
  return { source, asked, aborted, release: (url: string, m: Manifest) => held.get(url)!(m) };
}

const race = (chunkSource: ChunkSource, sources: string[], options = {}, signal = new AbortController().signal) =>
  raceManifests({ chunkSource, fileId: good.id, sources, signal, options });

describe('asking sources for a manifest', () => {
  it('asks several sources at once; the first verified answer wins and the slower ones are aborted', async () => {
    const fake = scripted({ slow: 'held', fast: good, later: good });
    const won = await race(fake.source, ['slow', 'fast', 'later'], { parallel: 3 });
    expect(won).toMatchObject({ source: 'fast', manifest: good, usable: ['slow', 'fast', 'later'] });
    expect(fake.asked).toEqual(['slow', 'fast', 'later']);
    expect(fake.aborted.sort()).toEqual(['later', 'slow']);
  });

  it('refuses a manifest of another file or one whose hashes do not match its id, and leaves the liars out', async () => {
    const fake = scripted({ wrongFile: other, forged: tampered, honest: 'held' });
    const racing = race(fake.source, ['wrongFile', 'forged', 'honest'], { parallel: 3 });
    // Both lies have arrived before the honest answer; neither ended the race.
    await new Promise((r) => setImmediate(r));
    fake.release('honest', good);
    const won = await racing;
    expect(won).toMatchObject({ source: 'honest', manifest: good, usable: ['honest'] });
  });

  it('counts an answer that is no manifest at all as one more failure, and goes on', async () => {
    const fake = scripted({ empty: null as unknown as Manifest, partial: { id: good.id } as Manifest, honest: good });
    const failures: string[] = [];
    const won = await raceManifests({
      chunkSource: fake.source,
      fileId: good.id,
      sources: ['empty', 'partial', 'honest'],
      signal: new AbortController().signal,
      options: { parallel: 1 },
      onFailure: (f) => failures.push(f.reason),
    });
    expect(failures).toEqual(['empty: sent a malformed manifest', 'partial: sent a malformed manifest']);
    expect(won).toMatchObject({ source: 'honest', usable: ['honest'] });
  });

  it('gives a source that never answers a deadline, even when it ignores the abort, and asks the next in its place', async () => {
    const fake = scripted({ hole: 'never', hole2: 'never', good });
    const won = await race(fake.source, ['hole', 'hole2', 'good'], { parallel: 1, timeoutMs: 20 });
    expect(fake.asked).toEqual(['hole', 'hole2', 'good']);
    expect(won).toMatchObject({ source: 'good', usable: ['good'] });
  });

  it('asks at most `parallel` sources at once', async () => {
    const fake = scripted({ a: 'held', b: 'held', c: good, d: good });
    const racing = race(fake.source, ['a', 'b', 'c', 'd'], { parallel: 2 });
    await new Promise((r) => setImmediate(r));
    expect(fake.asked).toEqual(['a', 'b']);
    fake.release('b', good);
    expect(await racing).toMatchObject({ source: 'b', usable: ['a', 'b', 'c', 'd'] });
    expect(fake.asked).toEqual(['a', 'b']);
  });

  it('fails with UNAVAILABLE naming each source and why when none delivered a verified manifest', async () => {
    const fake = scripted({ hole: 'never', liar: other, gone: new Error('connect ECONNREFUSED') });
    const failure = race(fake.source, ['hole', 'liar', 'gone'], { timeoutMs: 20 });
    await expect(failure).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    const message = ((await failure.catch((e: unknown) => e)) as Error).message;
    expect(message).toContain(`no source answered with the manifest of ${good.id}`);
    expect(message).toContain('hole: no manifest within 20 ms');
    expect(message).toContain('liar: sent the manifest of another file');
    expect(message).toContain('gone: connect ECONNREFUSED');
  });

  it('fails with UNAVAILABLE when there is no source, and with the abort reason when the download stops', async () => {
    await expect(race(scripted({}).source, [])).rejects.toMatchObject({
      code: 'UNAVAILABLE',
      message: `no known source for ${good.id}`,
    });
    const fake = scripted({ a: 'held' });
    const stop = new AbortController();
    const racing = race(fake.source, ['a'], {}, stop.signal);
    await new Promise((r) => setImmediate(r));
    const why = new Error('paused by the user');
    stop.abort(why);
    await expect(racing).rejects.toBe(why);
    expect(fake.aborted).toEqual(['a']);
  });
});

describe('the deadline of the whole manifest step', () => {
  afterEach(() => void vi.useRealTimers());

  /** 64 sources that never answer (nor honour the abort), the most a job may list. */
  const silent = () => Array.from({ length: 64 }, (_, i) => `silent${i}`);

  it('gives up after MANIFEST_STEP_TIMEOUT_MS with UNAVAILABLE saying why, however many sources are left, and aborts those asked', async () => {
    vi.useFakeTimers();
    const sources = silent();
    const fake = scripted(Object.fromEntries(sources.map((s) => [s, 'never' as const])));
    let outcome: unknown;
    race(fake.source, sources).then(
      () => (outcome = 'won'),
      (err: unknown) => (outcome = err),
    );

    await vi.advanceTimersByTimeAsync(MANIFEST_STEP_TIMEOUT_MS - 1);
    expect(outcome).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    // Rounds of MANIFEST_PARALLEL sources, one per-source deadline each, until the step's deadline.
    const rounds = Math.ceil(MANIFEST_STEP_TIMEOUT_MS / MANIFEST_TIMEOUT_MS);
    expect(fake.asked).toHaveLength(rounds * MANIFEST_PARALLEL);
    expect(fake.asked.length).toBeLessThan(sources.length);
    expect(fake.aborted.sort()).toEqual([...fake.asked].sort());
    expect(outcome).toMatchObject({ code: 'UNAVAILABLE' });
    const message = (outcome as Error).message;
    expect(message).toContain(
      `no source answered with the manifest of ${good.id} within ${MANIFEST_STEP_TIMEOUT_MS} ms, the deadline of the manifest step`,
    );
    expect(message).toContain(`${fake.asked.length} of ${sources.length} sources asked`);
    expect(message).toContain(`silent0: no manifest within ${MANIFEST_TIMEOUT_MS} ms`);
    expect(vi.getTimerCount()).toBe(0); // no deadline left running
  });

  it('takes its deadline from the options, and a winner before it clears it', async () => {
    vi.useFakeTimers();
    const sources = silent();
    const fake = scripted({ ...Object.fromEntries(sources.map((s) => [s, 'never' as const])), late: 'held' });
    let outcome: unknown;
    race(fake.source, ['late', ...sources], { stepTimeoutMs: 100, timeoutMs: 40, parallel: 2 }).then(
      (won) => (outcome = won),
      (err: unknown) => (outcome = err),
    );
    await vi.advanceTimersByTimeAsync(100);
    // Two at a time, each given 40 ms: asked at 0, 40 and 80 ms.
    expect(fake.asked).toEqual(['late', 'silent0', 'silent1', 'silent2', 'silent3', 'silent4']);
    expect((outcome as Error).message).toContain(
      'within 100 ms, the deadline of the manifest step; 6 of 65 sources asked (',
    );
    expect((outcome as Error).message).toContain('late: no manifest within 40 ms');

    const again = scripted({ ...Object.fromEntries(sources.map((s) => [s, 'never' as const])), late: 'held' });
    const racing = race(again.source, ['late', ...sources], { stepTimeoutMs: 100, timeoutMs: 1_000, parallel: 1 });
    await vi.advanceTimersByTimeAsync(99);
    again.release('late', good);
    expect(await racing).toMatchObject({ source: 'late' });
    expect(vi.getTimerCount()).toBe(0);
  });
});
