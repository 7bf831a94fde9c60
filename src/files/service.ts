/**
 * The File Management service factory: wires the domain (FileManager) to the ports it is given
 * and to its driving adapter, the REST API. It owns the ports it receives and closes them on stop.
 *
 * The API listens on a peer port (shared/peer-port.ts): other peers reach it over TLS 1.3 and
 * may only read a file's manifest and content; every other route (list, describe, the change
 * feed, upload, share, unshare) answers this host's plaintext callers only, and those that change
 * state pass the admin guard as well. Connect-backs (PUSH) for this peer's downloads arrive on
 * the same port and wait for their download in ConnectBacks; one in another process takes its
 * own through the splice upgrade (adapters/http/connect-back-splice.ts). Connect-backs this peer
 * makes as a holder are dialled here when its Search runs in another process (connect-back-dial.ts).
 */
import { adminCheck, adminGuard, isAdminCaller } from '../shared/admin-guard.ts';
import { CONNECT_BACK_TIMEOUT_MS, ConnectBacks } from '../shared/connect-backs.ts';
import { PeershareError } from '../shared/errors.ts';
import { dialPeer } from '../shared/http-client.ts';
import { createHttpApp, type HttpApp } from '../shared/http-server.ts';
import type { Startable } from '../shared/lifecycle.ts';
import type { Logger } from '../shared/logging.ts';
import { hostPort } from '../shared/address.ts';
import { serveMetrics, ServiceMetrics } from '../shared/metrics.ts';
import type { TLSSocket } from 'node:tls';
import { peerAccess, servePeerHttp, type PeerPort } from '../shared/peer-port.ts';
import { ALPN_PUSH, type PeerTls } from '../shared/peer-tls.ts';
import { countBytesOut } from './adapters/http/bytes-out.ts';
import { registerConnectBackDial } from './adapters/http/connect-back-dial.ts';
import { serveConnectBackSplices } from './adapters/http/connect-back-splice.ts';
import { registerFilesRoutes } from './adapters/http/files-routes.ts';
import { FileManager } from './domain/file-manager.ts';
import type { BlobStore, Catalog, LocalFiles } from './ports.ts';
import { RateLimit } from '../shared/throttle.ts';

export interface FilesServiceComponents {
  catalog: Catalog;
  blobs: BlobStore;
  local: LocalFiles;
  logger: Logger;
  peerId: string;
  /** The peer's TLS credentials: peers reach the API over TLS, pinned to their ids. */
  tls: PeerTls;
  host: string;
  port: number;
  /** Token for state-changing routes; required off loopback (see admin-guard). */
  apiToken: string | undefined;
  /** Host names the API answers to besides IP addresses and localhost. */
  allowedHosts?: readonly string[];
  chunkSize: number;
  maxUploadBytes: number;
  /** Cap on content sent to other peers, bytes per second, all answers together; 0 or absent: none. Changeable at run time (`uploads`). */
  maxUploadRate?: number;
  /**
   * Where connect-backs (PUSH: a firewalled holder that dialled this port for a download of ours,
   * ALPN peershare-push/1) go: to the download waiting for them, never served; this peer's
   * Download waits in it directly when it runs in this process, else through the splice route
   * (adapters/http/connect-back-splice.ts). A registry of its own when not given.
   */
  connectBacks?: ConnectBacks;
}

export interface FilesService extends Startable {
  readonly manager: FileManager;
  /** The upload cap (content sent to other peers): read and changed while the service runs. */
  readonly uploads: RateLimit;
  /** Base URL of the REST API once started. */
  readonly url: string;
  /**
   * Serve `peerId` on a connection this peer dialled to it (a connect-back, PUSH), as if
   * accepted: the same routes and per-route access as any peer's connection.
   */
  serveDialled(socket: TLSSocket, peerId: string): void;
}

export function createFilesService(c: FilesServiceComponents): FilesService {
  const manager = new FileManager(c, { chunkSize: c.chunkSize, maxUploadBytes: c.maxUploadBytes });
  manager.events.on('event', (event) => c.logger.info({ event }, event.type));
  /** File content bytes sent, by caller (peer id, or `local`): /health and /metrics show them. */
  const bytesOut: Record<string, number> = {};
  const uploads = new RateLimit(c.maxUploadRate ?? 0);
  const connectBacks = c.connectBacks ?? new ConnectBacks();
  let app: HttpApp | undefined;
  let port: (PeerPort & { serveDialled(socket: TLSSocket, peerId: string): void }) | undefined;
  let url = '';

  return {
    name: 'files',
    manager,
    uploads,
    get url() {
      return url;
    },
    serveDialled(socket, peerId) {
      if (!port) return void socket.destroy();
      port.serveDialled(socket, peerId);
    },
    async start() {
      await c.blobs.recover();
      app = await createHttpApp({
        service: 'files',
        logger: c.logger,
        allowedHosts: c.allowedHosts,
        health: () => ({ peerId: c.peerId, bytesOut, connectBacks: { ...connectBacks.counters } }),
      });
      app.addHook('onRequest', peerAccess); // before each route's own admin guard
      const isAdmin = isAdminCaller(c.host, c.apiToken);
      registerFilesRoutes(app, {
        manager,
        admin: adminGuard(c.host, c.apiToken),
        isAdmin: async (request) => isAdmin(request),
        maxUploadBytes: c.maxUploadBytes,
        uploads,
      });
      // Per file, kept in the catalog; a failure to count (a full disk) is logged, never the answer's.
      countBytesOut(app, '/files/:id/content', bytesOut, (id, bytes) => {
        try {
          manager.countUploaded(id, bytes);
        } catch (err) {
          c.logger.warn({ fileId: id, err: (err as Error).message }, 'upload total not counted');
        }
      });
      // A connect-back our Search in another process decided on: dialled here, where it is served.
      registerConnectBackDial(app, {
        admin: adminGuard(c.host, c.apiToken),
        connect: async (peerId, address) => {
          const { socket } = await dialPeer(c.tls, address, peerId, {
            alpn: [ALPN_PUSH],
            timeoutMs: CONNECT_BACK_TIMEOUT_MS,
          });
          if (!port) {
            socket.destroy();
            throw new PeershareError('UNAVAILABLE', 'File Management is stopping');
          }
          port.serveDialled(socket, peerId);
        },
      });
      serveMetrics(app, filesMetrics(c.peerId, manager, bytesOut), { host: c.host, apiToken: c.apiToken });
      serveConnectBackSplices(app.server, {
        connectBacks,
        adminCheck: adminCheck(c.host, c.apiToken),
        allowedHosts: c.allowedHosts ?? [],
        logger: c.logger,
      });
      port = await servePeerHttp(app, c.host, c.port, c.tls, c.logger, (socket, peerId) =>
        connectBacks.offer(socket, peerId),
      );
      url = `http://${hostPort(port.host, port.port)}`;
      c.logger.info({ url }, 'files service listening');
    },
    async stop() {
      await port?.close();
      port = undefined;
      await app?.close();
      app = undefined;
      c.catalog.close();
    },
  };
}

/** File Management's series: what it shares, and the content it sent to whom. */
function filesMetrics(peerId: string, manager: FileManager, bytesOut: Record<string, number>): ServiceMetrics {
  const m = new ServiceMetrics('files', peerId);
  m.gauge('shared_files', "Files this peer shares (the catalog's total).", () => manager.list(undefined, 0, 1).total);
  m.counter(
    'bytes_out_total',
    'File content bytes sent, by who asked (a peer id, or local).',
    () => Object.entries(bytesOut).map(([peer, bytes]) => [{ peer }, bytes]),
    ['peer'],
  );
  return m;
}
