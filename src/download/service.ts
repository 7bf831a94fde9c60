/**
 * The Download service factory: wires the DownloadManager to its job queue, stores, chunk
 * source and local registry, and serves its API. Jobs are consumed at most `concurrency` at a
 * time (the queue's prefetch). It owns the ports it receives and closes them on stop.
 */
import { adminGuard } from '../shared/admin-guard.ts';
import { createHttpApp, listen, type HttpApp } from '../shared/http-server.ts';
import type { Startable } from '../shared/lifecycle.ts';
import type { Logger } from '../shared/logging.ts';
import { serveMetrics, ServiceMetrics } from '../shared/metrics.ts';
import { hostPort } from '../shared/address.ts';
import { registerDownloadRoutes } from './adapters/http/download-routes.ts';
import { DownloadManager, type DownloadManagerOptions, type Ports } from './domain/download-manager.ts';
import type { JobQueue } from './queue-port.ts';
import { countEvent, countingChunkSource, newDownloadCounters, type DownloadCounters } from './traffic.ts';

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
  const counters = newDownloadCounters();
  const manager = new DownloadManager({ ...c, chunkSource: countingChunkSource(c.chunkSource, counters) }, c.options);
  manager.events.on('event', (event: Record<string, unknown>) => {
    countEvent(counters, event);
    c.logger.info({ event }, String(event.type));
  });
  manager.events.on('chunk', () => counters.chunks.verified++); // one per MiB or so: counted, not logged
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
      app = await createHttpApp({
        service: 'download',
        logger: c.logger,
        allowedHosts: c.allowedHosts,
        health: () => ({ peerId: c.peerId, queue: c.queue.kind, downloadsDir: manager.downloadsDir, counters }),
      });
      registerDownloadRoutes(app, manager, c.queue, adminGuard(c.host, c.apiToken));
      serveMetrics(app, downloadMetrics(c.peerId, c.queue, counters), { host: c.host, apiToken: c.apiToken });
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

/** Download's series: the queue's depth and the counters its /health shows (traffic.ts). */
function downloadMetrics(peerId: string, queue: JobQueue, counters: DownloadCounters): ServiceMetrics {
  const m = new ServiceMetrics('download', peerId);
  m.gauge('queue_depth', 'Jobs waiting in the queue (not delivered, not dead).', () => queue.depth());
  m.counter(
    'jobs_total',
    'Jobs that ended, by outcome (finish_lost: finished before a crash, downloaded again).',
    () => [
      [{ outcome: 'done' }, counters.jobs.done],
      [{ outcome: 'failed' }, counters.jobs.failed],
      [{ outcome: 'paused' }, counters.jobs.paused],
      [{ outcome: 'finish_lost' }, counters.jobs.finishLost],
    ],
    ['outcome'],
  );
  m.counter(
    'source_events_total',
    'Sources that failed a request, were banned for wrong bytes, or were refused.',
    () => [
      [{ event: 'failed' }, counters.sources.failed],
      [{ event: 'banned' }, counters.sources.banned],
      [{ event: 'refused' }, counters.sources.refused],
    ],
    ['event'],
  );
  m.counter(
    'chunks_total',
    'Chunks received, by result: verified against their hash and written, or failed (wrong bytes, dropped).',
    () => [
      [{ result: 'verified' }, counters.chunks.verified],
      [{ result: 'failed' }, counters.chunks.failed],
    ],
    ['result'],
  );
  m.counter(
    'bytes_in_total',
    'Bytes received, by source (peerId@host:port).',
    () => Object.entries(counters.bytesIn).map(([source, bytes]) => [{ source }, bytes]),
    ['source'],
  );
  return m;
}
