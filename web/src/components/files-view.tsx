/**
 * What this peer shares: add a file or folder by its path on the peer's disk (shared in place),
 * or upload files from this browser (streamed into the peer's store); copy a file's link to give
 * it to someone; unshare any of them.
 */
import { useState } from 'preact/hooks';
import { asApiError, call, type ApiError } from '../api.ts';
import { ago, bytes, plural, shortId } from '../format.ts';
import type { SharedFile, SharedFolder } from '../types.ts';
import { usePolled } from '../use-polled.ts';
import { CopyText } from './copy-text.tsx';
import { Empty, ErrorNote } from './notes.tsx';
import { ShareByPath } from './share-by-path.tsx';
import { UploadFiles } from './upload-files.tsx';

interface Listing {
  items: Array<SharedFile & { link: string }>;
  total: number;
}

interface Folders {
  items: Array<SharedFolder & { link: string }>;
  total: number;
}

export function FilesView({ changed, onChange }: { changed: number; onChange: () => void }) {
  const [filter, setFilter] = useState('');
  const [edits, setEdits] = useState(0);
  const listing = usePolled<Listing>(
    `/files?limit=200${filter.trim() ? `&q=${encodeURIComponent(filter.trim())}` : ''}`,
    10_000,
    [changed, edits],
  );
  const folders = usePolled<Folders>('/folders?limit=100', 10_000, [changed, edits]);
  const touched = () => {
    setEdits((n) => n + 1);
    onChange();
  };
  return (
    <section aria-labelledby="files-title">
      <h2 id="files-title" class="visually-hidden">
        Shared files
      </h2>
      <div class="add-grid">
        <ShareByPath onShared={touched} />
        <UploadFiles onUploaded={touched} />
      </div>

      {folders.data && folders.data.items.length > 0 ? (
        <>
          <div class="panel-head">
            <h3>
              Shared folders<span class="muted"> · {folders.data.total}</span>
            </h3>
          </div>
          <ul class="file-list" aria-label="Shared folders">
            {folders.data.items.map((f) => (
              <li key={f.id} class="file folder" data-collection-id={f.id}>
                <div class="file-main">
                  <span class="file-name" title={f.folder ?? f.name}>
                    {f.name}/
                  </span>
                  <span class="muted small">
                    {plural(f.files, 'file')} · {bytes(f.size)} · added {ago(f.addedAt, Date.now())}
                    {f.complete ? '' : ' · some of its files are no longer shared here'}
                  </span>
                  <CopyText
                    text={f.link}
                    button="Copy folder link"
                    copied="Link copied"
                    buttonLabel={`Copy the link to folder ${f.name}`}
                    fieldLabel={`Link to folder ${f.name}`}
                  />
                </div>
              </li>
            ))}
          </ul>
        </>
      ) : null}

      <div class="panel-head">
        <h3>Shared by this peer{listing.data ? <span class="muted"> · {listing.data.total}</span> : null}</h3>
        <label class="filter">
          <span class="visually-hidden">Filter shared files</span>
          <input
            type="search"
            placeholder="Filter by name"
            value={filter}
            onInput={(e) => setFilter(e.currentTarget.value)}
          />
        </label>
      </div>
      <ErrorNote error={listing.error} prefix="Could not list shared files:" />
      {listing.data === undefined ? null : listing.data.items.length === 0 ? (
        filter.trim() ? (
          <Empty title={`No shared file matches “${filter.trim()}”`} />
        ) : (
          <Empty title="This peer shares nothing yet">
            Share a file or folder by its path, or upload one above. Downloaded files are shared too.
          </Empty>
        )
      ) : (
        <ul class="file-list" aria-label="Shared files">
          {listing.data.items.map((f) => (
            <FileRow key={f.id} file={f} onUnshared={touched} />
          ))}
        </ul>
      )}
    </section>
  );
}

function FileRow({ file, onUnshared }: { file: SharedFile & { link: string }; onUnshared: () => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError>();
  // Never rejects: every error is caught and shown on the row, so the click handler voids it.
  const unshare = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await call('DELETE', `/files/${file.id}`);
      onUnshared();
    } catch (err) {
      setError(asApiError(err));
      setBusy(false);
    }
  };
  return (
    <li class="file" data-file-id={file.id}>
      <div class="file-main">
        <span class="file-name" title={file.name}>
          {file.name}
        </span>
        <span class="muted small">
          {bytes(file.size)} · added {ago(file.addedAt, Date.now())} · <code title={file.id}>{shortId(file.id)}</code>
          {file.names.length > 1 ? ` · also ${file.names.filter((n) => n !== file.name).join(', ')}` : ''}
        </span>
        {file.paths && file.paths.length > 0 ? (
          <span class="muted small path" title={file.paths.join('\n')}>
            {file.paths[0]}
          </span>
        ) : null}
        <ErrorNote error={error} prefix="Not unshared:" />
        <CopyText
          text={file.link}
          button="Copy link"
          copied="Link copied"
          buttonLabel={`Copy the link to ${file.name}`}
          fieldLabel={`Link to ${file.name}`}
        />
      </div>
      <button
        type="button"
        class="small secondary danger"
        disabled={busy}
        onClick={() => void unshare()}
        aria-label={`Unshare ${file.name}`}
      >
        {busy ? 'Unsharing…' : 'Unshare'}
      </button>
    </li>
  );
}
