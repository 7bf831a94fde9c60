/**
 * The Download service factory: wires the DownloadManager to its job queue, stores, chunk
 * source and local registry, and serves its API. Jobs are consumed at most `concurrency` at a
 * time (the queue's prefetch). It owns the ports it receives and closes them on stop.
 */
import { adminGuard } from '../shared/admin-guard.ts';
import { createHttpApp, listen, type HttpApp } from '../shared/http-server.ts';
import type { Startable } from '../shared/lifecycle.ts';
import type { Logger } from '../shared/logging.ts';
import { hostPort } from '../shared/net.ts';
import { registerDownloadRoutes } from './adapters/http/download-routes.ts';
import { DownloadManager, type DownloadManagerOptions, type Ports } from './domain/download-manager.ts';

export interface DownloadServiceComponents extends Ports {
  logger: Logger;
  peerId: string;
  host: string;
  port: number;
  apiToken: string | undefined;
  /** Host names the API answers to besides IP addresses and localhost (the allowedHosts setting). */
  allowedHosts?: readonly string[];
  /** Downloads running at once (the queue's prefetch). */
  concurrency: number;
  options: DownloadManagerOptions;
}

export interface DownloadService extends Startable {
  readonly manager: DownloadManager;
  readonly url: string;
}

export function createDownloadService(c: DownloadServiceComponents): DownloadService {
  const manager = new DownloadManager(c, c.options);
  manager.events.on('event', (event: Record<string, unknown>) => c.logger.info({ event }, String(event.type)));
  let app: HttpApp | undefined;
  let url = '';
  return {
    name: 'download',
    manager,
    get url() {
      return url;
    },
    async start() {
      await c.queue.start();
      app = await createHttpApp({ service: 'download', logger: c.logger, allowedHosts: c.allowedHosts, health: () => ({ peerId: c.peerId, queue: c.queue.kind }) });
      registerDownloadRoutes(app, manager, c.queue, adminGuard(c.host, c.apiToken));
      const bound = await listen(app, c.host, c.port);
      url = `http://${hostPort(bound.host, bound.port)}`;
      await c.queue.consume(manager.handle, c.concurrency);
      c.logger.info({ url, queue: c.queue.kind }, 'download service listening');
    },
    async stop() {
      await manager.stop();
      await c.queue.stop();
      await app?.close();
      app = undefined;
      c.chunkSource.close();
      c.store.close();
    },
  };
}
