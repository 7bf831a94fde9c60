/** File Management, built from the peer's config with its SQLite and file-system adapters. */
import { join } from 'node:path';
import { FsBlobStore } from '../files/adapters/fs/fs-blob-store.ts';
import { NodeLocalFiles } from '../files/adapters/fs/node-local-files.ts';
import { SqliteCatalog } from '../files/adapters/sqlite/sqlite-catalog.ts';
import { createFilesService, type FilesService } from '../files/service.ts';
import { opening } from '../shared/fs-errors.ts';
import type { ConnectBacks } from '../shared/connect-backs.ts';
import type { PeerContext } from './context.ts';

/** `connectBacks`: where connect-backs (PUSH) for this peer's downloads wait, shared with a Download in this process. */
export function buildFiles(ctx: PeerContext, connectBacks?: ConnectBacks): FilesService {
  const { config } = ctx;
  const catalogPath = join(config.dataDir, 'catalog.db');
  return createFilesService({
    catalog: opening(catalogPath, () => new SqliteCatalog(catalogPath)),
    blobs: new FsBlobStore(config.dataDir),
    local: new NodeLocalFiles(),
    logger: ctx.logger.child({ service: 'files' }),
    peerId: ctx.identity.peerId,
    tls: ctx.tls,
    host: config.host,
    allowedHosts: config.allowedHosts,
    port: config.filesPort,
    apiToken: ctx.apiToken,
    chunkSize: config.chunkSize,
    maxUploadBytes: config.maxUploadBytes,
    maxUploadRate: config.maxUploadRate,
    ...(connectBacks ? { connectBacks } : {}),
  });
}
