/**
 * The bandwidth caps, changed while the peer runs: all downloads together, and all content sent
 * to other peers. Typed as the CLI takes them (10MiB, 512KiB; empty or 0 for none); a change
 * applies at once, running transfers included, and the peer keeps it in its config file.
 */
import { useEffect, useState } from 'preact/hooks';
import { formatSize, parseRate } from '../../../src/shared/sizes.ts';
import { asApiError, call, type ApiError } from '../api.ts';
import { bytes } from '../format.ts';
import { ErrorNote } from './notes.tsx';

interface Limits {
  maxDownloadRate: number;
  maxUploadRate: number;
  keptIn?: string;
}

const shown = (n: number) => (n === 0 ? '' : formatSize(n));
const describe = (n: number) => (n === 0 ? 'no cap' : `${bytes(n)}/s`);

export function LimitsForm() {
  const [limits, setLimits] = useState<Limits>();
  const [down, setDown] = useState('');
  const [up, setUp] = useState('');
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(false);
  const [error, setError] = useState<ApiError>();
  const show = (l: Limits) => {
    setLimits(l);
    setDown(shown(l.maxDownloadRate));
    setUp(shown(l.maxUploadRate));
  };
  useEffect(() => {
    call<Limits>('GET', '/limits').then(show, (err: unknown) => setError(asApiError(err)));
  }, []);
  const [downRate, upRate] = [parseRate(down), parseRate(up)];
  const changed =
    limits !== undefined &&
    downRate !== undefined &&
    upRate !== undefined &&
    (downRate !== limits.maxDownloadRate || upRate !== limits.maxUploadRate);
  // Never rejects: every error is caught and shown in the form, so onSubmit voids it.
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!changed) return;
    setBusy(true);
    setError(undefined);
    setSaved(false);
    try {
      show(await call<Limits>('PUT', '/limits', { maxDownloadRate: downRate, maxUploadRate: upRate }));
      setSaved(true);
    } catch (err) {
      setError(asApiError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="limits" aria-labelledby="limits-title" onSubmit={(e) => void submit(e)}>
      <span id="limits-title" class="add-title">
        Speed limits
      </span>
      <div class="inline">
        <label>
          Download{' '}
          <input
            name="download"
            type="text"
            inputMode="text"
            placeholder="no cap"
            value={down}
            onInput={(e) => (setDown(e.currentTarget.value), setSaved(false))}
            aria-invalid={downRate === undefined}
            size={9}
          />
        </label>
        <label>
          Upload{' '}
          <input
            name="upload"
            type="text"
            placeholder="no cap"
            value={up}
            onInput={(e) => (setUp(e.currentTarget.value), setSaved(false))}
            aria-invalid={upRate === undefined}
            size={9}
          />
        </label>
        <button type="submit" class="small" disabled={!changed || busy}>
          {busy ? 'Applying…' : 'Apply'}
        </button>
      </div>
      <p class="muted small" role="status" data-testid="limits-status">
        {downRate === undefined || upRate === undefined
          ? 'Type a rate per second such as 5MiB or 512KiB; leave empty for no cap.'
          : limits
            ? `Now: download ${describe(limits.maxDownloadRate)}, upload ${describe(limits.maxUploadRate)}${saved && limits.keptIn ? ` · applied, and kept in ${limits.keptIn}` : ''}`
            : ''}
      </p>
      <ErrorNote error={error} />
    </form>
  );
}
