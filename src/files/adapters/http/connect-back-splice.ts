/**
 * The connect-back splice: PUSH when Download runs in a process of its own (split mode,
 * docs/ARCHITECTURE.md "Peers behind NAT"). A firewalled holder's connect-back (ALPN
 * peershare-push/1) arrives at File Management's peer port, and a socket cannot be handed to
 * another process, so the waiting Download asks File Management for it on the port's plaintext
 * side (this host only, and the admin guard's callers), with an HTTP upgrade:
 *
 *   GET /connect-backs/<holder peer id> HTTP/1.1
 *   Connection: Upgrade
 *   Upgrade: peershare-push/1
 *
 * File Management registers a wait for that holder in its ConnectBacks (the registry, deadline
 * and cap of the one-process peer) and says so with an interim `100 Continue`: only then does the
 * caller have the Push sent, so the holder cannot connect back before anyone waits. Once a
 * connection that proved the holder's id arrives, it answers `101 Switching Protocols` and pipes
 * the two sockets: TLS ends here, on the same host, and the caller speaks HTTP to the holder's
 * File Management through it (and still verifies every chunk by hash). Otherwise it answers the
 * error (503 UNAVAILABLE at the deadline, or while every place for a wait is taken) and closes.
 * The two sockets end together, and a failure ends that splice only.
 */
import { STATUS_CODES, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { Caller } from '../../../shared/admin-guard.ts';
import type { ConnectBacks } from '../../../shared/connect-backs.ts';
import { httpStatus, isPeershareError, PeershareError, toErrorBody } from '../../../shared/errors.ts';
import { PEER_ID_PATTERN } from '../../../shared/ids.ts';
import type { Logger } from '../../../shared/logging.ts';
import { peerOnSocket } from '../../../shared/peer-port.ts';
import { ALPN_PUSH } from '../../../shared/peer-tls.ts';
import { hostAllowed } from '../../../shared/site-guard.ts';

/** Where a splice is asked for: this, then the holder's peer id. */
export const SPLICE_PATH = '/connect-backs/';
/** A spliced pair that carries no byte either way for this long is closed (both ends have shorter idle limits of their own). */
export const SPLICE_IDLE_MS = 60_000;

const SPLICE_URL = new RegExp(`^${SPLICE_PATH}(${PEER_ID_PATTERN.slice(1, -1)})$`);

export interface SpliceOptions {
  connectBacks: ConnectBacks;
  /** Throws unless the caller may ask (shared/admin-guard.ts adminCheck: this host's admin, no other site). */
  adminCheck(request: Caller): void;
  allowedHosts: readonly string[];
  logger: Logger;
  idleMs?: number;
}

/** Serve splices on `server` (File Management's HTTP server behind its peer port): every upgrade it is asked comes here. */
export function serveConnectBackSplices(server: Server, o: SpliceOptions): void {
  const allowedHosts = new Set(o.allowedHosts.map((h) => h.toLowerCase()));
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => undefined); // a reset ends this splice only
    let holder: string;
    try {
      holder = admit(request, socket, allowedHosts, o);
    } catch (err) {
      return answerError(socket, err);
    }
    const gone = new AbortController();
    const onClose = () => gone.abort();
    socket.once('close', onClose);
    const waiting = o.connectBacks.expect(holder, undefined, gone.signal); // within the registry's deadline
    socket.write('HTTP/1.1 100 Continue\r\n\r\n'); // waiting now: the caller may have the Push sent
    waiting
      .then(
        (connection) => {
          socket.off('close', onClose);
          if (socket.destroyed) return void connection.destroy();
          socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${ALPN_PUSH}\r\n\r\n`);
          if (head.length > 0) connection.write(head);
          splice(socket, connection, o.idleMs ?? SPLICE_IDLE_MS);
          o.logger.debug({ holder }, "connect-back spliced to this peer's Download");
        },
        (err: unknown) => {
          socket.off('close', onClose);
          if (!socket.destroyed) answerError(socket, err);
        },
      )
      .catch((err: unknown) => {
        o.logger.warn({ holder, err: (err as Error).message }, 'connect-back splice failed');
        socket.destroy();
      });
  });
}

/** The holder a splice request asks for, or the refusal: never a peer's, only this host's admin, only this route and upgrade. */
function admit(request: IncomingMessage, socket: Duplex, allowedHosts: ReadonlySet<string>, o: SpliceOptions): string {
  const what = `${request.method ?? ''} ${request.url ?? ''}`;
  if (peerOnSocket(socket) !== undefined)
    throw new PeershareError('FORBIDDEN', `${what} is for this peer's local user, not for other peers`);
  if (!hostAllowed(request.headers.host, allowedHosts))
    throw new PeershareError('FORBIDDEN', `this peer does not answer to the host name ${request.headers.host ?? ''}`);
  const holder = request.method === 'GET' ? SPLICE_URL.exec(request.url ?? '')?.[1] : undefined;
  if (holder === undefined) throw new PeershareError('NOT_FOUND', `no upgrade at ${what}`);
  o.adminCheck(request);
  if (request.headers.upgrade?.toLowerCase() !== ALPN_PUSH)
    throw new PeershareError('BAD_REQUEST', `a connect-back splice upgrades to ${ALPN_PUSH}`);
  if (o.connectBacks.full) throw new PeershareError('UNAVAILABLE', 'too many connect-backs awaited at once');
  return holder;
}

/** Answer an error as every route does (the one error body), then close. */
function answerError(socket: Duplex, err: unknown): void {
  const e = isPeershareError(err) ? err : new PeershareError('INTERNAL', 'internal error');
  const body = JSON.stringify(toErrorBody(e));
  const status = httpStatus(e.code);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\ncontent-type: application/json; charset=utf-8\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/** Pipe the caller's socket and the holder's connection both ways; either ending, failing or idling ends both. */
function splice(local: Duplex, remote: TLSSocket, idleMs: number): void {
  const end = () => {
    local.destroy();
    remote.destroy();
  };
  for (const side of [local, remote]) {
    side.once('close', end);
    side.on('error', end);
  }
  remote.setTimeout(idleMs, end);
  local.pipe(remote);
  remote.pipe(local);
}
