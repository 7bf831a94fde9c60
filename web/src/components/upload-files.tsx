/** Upload files from this browser (picked or dropped), each streamed to the peer with its progress. */
import { useRef, useState } from 'preact/hooks';
import { asApiError, upload, type ApiError } from '../api.ts';
import { bytes, shortId } from '../format.ts';
import type { SharedFile } from '../types.ts';
import { ErrorNote } from './notes.tsx';

interface UploadEntry {
  id: number;
  name: string;
  size: number;
  sent: number;
  state: 'sending' | 'finishing' | 'done' | 'failed';
  error?: ApiError;
  abort?: () => void;
  fileId?: string;
}

let uploadIds = 0;

export function UploadFiles({ onUploaded }: { onUploaded: () => void }) {
  const [entries, setEntries] = useState<UploadEntry[]>([]);
  const [dragging, setDragging] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const update = (id: number, change: Partial<UploadEntry>) =>
    setEntries((list) => list.map((u) => (u.id === id ? { ...u, ...change } : u)));

  const send = (files: FileList | File[]) => {
    for (const file of Array.from(files)) {
      const id = ++uploadIds;
      const sending = upload<SharedFile>(`/files?name=${encodeURIComponent(file.name)}`, file, (sent, total) =>
        update(id, { sent, state: sent >= total ? 'finishing' : 'sending' }),
      );
      const entry: UploadEntry = {
        id,
        name: file.name,
        size: file.size,
        sent: 0,
        state: 'sending',
        abort: sending.abort,
      };
      setEntries((list) => [entry, ...list].slice(0, 20));
      sending.done.then(
        (shared) => {
          update(id, { state: 'done', sent: file.size, fileId: shared.id });
          onUploaded();
        },
        (err: unknown) => update(id, { state: 'failed', error: asApiError(err) }),
      );
    }
  };

  return (
    <div
      class={`panel add drop${dragging ? ' dragging' : ''}`}
      onDragOver={(e) => {
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={(e) => {
        e.preventDefault();
        setDragging(false);
        if (e.dataTransfer?.files.length) send(e.dataTransfer.files);
      }}
    >
      <label for="upload-input" class="add-title">
        Upload from this browser
      </label>
      <p class="muted small">Files are streamed into the peer's store and shared. Or drop them here.</p>
      <input
        id="upload-input"
        ref={input}
        type="file"
        multiple
        onChange={(e) => {
          const files = e.currentTarget.files;
          if (files && files.length > 0) send(files);
          e.currentTarget.value = '';
        }}
      />
      {entries.length > 0 ? (
        <ul class="upload-list" aria-label="Uploads">
          {entries.map((u) => {
            const pct = u.size === 0 ? 100 : Math.floor((100 * u.sent) / u.size);
            return (
              <li key={u.id} class={`upload state-${u.state}`} data-state={u.state}>
                <div class="download-head">
                  <span class="download-name" title={u.name}>
                    {u.name}
                  </span>
                  <span class={`badge state-${u.state === 'sending' || u.state === 'finishing' ? 'running' : u.state}`}>
                    {u.state === 'finishing' ? 'hashing' : u.state === 'done' ? 'shared' : u.state}
                  </span>
                </div>
                {u.state === 'sending' || u.state === 'finishing' ? (
                  <div class="bar-row">
                    <progress max={100} value={pct} aria-label={`Upload of ${u.name}: ${pct}%`} />
                    <span class="pct">{pct}%</span>
                    <button
                      type="button"
                      class="small secondary"
                      onClick={() => u.abort?.()}
                      aria-label={`Cancel upload of ${u.name}`}
                    >
                      Cancel
                    </button>
                  </div>
                ) : null}
                <p class="muted small">
                  {bytes(u.sent)} of {bytes(u.size)}
                  {u.fileId ? (
                    <>
                      {' · '}
                      <code title={u.fileId}>{shortId(u.fileId)}</code>
                    </>
                  ) : null}
                </p>
                <ErrorNote error={u.error} prefix="Upload failed:" />
              </li>
            );
          })}
        </ul>
      ) : null}
    </div>
  );
}
