/**
 * Connect-back (PUSH, docs/PROTOCOL.md §6a) in the single-process peer, both sides:
 *   - the holder: Search hands it a Push addressed to this peer, signed by its requester
 *     lately (search/domain/push-signature.ts); ConnectBackGuard decides (a requester this
 *     peer's membership verified, naming exactly one of the files addresses its record lists,
 *     within the per-requester and total rates); it dials the files address of the requester's
 *     set in use (the one that proved its key: fetch/domain/peer-table.ts) pinned to its id with ALPN
 *     peershare-push/1 and File Management serves HTTP on the connection as if accepted;
 *   - the requester: Download, for a source Fetch holds firewalled, waits for the holder's
 *     connection (ConnectBacks) after sending the Push through Search.
 * Split mode has neither: a socket cannot cross to another process (docs/ARCHITECTURE.md).
 */
import type { TLSSocket } from 'node:tls';
import type { ConnectBackFor } from '../download/adapters/http/http-chunk-source.ts';
import type { FetchService } from '../fetch/service.ts';
import type { FilesService } from '../files/service.ts';
import type { Push } from '../protocol/gen/wire_pb.ts';
import { ConnectBackGuard, DEFAULT_PUSH_SETTINGS } from '../search/domain/push.ts';
import type { SearchService } from '../search/service.ts';
import { CONNECT_BACK_TIMEOUT_MS, type ConnectBacks } from '../shared/connect-backs.ts';
import { PeershareError } from '../shared/errors.ts';
import { dialPeer } from '../shared/http-client.ts';
import type { Logger } from '../shared/logging.ts';
import { ALPN_PUSH, type PeerTls } from '../shared/peer-tls.ts';

/** The holder's side: what to do with a Push for this peer. */
export function connectBackHandler(o: {
  fetch: FetchService;
  files: FilesService;
  tls: PeerTls;
  logger: Logger;
  guard?: ConnectBackGuard;
}): { onPush: (push: Push) => void; guard: ConnectBackGuard } {
  const guard = o.guard ?? new ConnectBackGuard(DEFAULT_PUSH_SETTINGS);
  const onPush = (push: Push) => {
    const requester = push.requesterPeerId;
    // The push names one of the requester's advertised files addresses; the holder dials the one in use.
    const dial = o.fetch.connectBackAddress(requester, push.requesterFilesAddress);
    const verdict = guard.admit(
      push,
      dial === undefined ? o.fetch.verifiedFilesAddress(requester) : push.requesterFilesAddress,
      Date.now(),
    );
    if (verdict !== 'connect' || dial === undefined) {
      o.logger.info({ requester, address: push.requesterFilesAddress, verdict }, 'push ignored: no connect-back');
      return;
    }
    dialPeer(o.tls, dial, requester, { alpn: [ALPN_PUSH], timeoutMs: CONNECT_BACK_TIMEOUT_MS }).then(
      ({ socket }) => {
        o.logger.info(
          { requester, fileId: push.fileId },
          'connected back to a requester (push): serving it on that connection',
        );
        o.files.serveDialled(socket, requester);
      },
      (err: unknown) => o.logger.info({ requester, err: (err as Error).message }, 'connect-back failed'),
    );
  };
  return { onPush, guard };
}

/** The longest a search that looks for a route to a firewalled holder runs. */
const ROUTE_SEARCH_MS = 3_000;

/** Search the network for `fileId` until `holder` answers (its hit teaches the route) or the search ends. */
async function learnRoute(search: SearchService, holder: string, fileId: string, signal: AbortSignal): Promise<void> {
  let active: ReturnType<SearchService['engine']['search']>;
  try {
    active = search.engine.search({ fileId, timeoutMs: ROUTE_SEARCH_MS });
  } catch {
    return; // this peer's own search rate is spent: the push goes without, and may find no route
  }
  const stop = () => active.end('cancelled');
  signal.addEventListener('abort', stop, { once: true });
  active.onHit((hit) => {
    if (hit.holderPeerId === holder) active.end('cancelled');
  });
  try {
    await active.done;
  } finally {
    signal.removeEventListener('abort', stop);
  }
}

/** The requester's side: for a firewalled source, send a Push and wait for its connection. */
export function connectBackFor(o: {
  fetch: FetchService;
  search: SearchService;
  connectBacks: ConnectBacks;
}): ConnectBackFor {
  return (peerId, fileId) => {
    if (!o.fetch.isFirewalled(peerId)) return undefined;
    return async (signal: AbortSignal): Promise<TLSSocket> => {
      const own = o.fetch.status().advertised?.files;
      const stop = new AbortController();
      const onAbort = () => stop.abort();
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        // A push travels back along the path the holder's hits came by. A download by id (no
        // search run) knows none unless linked to the holder: search for the file first, which
        // teaches the route as the holder's hit comes back.
        if (own !== undefined && !o.search.engine.canRoutePush(peerId))
          await learnRoute(o.search, peerId, fileId, signal);
        const waiting = o.connectBacks.expect(peerId, CONNECT_BACK_TIMEOUT_MS, stop.signal);
        if (own === undefined || !o.search.engine.requestPush(peerId, fileId, own)) {
          stop.abort();
          await waiting.catch(() => undefined);
          throw new PeershareError(
            'UNAVAILABLE',
            `firewalled peer ${peerId}: no push could be sent (no route to it, or over the limit per minute)`,
          );
        }
        return await waiting;
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
    };
  };
}
