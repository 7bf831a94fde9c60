/**
 * The in-process adapters of the Client's ports: the running File Management, Search, Fetch and
 * Download services of this peer, called directly. They live in the composition root because
 * they name several services; the Client itself knows only its ports (src/client/ports.ts).
 */
import type { DownloadService } from '../download/service.ts';
import type { FetchService } from '../fetch/service.ts';
import { parseTerms } from '../files/domain/terms.ts';
import type { FilesService } from '../files/service.ts';
import { MAX_TERM_LENGTH } from '../protocol/limits.ts';
import type { SearchService } from '../search/service.ts';
import type { DownloadPort, FetchPort, FilesPort, SearchPort, SettingsPort } from '../client/ports.ts';
import { keepSettings } from '../shared/config.ts';
import { PeershareError } from '../shared/errors.ts';
import { linkDefences, membershipDefences } from '../client/domain/defences.ts';
import { joinStateOf } from '../client/domain/join-state.ts';
import { reachabilityOf } from '../client/domain/reachability.ts';
import { firewalledInfo } from '../client/domain/pick.ts';

export function filesInProcess(files: FilesService): FilesPort {
  return {
    share: (path, options) => files.manager.share(path, options),
    list: async (q, limit) => files.manager.list(q, 0, limit),
    folders: async (limit) => files.manager.listCollections(0, limit),
    unshare: (id) => files.manager.unshare(id),
    upload: (body, name) => files.manager.upload(body, name),
    uploadLimit: async () => files.uploads.bytesPerSecond,
    async setUploadLimit(bytesPerSecond) {
      files.uploads.set(bytesPerSecond);
      return files.uploads.bytesPerSecond;
    },
  };
}

export function searchInProcess(search: SearchService): SearchPort {
  return {
    async search(query) {
      // The same folding Search's local index uses (local-index.ts), so words match as on the wire.
      const terms = query.q === undefined ? undefined : parseTerms(query.q).map((t) => t.slice(0, MAX_TERM_LENGTH));
      if (terms !== undefined && terms.length === 0)
        throw new PeershareError('BAD_REQUEST', 'the search has no searchable words');
      const active = search.engine.search({
        ...(terms ? { terms } : {}),
        ...(query.fileId ? { fileId: query.fileId } : {}),
        ...(query.timeoutMs ? { timeoutMs: query.timeoutMs } : {}),
        ...(query.limit ? { limit: query.limit } : {}),
        ...(query.want !== undefined ? { want: query.want } : {}),
      });
      return {
        onHit(listener) {
          for (const hit of active.hits) listener(hit);
          active.onHit(listener);
        },
        done: active.done.then((s) => ({ ...s, elapsedMs: Math.round(s.elapsedMs) })),
        cancel: () => active.end('cancelled'),
      };
    },
    links: async () =>
      search.links
        .list()
        .map((l) => ({ peerId: l.peerId, searchAddress: l.searchAddress, direction: l.direction, since: l.since })),
    defences: async () => linkDefences({ counters: search.engine.counters, overlay: search.links.counters }),
  };
}

/** Firewalled holders are sources too: Download asks them to connect back (build-download.ts), in either mode. */
export function fetchInProcess(fetch: FetchService): FetchPort {
  return {
    peers: async () => [
      ...fetch.peers().map((p) => ({
        peerId: p.peerId,
        state: p.state,
        lastSeen: p.lastHeardAt,
        addresses: p.addresses,
        advertised: p.advertised,
        files: p.files,
      })),
      ...fetch.firewalledPeers().map(firewalledInfo),
    ],
    sourcesFor: async (fileId) => [...fetch.sourcesFor(fileId), ...fetch.firewalledHoldersOf(fileId)],
    joinPins: async () => fetch.joinPins(),
    forgetJoinPins: async (key) => fetch.forgetJoinPins(key),
    defences: async () => membershipDefences(fetch.status()),
    reachability: async () => reachabilityOf(fetch.status()),
    joinState: async () => joinStateOf(fetch.status()),
  };
}

export function downloadInProcess(download: DownloadService, queueBackend: string): DownloadPort {
  const { manager } = download;
  // Every command answers with the download as the list and the live events show it (DownloadManager#toProgress).
  return {
    request: (req) => manager.request(req),
    list: async (limit) => manager.list(limit),
    get: async (key) => manager.progress(key),
    async watch(listener, onCleared) {
      manager.events.on('progress', listener);
      if (onCleared) manager.events.on('cleared', onCleared);
      return () => {
        manager.events.off('progress', listener);
        if (onCleared) manager.events.off('cleared', onCleared);
      };
    },
    act: (key, action) => manager[action](key),
    clear: async () => manager.clear(),
    queueBackend: async () => queueBackend,
    folder: async () => manager.downloadsDir,
    downloadLimit: async () => manager.maxBytesPerSecond,
    async setDownloadLimit(bytesPerSecond) {
      manager.setMaxBytesPerSecond(bytesPerSecond);
      return manager.maxBytesPerSecond;
    },
  };
}

/** Caps changed at run time, kept in the peer's config file (shared/config.ts keepSettings). */
export function settingsInConfigFile(path: string): SettingsPort {
  return { where: path, keep: async (values) => keepSettings(path, values) };
}
