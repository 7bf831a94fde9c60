/** Every download with a live progress bar, and pause, resume and cancel. */
import { useState } from 'preact/hooks';
import { asApiError, call, type ApiError } from '../api.ts';
import { actionsFor, fraction, percentLabel, progressDetail, sourceRows } from '../format.ts';
import type { DownloadAction, DownloadProgress } from '../types.ts';
import type { LiveDownloads } from '../use-downloads.ts';
import { CopyText } from './copy-text.tsx';
import { LimitsForm } from './limits-form.tsx';
import { ACTIVE } from './status-header.tsx';
import { Empty, ErrorNote } from './notes.tsx';

const ACTION_LABEL: Record<DownloadAction, string> = { pause: 'Pause', resume: 'Resume', cancel: 'Cancel' };

/** States a download ends in: what Clear forgets (saved files stay). */
const ENDED = new Set(['done', 'failed', 'cancelled']);

export function DownloadsView({ downloads }: { downloads: LiveDownloads }) {
  const active = downloads.list.filter((d) => ACTIVE.has(d.state)).length;
  const ended = downloads.list.filter((d) => ENDED.has(d.state)).length;
  const [clearing, setClearing] = useState(false);
  const [clearError, setClearError] = useState<ApiError>();
  // Never rejects: an error is shown under the heading. The rows go when the live stream says they were cleared.
  const clear = async () => {
    setClearing(true);
    setClearError(undefined);
    try {
      await call('DELETE', '/downloads');
    } catch (err) {
      setClearError(asApiError(err));
    } finally {
      setClearing(false);
    }
  };
  return (
    <section class="panel downloads">
      <div class="panel-head">
        <h2 id="downloads-title">Downloads</h2>
        <span class="muted">{active > 0 ? `${active} active` : ''}</span>
        {ended > 0 ? (
          <button
            type="button"
            class="small secondary"
            disabled={clearing}
            onClick={() => void clear()}
            title="Forget finished, failed and cancelled downloads (saved files stay)"
          >
            {clearing ? 'Clearing…' : `Clear ${ended} ended`}
          </button>
        ) : null}
      </div>
      <ErrorNote error={clearError} prefix="Not cleared:" />
      <LimitsForm />
      {!downloads.live && downloads.error ? (
        <ErrorNote error={downloads.error} prefix="Live progress lost, reconnecting:" />
      ) : !downloads.live && downloads.list.length > 0 ? (
        <p class="note" role="status">
          Reconnecting to live progress…
        </p>
      ) : null}
      {downloads.list.length === 0 ? (
        downloads.live ? (
          <Empty title="Nothing downloaded yet">Search, then press Download on a file.</Empty>
        ) : null
      ) : (
        <ul class="download-list" aria-label="Downloads">
          {downloads.list.map((d) => (
            <DownloadRow key={d.key} d={d} />
          ))}
        </ul>
      )}
    </section>
  );
}

function DownloadRow({ d }: { d: DownloadProgress }) {
  const [busy, setBusy] = useState<DownloadAction>();
  const [error, setError] = useState<ApiError>();
  // Never rejects: every error is caught and shown on the row, so the click handler voids it.
  const act = async (action: DownloadAction) => {
    setBusy(action);
    setError(undefined);
    try {
      await call('POST', `/downloads/${d.key}/${action}`);
    } catch (err) {
      setError(asApiError(err));
    } finally {
      setBusy(undefined);
    }
  };
  const pct = Math.floor(fraction(d) * 100);
  return (
    <li class={`download state-${d.state}`} data-key={d.key} data-file-id={d.fileId} data-state={d.state}>
      <div class="download-head">
        <span class="download-name" title={d.finalPath ?? d.name}>
          {d.name}
        </span>
        <span class={`badge state-${d.state}`}>{d.state}</span>
      </div>
      <div class="bar-row">
        <progress max={100} value={pct} aria-label={`${d.name}: ${percentLabel(d)}`} data-percent={pct} />
        <span class="pct">{percentLabel(d)}</span>
      </div>
      <p class="muted small">{progressDetail(d)}</p>
      {d.state === 'running' && d.sources.length > 0 ? (
        <details class="sources small">
          <summary class="muted">From {d.sources.length === 1 ? '1 source' : `${d.sources.length} sources`}</summary>
          <ul aria-label={`Sources of ${d.name}`}>
            {sourceRows(d).map((s) => (
              <li key={s.source} title={s.source}>
                <code>{s.who}</code>{' '}
                <span class="muted">
                  {s.sent} · {s.rate}
                </span>
              </li>
            ))}
          </ul>
        </details>
      ) : null}
      {d.state === 'done' && d.gone ? (
        <p class="small muted gone">
          The file is no longer at <span class="saved-path">{d.finalPath}</span> (deleted or moved): get it again to
          download it anew.
        </p>
      ) : d.state === 'done' && d.finalPath ? (
        <div class="saved">
          <p class="muted small path" title={d.finalPath}>
            Saved to <span class="saved-path">{d.finalPath}</span>
          </p>
          <div class="actions">
            <CopyText
              text={d.finalPath}
              button="Copy path"
              copied="Path copied"
              buttonLabel={`Copy the path of ${d.name}`}
              fieldLabel={`Path of ${d.name}`}
            />
            {/* Served as an attachment under a sandboxing CSP: saved by the browser, never shown on this page's origin. */}
            <a
              class="button small secondary"
              href={`/downloads/${d.key}/file`}
              download={d.name}
              aria-label={`Save ${d.name} from the browser`}
            >
              Save in browser
            </a>
          </div>
        </div>
      ) : null}
      {/* A queued download's error is a retry note; a failed one, or one paused on an error (a full disk), needs the user. */}
      {d.error && d.state !== 'done' ? (
        <p class={`small ${d.state === 'failed' || d.state === 'paused' ? 'error-text' : 'muted'}`}>{d.error}</p>
      ) : null}
      <ErrorNote error={error} />
      {actionsFor(d.state).length > 0 ? (
        <div class="actions">
          {actionsFor(d.state).map((action) => (
            <button
              key={action}
              type="button"
              class="small secondary"
              disabled={busy !== undefined}
              onClick={() => void act(action)}
              aria-label={`${ACTION_LABEL[action]} ${d.name}`}
            >
              {busy === action ? `${ACTION_LABEL[action]}…` : ACTION_LABEL[action]}
            </button>
          ))}
        </div>
      ) : null}
    </li>
  );
}
