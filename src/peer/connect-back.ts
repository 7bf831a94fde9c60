/**
 * Connect-back (PUSH, docs/PROTOCOL.md §6a) in the single-process peer, both sides:
 *   - the holder: Search hands it a Push addressed to this peer, signed by its requester
 *     lately (search/domain/push-signature.ts); ConnectBackGuard decides (a requester this
 *     peer's membership verified, naming exactly one of the files addresses its record lists,
 *     within the per-requester and total rates); it dials the files address of the requester's
 *     set in use (the one that proved its key: fetch/domain/peer-table.ts) pinned to its id with ALPN
 *     peershare-push/1 and File Management serves HTTP on the connection as if accepted;
 *   - the requester: Download, for a source Fetch holds firewalled, waits for the holder's
 *     connection (ConnectBacks) and sends the Push through Search.
 * In split mode (connect-back-remote.ts) the requester's side goes through File Management's
 * splice and Search's POST /push; the holder's Search checks requesters against Fetch's polled
 * GET /peers and has File Management dial (its POST /connect-backs).
 */
import type { TLSSocket } from 'node:tls';
import type { ConnectBackFor } from '../download/adapters/http/http-chunk-source.ts';
import type { FetchService } from '../fetch/service.ts';
import type { FilesService } from '../files/service.ts';
import type { Push } from '../protocol/gen/wire_pb.ts';
import { ConnectBackGuard, DEFAULT_PUSH_SETTINGS } from '../search/domain/push.ts';
import { requestPushWithRoute } from '../search/domain/push-request.ts';
import type { SearchService } from '../search/service.ts';
import { CONNECT_BACK_TIMEOUT_MS, type ConnectBacks } from '../shared/connect-backs.ts';
import { PeershareError } from '../shared/errors.ts';
import { dialPeer } from '../shared/http-client.ts';
import type { Logger } from '../shared/logging.ts';
import { ALPN_PUSH, type PeerTls } from '../shared/peer-tls.ts';

/** What the holder asks of its membership about a requester: Fetch in this process, or polled over HTTP (split mode). */
export type RequesterRecords = Pick<FetchService, 'connectBackAddress' | 'verifiedFilesAddress'>;

/** The holder's side in one process: what to do with a Push for this peer. */
export function connectBackHandler(o: {
  fetch: RequesterRecords;
  files: Pick<FilesService, 'serveDialled'>;
  tls: PeerTls;
  logger: Logger;
  guard?: ConnectBackGuard;
}): { onPush: (push: Push) => void; guard: ConnectBackGuard } {
  return pushHandler({
    requesters: o.fetch,
    connect: async (requester, address) => {
      const { socket } = await dialPeer(o.tls, address, requester, {
        alpn: [ALPN_PUSH],
        timeoutMs: CONNECT_BACK_TIMEOUT_MS,
      });
      o.files.serveDialled(socket, requester);
    },
    logger: o.logger,
    ...(o.guard ? { guard: o.guard } : {}),
  });
}

/**
 * The holder's side, whichever process dials: the guard decides on a Push for this peer, and
 * `connect` dials the requester at the address given, pinned to its id with ALPN
 * peershare-push/1, and has File Management serve it there.
 */
export function pushHandler(o: {
  requesters: RequesterRecords;
  connect(requester: string, address: string): Promise<void>;
  logger: Logger;
  guard?: ConnectBackGuard;
}): { onPush: (push: Push) => void; guard: ConnectBackGuard } {
  const guard = o.guard ?? new ConnectBackGuard(DEFAULT_PUSH_SETTINGS);
  const onPush = (push: Push) => {
    const requester = push.requesterPeerId;
    // The push names one of the requester's advertised files addresses; the holder dials the one in use.
    const dial = o.requesters.connectBackAddress(requester, push.requesterFilesAddress);
    const verdict = guard.admit(
      push,
      dial === undefined ? o.requesters.verifiedFilesAddress(requester) : push.requesterFilesAddress,
      Date.now(),
    );
    if (verdict !== 'connect' || dial === undefined) {
      o.logger.info({ requester, address: push.requesterFilesAddress, verdict }, 'push ignored: no connect-back');
      return;
    }
    o.connect(requester, dial).then(
      () =>
        o.logger.info(
          { requester, fileId: push.fileId },
          'connected back to a requester (push): serving it on that connection',
        ),
      (err: unknown) => o.logger.info({ requester, err: (err as Error).message }, 'connect-back failed'),
    );
  };
  return { onPush, guard };
}

/** The download attempt's error when no Push could be sent to a firewalled holder. */
export function noPushSent(peerId: string, why: string): PeershareError {
  return new PeershareError('UNAVAILABLE', `firewalled peer ${peerId}: no push could be sent (${why})`);
}

/** The requester's side in one process: for a firewalled source, send a Push and wait for its connection. */
export function connectBackFor(o: {
  fetch: FetchService;
  search: SearchService;
  connectBacks: ConnectBacks;
}): ConnectBackFor {
  return (peerId, fileId) => {
    if (!o.fetch.isFirewalled(peerId)) return undefined;
    return async (signal: AbortSignal): Promise<TLSSocket> => {
      const own = o.fetch.status().advertised?.files;
      if (own === undefined) throw noPushSent(peerId, 'this peer advertises no files address yet');
      const stop = new AbortController();
      const onAbort = () => stop.abort();
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        // Waiting before the push goes: the holder may connect back at once.
        const waiting = o.connectBacks.expect(peerId, undefined, stop.signal);
        waiting.catch(() => undefined); // it may end (aborted) while the route is learnt: awaited below
        if (!(await requestPushWithRoute(o.search.engine, peerId, fileId, own, stop.signal))) {
          stop.abort();
          throw noPushSent(peerId, 'no route to it, or over the limit per minute');
        }
        return await waiting;
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
    };
  };
}
