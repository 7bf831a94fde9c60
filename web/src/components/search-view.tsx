/** Search the network: hits stream in as peers answer; one click queues a file's download. */
import { folderProblem, outDirOf, useDownloadFolder } from '../download-folder.ts';
import { useState } from 'preact/hooks';
import { asApiError, call, type ApiError } from '../api.ts';
import { bytes, fraction, hopsLabel, plural, shortId } from '../format.ts';
import { groupHits, type FileResult } from '../search-results.ts';
import type { DownloadProgress, QueuedDownload, QueuedFolder } from '../types.ts';
import type { SearchState } from '../use-search.ts';
import { GetByLink } from './get-by-link.tsx';
import { Empty, ErrorNote } from './notes.tsx';

interface Props {
  search: SearchState;
  onSearch: (query: string) => void;
  onStop: () => void;
  selfId: string | undefined;
  downloads: DownloadProgress[];
  onShowNetwork: () => void;
  /** Filled in by a deep link (#/search?q=, #/get/…): shown in the forms, nothing started. */
  prefill?: { query?: string; link?: string };
}

export function SearchView({ search, onSearch, onStop, selfId, downloads, onShowNetwork, prefill }: Props) {
  const [text, setText] = useState(prefill?.query ?? search.query);
  const [folder, setFolder] = useDownloadFolder();
  const rows = groupHits(search.hits);
  const peers = new Set(search.hits.map((h) => h.holderPeerId)).size;
  return (
    <section aria-labelledby="search-title">
      <h2 id="search-title" class="visually-hidden">
        Search
      </h2>
      <form
        class="search-form"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          if (text.trim()) onSearch(text);
        }}
      >
        <label for="search-q" class="visually-hidden">
          Search the network
        </label>
        <input
          id="search-q"
          type="search"
          name="q"
          placeholder="Words in a file name, or a file id"
          autocomplete="off"
          value={text}
          onInput={(e) => setText(e.currentTarget.value)}
          required
          maxLength={1024}
        />
        {search.running ? (
          <button type="button" class="secondary" onClick={onStop}>
            Stop
          </button>
        ) : (
          <button type="submit">Search</button>
        )}
      </form>

      <div class="download-folder">
        <label for="download-folder" class="add-title">
          Save downloads into
        </label>
        <input
          id="download-folder"
          type="text"
          placeholder="the peer's downloads folder"
          value={folder}
          onInput={(e) => setFolder(e.currentTarget.value)}
          aria-invalid={folderProblem(folder) !== undefined}
          aria-describedby="download-folder-note"
          autocomplete="off"
          spellcheck={false}
        />
        <p id="download-folder-note" class={`small ${folderProblem(folder) ? 'error-text' : 'muted'}`}>
          {folderProblem(folder) ??
            "A folder on the peer's machine, for the downloads you start here; empty for the default."}
        </p>
      </div>

      <GetByLink initial={prefill?.link} folder={folder} />

      <p class="search-status" role="status" aria-live="polite">
        {search.running ? (
          <span class="pulse">
            Searching for “{search.query}”… {plural(search.hits.length, 'hit')} so far
          </span>
        ) : search.summary ? (
          <span>
            {plural(search.summary.hits, 'hit')} from {plural(peers, 'peer')} in{' '}
            {(search.summary.elapsedMs / 1000).toFixed(1)} s
            {search.summary.duplicatesDropped > 0
              ? ` (${plural(search.summary.duplicatesDropped, 'duplicate')} dropped)`
              : ''}
            {peers > 0 ? (
              <>
                {' · '}
                <button type="button" class="link" onClick={onShowNetwork}>
                  see who answered
                </button>
              </>
            ) : null}
          </span>
        ) : null}
      </p>
      <ErrorNote error={search.error} prefix="Search failed:" />

      {rows.length > 0 ? (
        <ul class="results" aria-label="Search results">
          {rows.map((row) => (
            <ResultRow
              key={row.fileId}
              row={row}
              selfId={selfId}
              download={downloads.find((d) => d.fileId === row.fileId)}
              folder={folder}
            />
          ))}
        </ul>
      ) : search.query === '' ? (
        <Empty title="Find files on the network">
          Type a few words of a file name. Every word must start a word of the name; hits appear as the peers answer.
        </Empty>
      ) : !search.running && !search.error ? (
        <Empty title={`No file on the network matches “${search.query}”`}>Try fewer or shorter words.</Empty>
      ) : null}
    </section>
  );
}

function ResultRow({
  row,
  selfId,
  download,
  folder,
}: {
  row: FileResult;
  selfId: string | undefined;
  download: DownloadProgress | undefined;
  folder: string;
}) {
  const [queueing, setQueueing] = useState(false);
  const [error, setError] = useState<ApiError>();
  const [queuedFolder, setQueuedFolder] = useState<QueuedFolder['folder']>();
  // Never rejects: every error is caught and shown on the row, so the click handler voids it.
  const queue = async () => {
    setQueueing(true);
    setError(undefined);
    try {
      const queued = await call<QueuedDownload | QueuedFolder>('POST', '/downloads', {
        fileId: row.fileId,
        ...outDirOf(folder),
      });
      if ('folder' in queued) setQueuedFolder(queued.folder);
    } catch (err) {
      setError(asApiError(err));
    } finally {
      setQueueing(false);
    }
  };
  const active = download && download.state !== 'cancelled' && download.state !== 'failed';
  return (
    <li class="result" data-file-id={row.fileId}>
      <div class="result-main">
        <span class="result-name" title={row.name}>
          {row.folder ? <span class="badge kind-folder">Folder</span> : null}
          {row.name}
        </span>
        <span class="muted">
          {row.folder ? `${plural(row.folder.files, 'file')} · ` : ''}
          {bytes(row.size)}
          {row.otherNames.length > 0 ? ` · also named ${row.otherNames.join(', ')}` : ''}
        </span>
        <ul class="holders" aria-label={`Peers holding ${row.name}`}>
          {row.holders.map((h) => (
            <li key={h.peerId} class={`holder hops-${Math.min(h.hops, 4)}`} data-holder={h.peerId} title={h.peerId}>
              {h.peerId === selfId ? 'this peer' : `${shortId(h.peerId)} · ${hopsLabel(h.hops)}`}
            </li>
          ))}
        </ul>
        <ErrorNote error={error} prefix="Not queued:" />
        {queuedFolder ? (
          <p class="small muted" role="status">
            Queued {plural(queuedFolder.files, 'file')} into {queuedFolder.root}; see Downloads.
          </p>
        ) : null}
      </div>
      <div class="result-action">
        {active ? (
          <span class={`badge state-${download.state}`}>
            {download.state === 'done'
              ? 'Downloaded'
              : download.state === 'running'
                ? `${Math.floor(fraction(download) * 100)}%`
                : download.state}
          </span>
        ) : (
          <button type="button" onClick={() => void queue()} disabled={queueing} aria-label={`Download ${row.name}`}>
            {queueing ? 'Queueing…' : 'Download'}
          </button>
        )}
      </div>
    </li>
  );
}
