/**
 * Download, with RabbitMQ when an AMQP URL is configured and the embedded SQLite queue
 * otherwise. Finished files are shared through File Management and more sources come from
 * Fetch (`peerId@filesAddress` of each live holder, then each firewalled one, asked to connect
 * back): the running services in one process, their HTTP APIs when it runs alone. Sources are dialled over TLS with the peer's own credentials.
 */
import { join } from 'node:path';
import { SqliteJobQueue } from '../download/adapters/embedded-queue/sqlite-job-queue.ts';
import { FsDownloadFiles } from '../download/adapters/fs/fs-download-files.ts';
import { HttpChunkSource } from '../download/adapters/http/http-chunk-source.ts';
import { SqliteDownloadStore } from '../download/adapters/sqlite/sqlite-download-store.ts';
import { JOB_KEY_SECRET_BYTES, jobKeys } from '../download/domain/job.ts';
import type { LocalRegistry, SourceDirectory } from '../download/ports.ts';
import type { JobQueue } from '../download/queue-port.ts';
import { createDownloadService, type DownloadService } from '../download/service.ts';
import type { FetchService } from '../fetch/service.ts';
import type { FilesService } from '../files/service.ts';
import { opening } from '../shared/fs-errors.ts';
import { loadOrCreateSecret } from '../shared/local-secret.ts';
import { formatPeerAddress } from '../shared/peer-address.ts';
import type { ConnectBacks } from '../shared/connect-backs.ts';
import type { SearchService } from '../search/service.ts';
import { connectBackFor } from './connect-back.ts';
import { connectBackOverHttp } from './connect-back-remote.ts';
import { apiHostOf, localAddress, type PeerContext } from './context.ts';
import {
  FirewalledSeen,
  ownFilesAddressOverHttp,
  pushOverHttp,
  registryOverHttp,
  sourcesOverHttp,
} from './remote-ports.ts';

/** Where the secret that download keys are made with is kept (in the data directory). */
const DOWNLOAD_KEY_SECRET_FILE = 'download-keys.secret';

/** RabbitMQ's client is loaded only by a peer configured to use it. */
export async function buildQueue(ctx: PeerContext): Promise<JobQueue> {
  const { config } = ctx;
  const logger = ctx.logger.child({ service: 'download', queue: config.amqpUrl ? 'rabbitmq' : 'embedded' });
  if (!config.amqpUrl) return new SqliteJobQueue({ file: join(config.dataDir, 'download-queue.db'), logger });
  const { AmqpJobQueue } = await import('../download/adapters/amqp/amqp-job-queue.ts');
  return new AmqpJobQueue({ url: config.amqpUrl, prefix: `peershare.${ctx.identity.peerId}.downloads`, logger });
}

/**
 * Firewalled sources are asked to connect back (PUSH): through the services themselves when
 * Files (its connect-back registry), Fetch and Search run in this process, else through their
 * local APIs (connect-back-remote.ts).
 */
export async function buildDownload(
  ctx: PeerContext,
  files: FilesService | undefined,
  fetch: FetchService | undefined,
  search?: SearchService,
  connectBacks?: ConnectBacks,
): Promise<DownloadService> {
  const { config } = ctx;
  const storePath = join(config.dataDir, 'downloads.db');
  const filesUrl = `http://${localAddress(config, config.filesPort)}`;
  const fetchUrl = `http://${localAddress(config, config.fetchPort)}`;
  const registry: LocalRegistry = files
    ? {
        register: async (path, manifest) => void (await files.manager.registerVerified(path, manifest)),
        sharedAt: async (fileId) => files.manager.find(fileId)?.paths,
      }
    : registryOverHttp(filesUrl, ctx.apiToken);
  // Firewalled holders too, after the dialable ones: they are asked to connect back.
  const firewalled = new FirewalledSeen();
  const directory: SourceDirectory = fetch
    ? {
        sourcesFor: async (fileId) =>
          [...fetch.sourcesFor(fileId).filter((s) => s.state === 'alive'), ...fetch.firewalledHoldersOf(fileId)].map(
            (s) => formatPeerAddress({ peerId: s.peerId, address: s.filesAddress }),
          ),
      }
    : sourcesOverHttp(fetchUrl, firewalled);
  const connectBack =
    fetch && search && connectBacks
      ? connectBackFor({ fetch, search, connectBacks })
      : connectBackOverHttp({
          isFirewalled: fetch ? (peerId) => fetch.isFirewalled(peerId) : (peerId) => firewalled.has(peerId),
          ownFilesAddress: ownFilesAddressOverHttp(fetchUrl),
          push: pushOverHttp(`http://${localAddress(config, config.searchApiPort)}`),
          filesUrl,
          token: ctx.apiToken,
        });
  const store = opening(storePath, () => new SqliteDownloadStore(storePath));
  const keySecret = loadOrCreateSecret(config.dataDir, DOWNLOAD_KEY_SECRET_FILE, JOB_KEY_SECRET_BYTES);
  return createDownloadService({
    queue: await buildQueue(ctx),
    store,
    files: new FsDownloadFiles(),
    chunkSource: new HttpChunkSource(ctx.tls, undefined, connectBack),
    registry,
    directory,
    logger: ctx.logger.child({ service: 'download' }),
    peerId: ctx.identity.peerId,
    host: apiHostOf(config),
    allowedHosts: config.allowedHosts,
    port: config.downloadPort,
    apiToken: ctx.apiToken,
    concurrency: config.maxDownloads,
    options: {
      downloadsDir: config.downloadsDir ?? join(config.dataDir, 'downloads'),
      jobKey: jobKeys(keySecret, (key) => store.get(key) !== undefined),
      maxAttempts: config.downloadAttempts,
      retryBaseMs: 2_000,
      retryMaxMs: 60_000,
      keepAliveMs: 5 * 60_000,
      maxBytesPerSecond: config.maxDownloadRate,
    },
  });
}
