/**
 * Search, with File Management's query port and Fetch's neighbour candidates. In one process
 * both come from the running services; alone (`peershare service search`) it reads the same
 * catalog itself (SQLite WAL allows a second reader) and polls Fetch's GET /peers.
 */
import { addressOfUrl } from '../shared/peer-address.ts';
import { join } from 'node:path';
import { FsBlobStore } from '../files/adapters/fs/fs-blob-store.ts';
import { NodeLocalFiles } from '../files/adapters/fs/node-local-files.ts';
import { SqliteCatalog } from '../files/adapters/sqlite/sqlite-catalog.ts';
import { FileManager } from '../files/domain/file-manager.ts';
import type { FilesService } from '../files/service.ts';
import type { FetchService } from '../fetch/service.ts';
import type { NeighbourSource } from '../search/ports.ts';
import { DEFAULT_RATE_LIMITS } from '../search/domain/link-guard.ts';
import { createSearchService, type SearchService } from '../search/service.ts';
import { connectBackHandler, pushHandler, type RequesterRecords } from './connect-back.ts';
import { withParts, type Part } from './compose.ts';
import { localAddress, type PeerContext } from './context.ts';
import { fileManagerIndex } from './local-index.ts';
import { connectBackOverFiles, neighboursOverHttp } from './remote-ports.ts';

/**
 * Pushes for this peer are acted on (it connects back to requesters) with Files and Fetch in this
 * process, else through their local APIs: the requester checked against Fetch's polled GET /peers,
 * the connection dialled and served by File Management (its POST /connect-backs).
 */
export function buildSearch(
  ctx: PeerContext,
  files: FilesService | undefined,
  fetch: FetchService | undefined,
): SearchService {
  const { config } = ctx;
  const parts: Part[] = [];
  let manager = files?.manager;
  if (!manager) {
    const catalog = new SqliteCatalog(join(config.dataDir, 'catalog.db'));
    manager = new FileManager({ catalog, blobs: new FsBlobStore(config.dataDir), local: new NodeLocalFiles() }, config);
    parts.push({ stop: () => catalog.close() });
  }
  let neighbours: NeighbourSource;
  let requesters: RequesterRecords;
  if (fetch) {
    const configured = config.neighbours.map((searchAddress) => ({ searchAddress }));
    neighbours = { candidates: () => [...fetch.neighbourCandidates(), ...configured] };
    requesters = fetch;
  } else {
    const polled = neighboursOverHttp(`http://${localAddress(config, config.fetchPort)}`, config.neighbours);
    neighbours = polled;
    requesters = polled;
    parts.push(polled);
  }
  const logger = ctx.logger.child({ service: 'search' });
  const { onPush } =
    files && fetch
      ? connectBackHandler({ fetch, files, tls: ctx.tls, logger })
      : pushHandler({
          requesters,
          connect: connectBackOverFiles(`http://${localAddress(config, config.filesPort)}`, ctx.apiToken),
          logger,
        });
  const service = createSearchService({
    index: fileManagerIndex(manager),
    neighbours,
    logger,
    identity: ctx.identity,
    tls: ctx.tls,
    host: config.host,
    allowedHosts: config.allowedHosts,
    port: config.searchPort,
    apiPort: config.searchApiPort,
    apiToken: ctx.apiToken,
    filesAddress: () => (files ? addressOfUrl(files.url) : undefined) ?? localAddress(config, config.filesPort),
    maxLinks: config.maxLinks,
    maxTtl: config.searchTtl,
    routeLevels: config.searchRouteLevels,
    timeoutMs: config.searchTimeout,
    maxLinksPerIp: config.maxLinksPerIp,
    maxLinksPerSubnet: config.maxLinksPerSubnet,
    outboundSlots: config.outboundLinks,
    sessionTimeouts: { frameMs: config.frameTimeout },
    rateLimits: {
      ...DEFAULT_RATE_LIMITS,
      queriesPerSecond: config.queryAcceptRate,
      queryBurst: 2 * config.queryAcceptRate,
    },
    searchesPerSecond: config.searchRate,
    onPush,
  });
  return withParts(service, ...parts);
}
