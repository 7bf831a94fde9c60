/** The top of the page: which peer this is, its queue backend and counts, and what is not answering. */
import { useEffect, useState } from 'preact/hooks';
import { apiToken, onTokenNeeded, setApiToken, type ApiError } from '../api.ts';
import { duration, plural, shortId } from '../format.ts';
import type { DownloadProgress, PeerStatus } from '../types.ts';

/** Downloads counted as active, here and in the Downloads panel. */
export const ACTIVE = new Set(['running', 'queued', 'finalizing']);

/** How the download queue is named to a user (the setting's values are jargon). */
const QUEUES: Record<string, { label: string; title: string }> = {
  embedded: { label: 'built in', title: "Download jobs wait in this peer's own queue (in its data folder)" },
  rabbitmq: { label: 'RabbitMQ', title: 'Download jobs wait in a RabbitMQ queue (--amqp)' },
};

/** `downloads`: the live list the Downloads panel shows, when it is live: the count here is the panel's, not a poll behind it. */
export function StatusHeader({
  status,
  error,
  downloads,
}: {
  status: PeerStatus | undefined;
  error: ApiError | undefined;
  downloads?: readonly DownloadProgress[];
}) {
  const c = status?.counts;
  const running = downloads
    ? downloads.filter((d) => ACTIVE.has(d.state)).length
    : c?.downloads
      ? [...ACTIVE].reduce((n, state) => n + (c.downloads?.[state] ?? 0), 0)
      : null;
  const queue = status?.queue ? QUEUES[status.queue] : undefined;
  return (
    <header class="top">
      <div class="brand">
        <svg class="logo" viewBox="0 0 32 32" aria-hidden="true">
          <line x1="8" y1="22" x2="24" y2="22" />
          <line x1="8" y1="22" x2="16" y2="8" />
          <line x1="24" y1="22" x2="16" y2="8" />
          <circle cx="8" cy="22" r="4.5" />
          <circle cx="24" cy="22" r="4.5" />
          <circle class="logo-self" cx="16" cy="8" r="4.5" />
        </svg>
        <h1>peershare</h1>
      </div>
      {status ? (
        <dl class="facts" aria-label="This peer">
          <div>
            <dt>Peer</dt>
            <dd>
              <code title={status.peerId} data-testid="peer-id">
                {shortId(status.peerId)}
              </code>
            </dd>
          </div>
          <div>
            <dt>Queue</dt>
            <dd title={queue?.title}>{queue?.label ?? status.queue ?? 'not answering'}</dd>
          </div>
          <div>
            <dt>Shared</dt>
            <dd>{c?.sharedFiles === null || c === undefined ? '?' : plural(c.sharedFiles, 'file')}</dd>
          </div>
          <div>
            <dt>Peers</dt>
            <dd>{c?.knownPeers === null || c === undefined ? '?' : `${c.alivePeers} alive of ${c.knownPeers}`}</dd>
          </div>
          <div>
            <dt>Links</dt>
            <dd>{status.links.length}</dd>
          </div>
          <div>
            <dt>Downloads</dt>
            <dd>{running === null ? '?' : `${running} active`}</dd>
          </div>
          <div>
            <dt>Up</dt>
            <dd>{duration(status.uptimeMs)}</dd>
          </div>
        </dl>
      ) : null}
      {error ? (
        <p class="banner banner-error" role="alert">
          {error.status === 0 ? error.message : `Status: ${error.message}`}
        </p>
      ) : status && status.unavailable.length > 0 ? (
        <p class="banner banner-warn" role="status">
          Not answering: {status.unavailable.join(', ')}. What they serve is missing below until they are back.
        </p>
      ) : null}
      <TokenPrompt />
    </header>
  );
}

/** Shown when a change was refused for want of the API token (a peer off loopback). */
function TokenPrompt() {
  const [needed, setNeeded] = useState(false);
  const [value, setValue] = useState('');
  useEffect(() => onTokenNeeded(setNeeded), []);
  if (!needed) return null;
  return (
    <form
      class="banner banner-warn token"
      onSubmit={(e) => {
        e.preventDefault();
        setApiToken(value.trim() || null);
        setValue('');
      }}
    >
      <label for="api-token">
        This peer needs its API token for changes (in its data folder, <code>api-token</code>)
        {apiToken() ? '; the one given was refused' : ''}:
      </label>
      <input
        id="api-token"
        type="password"
        autocomplete="off"
        value={value}
        onInput={(e) => setValue(e.currentTarget.value)}
      />
      <button type="submit">Use token</button>
    </form>
  );
}
