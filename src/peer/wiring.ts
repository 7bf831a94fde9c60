/**
 * The composition root: the only place that knows every adapter. It builds each service from
 * the configuration with the adapters this peer uses, and starts the chosen services in order.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { FsBlobStore } from '../files/adapters/fs/fs-blob-store.ts';
import { NodeLocalFiles } from '../files/adapters/fs/node-local-files.ts';
import { SqliteCatalog } from '../files/adapters/sqlite/sqlite-catalog.ts';
import { createFilesService, type FilesService } from '../files/service.ts';
import { resolveApiToken } from '../shared/admin-guard.ts';
import type { Config } from '../shared/config.ts';
import { loadOrCreateIdentity, type Identity } from '../shared/identity.ts';
import { startAll, type Running, type Startable } from '../shared/lifecycle.ts';
import type { Logger } from '../shared/logging.ts';

export const SERVICE_NAMES = ['files'] as const;
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

const FACTORIES: Record<ServiceName, (ctx: PeerContext) => Startable> = {
  files: createFiles,
};

export interface RunningPeer extends Running {
  readonly context: PeerContext;
  readonly services: ReadonlyMap<ServiceName, Startable>;
}

/** Start the named services of one peer (all of them by default) in dependency order. */
export async function startPeer(ctx: PeerContext, names: readonly ServiceName[] = SERVICE_NAMES): Promise<RunningPeer> {
  const services = new Map(SERVICE_NAMES.filter((n) => names.includes(n)).map((n) => [n, FACTORIES[n](ctx)] as const));
  const running = await startAll([...services.values()]);
  return { context: ctx, services, stop: running.stop };
}
