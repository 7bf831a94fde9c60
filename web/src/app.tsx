/**
 * The page: the peer's status on top, three views in tabs (search, shared files, network) and
 * the downloads beside them, live. Everything comes from the Client API of the peer that served
 * the page; the tab is kept in the address (#search, #files, #network) so a reload keeps it.
 * Deep links (#/get/LINK_OR_ID, #/search?q=WORDS) open the search view with its forms filled
 * in, and start nothing (links.ts).
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { DownloadsView } from './components/downloads-view.tsx';
import { FilesView } from './components/files-view.tsx';
import { NetworkView } from './components/network-view.tsx';
import { SearchView } from './components/search-view.tsx';
import { StatusHeader } from './components/status-header.tsx';
import { readDeepLink, type DeepLink } from './links.ts';
import { answeredPeers } from './search-results.ts';
import type { PeerStatus } from './types.ts';
import { useDownloads } from './use-downloads.ts';
import { usePolled } from './use-polled.ts';
import { useSearch } from './use-search.ts';

const TABS = [
  { id: 'search', label: 'Search' },
  { id: 'files', label: 'Shared files' },
  { id: 'network', label: 'Network' },
] as const;
type Tab = (typeof TABS)[number]['id'];

const tabFromHash = (): Tab => TABS.find((t) => `#${t.id}` === location.hash)?.id ?? 'search';

const prefillOf = (deep: DeepLink | undefined) =>
  deep?.view === 'get' ? { link: deep.text } : deep?.view === 'search' ? { query: deep.q } : undefined;

export function App() {
  const [tab, setTab] = useState<Tab>(tabFromHash);
  // Each deep link followed remounts the search view with its forms filled in.
  const [deep, setDeep] = useState(() => ({ prefill: prefillOf(readDeepLink(location.hash)), n: 0 }));
  const [changes, setChanges] = useState(0);
  const downloads = useDownloads();
  const status = usePolled<PeerStatus>('/status', 5_000, [downloads.finished, changes]);
  const search = useSearch();
  const tabs = useRef<Array<HTMLButtonElement | null>>([]);

  useEffect(() => {
    const onHash = () => {
      const followed = readDeepLink(location.hash);
      if (followed) setDeep((d) => ({ prefill: prefillOf(followed), n: d.n + 1 }));
      setTab(tabFromHash());
    };
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);

  const show = (next: Tab, focus = false) => {
    if (location.hash !== `#${next}`) history.replaceState(null, '', `#${next}`);
    setDeep((d) => ({ ...d, prefill: undefined })); // filled in once, not again on coming back
    setTab(next);
    if (focus) tabs.current[TABS.findIndex((t) => t.id === next)]?.focus();
  };

  // Arrow keys move between tabs, as in any tablist (WAI-ARIA Authoring Practices).
  const onTabKey = (e: KeyboardEvent) => {
    const i = TABS.findIndex((t) => t.id === tab);
    const step = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
    if (e.key === 'Home' || e.key === 'End') {
      e.preventDefault();
      show(TABS[e.key === 'Home' ? 0 : TABS.length - 1]!.id, true);
    } else if (step !== 0) {
      e.preventDefault();
      show(TABS[(i + step + TABS.length) % TABS.length]!.id, true);
    }
  };

  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <StatusHeader status={status.data} error={status.error} downloads={downloads.live ? downloads.list : undefined} />
      <div class="layout">
        <main id="main" class="main">
          <div class="tabs" role="tablist" aria-label="Views" onKeyDown={onTabKey}>
            {TABS.map((t, i) => (
              <button
                key={t.id}
                ref={(el) => {
                  tabs.current[i] = el;
                }}
                type="button"
                role="tab"
                id={`tab-${t.id}`}
                aria-selected={tab === t.id}
                aria-controls={`panel-${t.id}`}
                tabIndex={tab === t.id ? 0 : -1}
                onClick={() => show(t.id)}
              >
                {t.label}
                {t.id === 'search' && search.state.running ? <span class="dot" aria-label="(searching)" /> : null}
              </button>
            ))}
          </div>
          <div class="panel tab-panel" role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`}>
            {tab === 'search' ? (
              <SearchView
                key={deep.n}
                prefill={deep.prefill}
                search={search.state}
                onSearch={search.start}
                onStop={search.stop}
                selfId={status.data?.peerId}
                downloads={downloads.list}
                onShowNetwork={() => show('network')}
              />
            ) : tab === 'files' ? (
              <FilesView changed={downloads.finished} onChange={() => setChanges((n) => n + 1)} />
            ) : (
              <NetworkView answered={answeredPeers(search.state.hits)} query={search.state.query} />
            )}
          </div>
        </main>
        <aside class="side" aria-label="Downloads">
          <DownloadsView downloads={downloads} />
        </aside>
      </div>
    </>
  );
}
