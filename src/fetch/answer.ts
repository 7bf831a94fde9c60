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

/**
 * The FetchApi the HTTP routes are registered with while the service starts. Routes must exist
 * before the server listens, but the domain behind them needs the port it bound: so the routes get
 * this, and the service calls `bind(api)` once its domain is up. A request that comes in between
 * is answered UNAVAILABLE ("fetch service is starting"); after, every call goes to the bound api.
 */
export class FetchApiBoundAtStart implements FetchApi {
  #api: FetchApi | undefined;

  /** From now on every call goes to `api`. */
  bind(api: FetchApi): void {
    this.#api = api;
  }

  #bound(): FetchApi {
    if (!this.#api) throw new PeershareError('UNAVAILABLE', 'fetch service is starting');
    return this.#api;
  }

  answer(body: unknown, remote: string): Promise<SyncResponse> {
    return this.#bound().answer(body, remote);
  }
  leave(body: unknown): void {
    this.#bound().leave(body);
  }
  self(): ReturnType<FetchApi['self']> {
    return this.#bound().self();
  }
  peers(): ReturnType<FetchApi['peers']> {
    return this.#bound().peers();
  }
  events(limit: number): ReturnType<FetchApi['events']> {
    return this.#bound().events(limit);
  }
  sources(fileId: string): ReturnType<FetchApi['sources']> {
    return this.#bound().sources(fileId);
  }
  firewalled(): ReturnType<FetchApi['firewalled']> {
    return this.#bound().firewalled();
  }
  firewalledSources(fileId: string): ReturnType<FetchApi['firewalledSources']> {
    return this.#bound().firewalledSources(fileId);
  }
  joinPins(): ReturnType<FetchApi['joinPins']> {
    return this.#bound().joinPins();
  }
  forgetJoinPins(key: string): ReturnType<FetchApi['forgetJoinPins']> {
    return this.#bound().forgetJoinPins(key);
  }
  dialBack(peerId: string, host: string, port: number): ReturnType<FetchApi['dialBack']> {
    return this.#bound().dialBack(peerId, host, port);
  }
}
