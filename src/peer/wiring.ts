/**
 * The composition root: the only place that knows every adapter. It builds each service from
 * the configuration with the adapters this peer uses, and starts the chosen services in order.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { FsBlobStore } from '../files/adapters/fs/fs-blob-store.ts';
import { NodeLocalFiles } from '../files/adapters/fs/node-local-files.ts';
import { SqliteCatalog } from '../files/adapters/sqlite/sqlite-catalog.ts';
import { FileManager } from '../files/domain/file-manager.ts';
import { createFilesService, type FilesService } from '../files/service.ts';
import { createSearchService, type SearchService } from '../search/service.ts';
import { resolveApiToken } from '../shared/admin-guard.ts';
import type { Config } from '../shared/config.ts';
import { loadOrCreateIdentity, type Identity } from '../shared/identity.ts';
import { startAll, type Running, type Startable } from '../shared/lifecycle.ts';
import type { Logger } from '../shared/logging.ts';
import { hostPort } from '../shared/net.ts';
import { fileManagerIndex } from './local-index.ts';

export const SERVICE_NAMES = ['files', 'search'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

export interface PeerContext {
  config: Config;
  identity: Identity;
  logger: Logger;
  apiToken: string | undefined;
}

export function createPeerContext(config: Config, logger: Logger): PeerContext {
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const identity = loadOrCreateIdentity(config.dataDir);
  return {
    config,
    identity,
    logger: logger.child({ peerId: identity.peerId }),
    apiToken: resolveApiToken(config.host, config.dataDir, config.apiToken),
  };
}

export function createFiles(ctx: PeerContext): FilesService {
  const { config } = ctx;
  return createFilesService({
    catalog: new SqliteCatalog(join(config.dataDir, 'catalog.db')),
    blobs: new FsBlobStore(config.dataDir),
    local: new NodeLocalFiles(),
    logger: ctx.logger.child({ service: 'files' }),
    peerId: ctx.identity.peerId,
    host: config.host,
    port: config.filesPort,
    apiToken: ctx.apiToken,
    chunkSize: config.chunkSize,
    maxUploadBytes: config.maxUploadBytes,
  });
}

/**
 * Search with File Management's query port. In one process it uses the running Files service;
 * alone (`peershare service search`) it opens the same catalog itself (SQLite WAL allows a
 * second reader) and reports the Files API at its configured port.
 */
export function createSearch(ctx: PeerContext, files: FilesService | undefined): SearchService {
  const { config } = ctx;
  let own: SqliteCatalog | undefined;
  let manager = files?.manager;
  if (!manager) {
    own = new SqliteCatalog(join(config.dataDir, 'catalog.db'));
    manager = new FileManager({ catalog: own, blobs: new FsBlobStore(config.dataDir), local: new NodeLocalFiles() }, config);
  }
  const service = createSearchService({
    index: fileManagerIndex(manager),
    neighbours: { candidates: () => config.neighbours.map((searchAddress) => ({ searchAddress })) },
    logger: ctx.logger.child({ service: 'search' }),
    identity: ctx.identity,
    host: config.host,
    port: config.searchPort,
    apiPort: config.searchApiPort,
    filesAddress: () => files?.url || `http://${hostPort(config.host, config.filesPort)}`,
    maxLinks: config.maxLinks,
    maxTtl: config.searchTtl,
    timeoutMs: config.searchTimeout,
  });
  if (!own) return service;
  const catalog = own;
  return Object.assign(Object.create(service) as SearchService, {
    stop: async () => {
      await service.stop();
      catalog.close();
    },
  });
}

const FACTORIES: Record<ServiceName, (ctx: PeerContext, built: ReadonlyMap<ServiceName, Startable>) => Startable> = {
  files: createFiles,
  search: (ctx, built) => createSearch(ctx, built.get('files') as FilesService | undefined),
};

export interface RunningPeer extends Running {
  readonly context: PeerContext;
  readonly services: ReadonlyMap<ServiceName, Startable>;
}

/** Start the named services of one peer (all of them by default) in dependency order. */
export async function startPeer(ctx: PeerContext, names: readonly ServiceName[] = SERVICE_NAMES): Promise<RunningPeer> {
  const services = new Map<ServiceName, Startable>();
  for (const name of SERVICE_NAMES) if (names.includes(name)) services.set(name, FACTORIES[name](ctx, services));
  const running = await startAll([...services.values()]);
  return { context: ctx, services, stop: running.stop };
}
