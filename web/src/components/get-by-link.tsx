/**
 * Download from a `peershare:` link or a file id pasted (or filled in by a deep link, #/get/…):
 * what it names is shown first, and nothing is asked of the peer before the user clicks.
 * Optionally, the user can have the browser open `web+peershare:` links here.
 */
import { useState } from 'preact/hooks';
import { asApiError, call, type ApiError } from '../api.ts';
import { bytes, plural, shortId } from '../format.ts';
import { downloadRequest, readPasted } from '../links.ts';
import type { QueuedDownload, QueuedFolder } from '../types.ts';
import { outDirOf } from '../download-folder.ts';
import { ErrorNote } from './notes.tsx';

/** `folder`: where the download is saved (download-folder.ts); empty for the peer's downloads folder. */
export function GetByLink({ initial = '', folder = '' }: { initial?: string; folder?: string }) {
  const [text, setText] = useState(initial);
  const [busy, setBusy] = useState(false);
  const [queued, setQueued] = useState<QueuedDownload | QueuedFolder>();
  const [error, setError] = useState<ApiError>();
  const pasted = readPasted(text);
  const body = downloadRequest(pasted);
  // Never rejects: every error is caught and shown in the form, so onSubmit voids it.
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!body) return;
    setBusy(true);
    setError(undefined);
    setQueued(undefined);
    try {
      setQueued(await call<QueuedDownload | QueuedFolder>('POST', '/downloads', { ...body, ...outDirOf(folder) }));
      setText('');
    } catch (err) {
      setError(asApiError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="get-link" aria-labelledby="get-link-title" onSubmit={(e) => void submit(e)}>
      <label id="get-link-title" for="get-link" class="add-title">
        Download from a link
      </label>
      <div class="inline">
        <input
          id="get-link"
          type="text"
          placeholder="peershare:?id=… or a file id"
          value={text}
          onInput={(e) => setText(e.currentTarget.value)}
          autocomplete="off"
          spellcheck={false}
          maxLength={4200}
        />
        <button type="submit" disabled={!body || busy}>
          {busy ? 'Queueing…' : 'Download'}
        </button>
      </div>
      <p class="muted small" role="status" data-testid="link-preview">
        {pasted.kind === 'link' ? (
          <>
            {pasted.link.folder ? 'Folder ' : ''}
            <strong>{pasted.link.name ?? shortId(pasted.link.fileId)}</strong>
            {pasted.link.size !== undefined ? ` · ${bytes(pasted.link.size)}` : ''} ·{' '}
            {plural(pasted.link.hints.length, 'peer')} named in the link · id{' '}
            <code title={pasted.link.fileId}>{shortId(pasted.link.fileId)}</code>. Every chunk is checked against the
            id.
          </>
        ) : pasted.kind === 'id' ? (
          <>
            File <code>{shortId(pasted.fileId)}</code>, from the peers this one knows.
          </>
        ) : pasted.kind === 'invalid' ? (
          <span class="warn-text">Not a usable link: {pasted.reason}</span>
        ) : (
          'Paste a link someone gave you, as peershare share and files print it.'
        )}
      </p>
      <ErrorNote error={error} prefix="Not queued:" />
      {queued ? (
        <p class="note" role="status">
          {'folder' in queued
            ? `Queued folder ${queued.folder.name}: ${plural(queued.folder.files, 'file')} into ${queued.folder.root}; see Downloads.`
            : `Queued ${queued.download.name}: see Downloads.`}
        </p>
      ) : null}
      <HandlerButton />
    </form>
  );
}

/** Ask the browser to open web+peershare: links in this UI (they then only fill in the form above). */
function HandlerButton() {
  const [said, setSaid] = useState<string>();
  if (!('registerProtocolHandler' in navigator)) return null;
  const register = () => {
    try {
      navigator.registerProtocolHandler('web+peershare', `${location.origin}/#/get/%s`);
      setSaid('Asked the browser: web+peershare: links will open here, filled in, for you to click Download.');
    } catch (err) {
      setSaid(`The browser refused: ${(err as Error).message}`);
    }
  };
  return (
    <p class="muted small">
      <button type="button" class="link" onClick={register}>
        Open web+peershare: links here
      </button>
      {said ? ` ${said}` : ''}
    </p>
  );
}
