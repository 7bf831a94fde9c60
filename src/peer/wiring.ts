/**
 * The composition root: the only place that knows every adapter. It builds the chosen services
 * of one peer from its configuration, each given the services already built (in one process) or
 * HTTP adapters to reach them (when it runs alone), and starts them in dependency order.
 */
import type { ClientService } from '../client/service.ts';
import type { DownloadService } from '../download/service.ts';
import type { FetchService } from '../fetch/service.ts';
import type { FilesService } from '../files/service.ts';
import type { SearchService } from '../search/service.ts';
import { ConnectBacks } from '../shared/connect-backs.ts';
import { startAll, type Running, type Startable } from '../shared/lifecycle.ts';
import type { PeerContext } from './context.ts';
import { keepDiskReserve, watchDiskReserve } from './disk-reserve.ts';

export { createPeerContext, type PeerContext } from './context.ts';

/** In start order: each service may use the ones before it. */
export const SERVICE_NAMES = ['files', 'fetch', 'search', 'download', 'client'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

export interface PeerServices {
  files?: FilesService;
  fetch?: FetchService;
  search?: SearchService;
  download?: DownloadService;
  client?: ClientService;
}

export interface RunningPeer extends Running {
  readonly context: PeerContext;
  readonly services: PeerServices;
}

/**
 * Each service's code is loaded only when the process runs it (a process that runs one service
 * does not carry the code and memory of the other four).
 */
async function build(ctx: PeerContext, names: readonly ServiceName[]): Promise<PeerServices> {
  const s: PeerServices = {};
  // Connect-backs (PUSH) arrive at File Management; a Download in this process waits for them there
  // directly, one in another process through File Management's splice route.
  const connectBacks = names.includes('files') ? new ConnectBacks() : undefined;
  if (names.includes('files')) s.files = (await import('./build-files.ts')).buildFiles(ctx, connectBacks);
  if (names.includes('fetch')) s.fetch = await (await import('./build-fetch.ts')).buildFetch(ctx, s.files);
  if (names.includes('search')) s.search = (await import('./build-search.ts')).buildSearch(ctx, s.files, s.fetch);
  if (names.includes('download'))
    s.download = await (
      await import('./build-download.ts')
    ).buildDownload(ctx, s.files, s.fetch, s.search, connectBacks);
  if (names.includes('client')) s.client = (await import('./build-client.ts')).buildClient(ctx, s);
  return s;
}

/** Start the named services of one peer (all of them by default) in dependency order. */
export async function startPeer(ctx: PeerContext, names: readonly ServiceName[] = SERVICE_NAMES): Promise<RunningPeer> {
  await keepDiskReserve(ctx.config.dataDir, ctx.logger); // before any database opens: a full disk must not stop the start
  await ctx.tls.ready(); // the certificate every peer connection presents, made from the identity key
  const services = await build(ctx, names);
  const ordered = SERVICE_NAMES.map((n) => services[n]).filter(
    (s): s is NonNullable<typeof s> => s !== undefined,
  ) as Startable[];
  const running = await startAll(ordered);
  const unwatch = watchDiskReserve(ctx.config.dataDir, ctx.logger);
  const stopRenewing = ctx.tls.keepFresh((err) =>
    ctx.logger.error({ err }, 'could not make a new TLS certificate; the current one stays'),
  );
  const stop = async () => {
    stopRenewing();
    await unwatch();
    await running.stop();
  };
  return { context: ctx, services, stop };
}
