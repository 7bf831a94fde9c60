import { describe, expect, it } from 'vitest';
import { hashBytes, toManifest, type Manifest } from '../../shared/content.ts';
import type { ChunkSource } from '../ports.ts';
import { raceManifests } from './manifest-race.ts';

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
      chunkSource: fake.source, fileId: good.id, sources: ['empty', 'partial', 'honest'], signal: new AbortController().signal,
      options: { parallel: 1 }, onFailure: (f) => failures.push(f.reason),
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
    await expect(race(scripted({}).source, [])).rejects.toMatchObject({ code: 'UNAVAILABLE', message: `no known source for ${good.id}` });
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
