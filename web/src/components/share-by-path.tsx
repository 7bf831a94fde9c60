/** Share a file or folder in place, by its path on the peer's disk, with the hashing progress. */
import { useState } from 'preact/hooks';
import { asApiError, callWithProgress, type ApiError } from '../api.ts';
import { bytes, plural } from '../format.ts';
import type { ShareProgress, ShareResult } from '../types.ts';
import { ErrorNote } from './notes.tsx';

export function ShareByPath({ onShared }: { onShared: () => void }) {
  const [path, setPath] = useState('');
  const [running, setRunning] = useState<AbortController>();
  const [progress, setProgress] = useState<ShareProgress>();
  const [result, setResult] = useState<ShareResult>();
  const [error, setError] = useState<ApiError>();
  // Never rejects: every error is caught and shown in the form, so onSubmit voids it.
  const submit = async (e: Event) => {
    e.preventDefault();
    const abort = new AbortController();
    setRunning(abort);
    setProgress(undefined);
    setError(undefined);
    setResult(undefined);
    try {
      setResult(
        await callWithProgress<ShareResult, ShareProgress>('/shares', { path: path.trim() }, setProgress, abort.signal),
      );
      setPath('');
    } catch (err) {
      setError(asApiError(err));
    } finally {
      setRunning(undefined);
      setProgress(undefined);
      // Files hashed before a stop or a failure stay shared: list what is there either way.
      onShared();
    }
  };
  const hashed = progress && progress.bytesTotal > 0 ? Math.floor((100 * progress.bytesDone) / progress.bytesTotal) : 0;
  return (
    <form class="panel add" onSubmit={(e) => void submit(e)}>
      <label for="share-path" class="add-title">
        Share from the peer's disk
      </label>
      <p class="muted small">A file or folder, shared in place (no copy). Large files take a moment to hash.</p>
      <div class="inline">
        <input
          id="share-path"
          type="text"
          placeholder="/home/me/Music"
          value={path}
          onInput={(e) => setPath(e.currentTarget.value)}
          required
          maxLength={4096}
          spellcheck={false}
        />
        {running ? (
          <button type="button" class="secondary" onClick={() => running.abort()}>
            Stop
          </button>
        ) : (
          <button type="submit">Share</button>
        )}
      </div>
      {running ? (
        <div class="share-progress" role="status">
          <div class="bar-row">
            <progress max={100} value={hashed} aria-label={`Hashing: ${hashed}%`} />
            <span class="pct">{hashed}%</span>
          </div>
          <p class="muted small path">
            {progress
              ? `Hashing ${progress.filesDone} of ${plural(progress.filesTotal, 'file')} · ${bytes(progress.bytesDone)} of ${bytes(progress.bytesTotal)}${progress.path ? ` · ${progress.path.slice(progress.path.lastIndexOf('/') + 1)}` : ''}`
              : 'Sharing…'}
          </p>
        </div>
      ) : null}
      <ErrorNote error={error} prefix="Not shared:" />
      {result ? (
        <div class="note" role="status">
          Shared {plural(result.files.length, 'file')}
          {result.files.length > 0 ? ` (${result.files.filter((f) => f.hashed).length} hashed now)` : ''}
          {result.skipped.length > 0 ? (
            <>
              ; skipped {result.skipped.length}:
              <ul class="small">
                {result.skipped.slice(0, 10).map((s) => (
                  <li key={s.path}>
                    {s.path}: {s.reason}
                  </li>
                ))}
              </ul>
            </>
          ) : null}
        </div>
      ) : null}
    </form>
  );
}
