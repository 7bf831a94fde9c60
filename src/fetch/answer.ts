/**
 * The FetchApi the HTTP routes call, over a running SyncRounds: the domain's view answer plus
 * this peer's own shared-file delta from the SharedFileFeed, and the read-only listings. Every
 * write is followed by a store flush, so what a peer was told survives a crash.
 */
import { isIP } from 'node:net';
import { PeershareError } from '../shared/errors.ts';
import { plainAddress } from '../shared/net.ts';
import type { Logger } from '../shared/logging.ts';
import type { FetchApi } from './adapters/http/fetch-routes.ts';
import type { FileDelta, SyncResponse } from './domain/messages.ts';
import { addressSets } from './domain/peer-record.ts';
import type { SyncRounds } from './domain/sync-rounds.ts';
import type { PeerStore, SharedFileFeed } from './ports.ts';

/** The FetchApi of the domain's view and listings; the service adds the join pins and dial-backs. */
export type ViewApi = Omit<FetchApi, 'joinPins' | 'forgetJoinPins' | 'dialBack'>;

export function answerWithFiles(
  core: SyncRounds,
  feed: SharedFileFeed,
  store: PeerStore,
  flush: () => void,
  logger: Logger,
): ViewApi {
  async function filesSince(cursor: string | undefined): Promise<FileDelta | undefined> {
    try {
      const delta = await feed.changesSince(cursor);
      // Receivers refuse a delta over their per-peer cap whole, and would count it as a failed
      // contact; sending none keeps us a live peer whose file list is merely incomplete.
      if (delta.added.length > core.config.maxFilesPerPeer || delta.removed.length > core.config.maxFilesPerPeer) {
        logger.warn(
          { added: delta.added.length, cap: core.config.maxFilesPerPeer },
          'shared-file delta over the per-peer cap; not sent',
        );
        return undefined;
      }
      return delta;
    } catch (err) {
      logger.warn({ err }, 'shared-file feed failed; answering without files');
      return undefined;
    }
  }

  return {
    async answer(body: unknown, remote: string): Promise<SyncResponse> {
      const view = core.answer(body, remote); // validates everything; throws before any change
      flush();
      const cursor = (body as { filesCursor?: string }).filesCursor;
      const files = await filesSince(cursor);
      const observed = plainAddress(remote);
      const askerFiles = core.heldFilesCursor((body as { from: { peerId: string } }).from.peerId);
      return {
        from: core.peerId,
        view,
        ...(files ? { files } : {}),
        ...(isIP(observed) ? { observed } : {}),
        askerFiles,
      };
    },
    leave(body: unknown): void {
      core.acceptLeave(body);
      flush();
    },
    self: () => ({
      peerId: core.peerId,
      addresses: core.table.selfRecord.addresses,
      advertised: addressSets(core.table.selfRecord),
    }),
    peers: () => core.peers(),
    events(limit: number) {
      flush();
      return store.recentEvents(limit);
    },
    sources: (fileId: string) => core.sourcesFor(fileId),
    firewalled: () => core.firewalledPeers(),
    firewalledSources: (fileId: string) => core.firewalledHoldersOf(fileId),
  };
}

/** A FetchApi that forwards to `current()`, answering UNAVAILABLE while there is none (starting). */
export function lazyApi(current: () => FetchApi | undefined): FetchApi {
  const get = (): FetchApi => {
    const api = current();
    if (!api) throw new PeershareError('UNAVAILABLE', 'fetch service is starting');
    return api;
  };
  return {
    answer: (body, remote) => get().answer(body, remote),
    leave: (body) => get().leave(body),
    self: () => get().self(),
    peers: () => get().peers(),
    events: (limit) => get().events(limit),
    sources: (fileId) => get().sources(fileId),
    firewalled: () => get().firewalled(),
    firewalledSources: (fileId) => get().firewalledSources(fileId),
    joinPins: () => get().joinPins(),
    forgetJoinPins: (key) => get().forgetJoinPins(key),
    dialBack: (peerId, host, port) => get().dialBack(peerId, host, port),
  };
}
