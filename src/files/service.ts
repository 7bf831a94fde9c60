/**
 * The File Management service factory: wires the domain (FileManager) to the ports it is given
 * and to its driving adapter, the REST API. It owns the ports it receives and closes them on stop.
 */
import { adminGuard, isAdminCaller } from '../shared/admin-guard.ts';
import { createHttpApp, listen, type HttpApp } from '../shared/http-server.ts';
import type { Startable } from '../shared/lifecycle.ts';
import type { Logger } from '../shared/logging.ts';
import { hostPort } from '../shared/net.ts';
import { registerFilesRoutes } from './adapters/http/files-routes.ts';
import { FileManager } from './domain/file-manager.ts';
import type { BlobStore, Catalog, LocalFiles } from './ports.ts';

export interface FilesServiceComponents {
  catalog: Catalog;
  blobs: BlobStore;
  local: LocalFiles;
  logger: Logger;
  peerId: string;
  host: string;
  port: number;
  /** Token for state-changing routes; required off loopback (see admin-guard). */
  apiToken: string | undefined;
  /** Host names the API answers to besides IP addresses and localhost. */
  allowedHosts?: readonly string[];
  chunkSize: number;
  maxUploadBytes: number;
}

export interface FilesService extends Startable {
  readonly manager: FileManager;
  /** Base URL of the REST API once started. */
  readonly url: string;
}

export function createFilesService(c: FilesServiceComponents): FilesService {
  const manager = new FileManager(c, { chunkSize: c.chunkSize, maxUploadBytes: c.maxUploadBytes });
  manager.events.on('event', (event) => c.logger.info({ event }, event.type));
  let app: HttpApp | undefined;
  let url = '';

  return {
    name: 'files',
    manager,
    get url() {
      return url;
    },
    async start() {
      await c.blobs.recover();
      app = await createHttpApp({ service: 'files', logger: c.logger, allowedHosts: c.allowedHosts, health: () => ({ peerId: c.peerId }) });
      const isAdmin = isAdminCaller(c.host, c.apiToken);
      registerFilesRoutes(app, {
        manager,
        admin: adminGuard(c.host, c.apiToken),
        isAdmin: async (request) => isAdmin(request),
        maxUploadBytes: c.maxUploadBytes,
      });
      const bound = await listen(app, c.host, c.port);
      url = `http://${hostPort(bound.host, bound.port)}`;
      c.logger.info({ url }, 'files service listening');
    },
    async stop() {
      await app?.close();
      app = undefined;
      c.catalog.close();
    },
  };
}
