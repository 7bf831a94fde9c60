/**
 * Fetch (Join + sync), built with its SQLite store and HTTP transport (TLS to other peers, with
 * this peer's certificate). Its feed of this peer's shared files is the running File Management
 * in one process, or its GET /changes when alone.
 */
import { join } from 'node:path';
import { HttpFetchTransport } from '../fetch/adapters/http/http-transport.ts';
import { SqlitePeerStore } from '../fetch/adapters/sqlite/sqlite-peer-store.ts';
import type { ServiceAddresses } from '../fetch/domain/addresses.ts';
import type { FetchConfig } from '../fetch/domain/config.ts';
import type { PortMapper, SharedFileFeed } from '../fetch/ports.ts';
import { createFetchService, type FetchService } from '../fetch/service.ts';
import type { FilesService } from '../files/service.ts';
import type { Config } from '../shared/config.ts';
import { opening } from '../shared/fs-errors.ts';
import { advertisedAddresses, learnsAddress, localAddress, type PeerContext } from './context.ts';
import { filesFeedOverHttp } from './remote-ports.ts';

/** The user's Fetch admission settings (shared/config.ts) as the Fetch domain's tuning. */
export function fetchTuning(config: Config): Partial<FetchConfig> {
  return {
    maxPeers: config.fetchMaxPeers,
    maxRecordsPerAnswer: config.fetchMaxRecordsPerAnswer,
    maxUnverified: config.fetchMaxUnverified,
    newPerAddressPerMinute: config.fetchNewPerAddress,
    newPerSubnetPerMinute: config.fetchNewPerSubnet,
    subnetBitsV4: config.fetchSubnetV4,
    subnetBitsV6: config.fetchSubnetV6,
    verifyPerRound: config.fetchVerifyPerRound,
    verifyAttempts: config.fetchVerifyAttempts,
    verifyBackoffRounds: config.fetchVerifyBackoff,
  };
}

/**
 * The address sets this peer advertises, one per --advertise host in order, each service keeping
 * its port unless its --advertise-*-port says which port a router forwards to it.
 */
function advertisedSets(config: Config): { addresses: ServiceAddresses; otherAddresses?: ServiceAddresses[] } {
  const files = advertisedAddresses(config, config.filesPort, config.advertiseFilesPort);
  const search = advertisedAddresses(config, config.searchPort, config.advertiseSearchPort);
  const fetch = advertisedAddresses(config, config.fetchPort, config.advertiseFetchPort);
  const [first, ...others] = files.map((f, i) => ({
    files: f,
    search: search[i] as string,
    fetch: fetch[i] as string,
  }));
  return { addresses: first as ServiceAddresses, ...(others.length > 0 ? { otherAddresses: others } : {}) };
}

/**
 * The UPnP port mapper, loaded only when --nat upnp asks for it: its library's SSDP, XML and HTTP
 * modules cost ~0.05 s of CPU to load, which every other start would pay for nothing.
 */
async function upnpMapper(ctx: PeerContext): Promise<PortMapper> {
  const { UpnpPortMapper } = await import('../fetch/adapters/nat/upnp-mapper.ts');
  return new UpnpPortMapper(ctx.logger.child({ service: 'fetch', component: 'nat' }));
}

export async function buildFetch(ctx: PeerContext, files: FilesService | undefined): Promise<FetchService> {
  const { config } = ctx;
  const storePath = join(config.dataDir, 'fetch.db');
  const filesAddress = localAddress(config, config.filesPort);
  const feed: SharedFileFeed = files
    ? { changesSince: async (cursor) => files.manager.changesSince(cursor) }
    : filesFeedOverHttp(`http://${filesAddress}`);
  return createFetchService({
    identity: ctx.identity,
    tls: ctx.tls,
    logger: ctx.logger.child({ service: 'fetch' }),
    host: config.host,
    allowedHosts: config.allowedHosts,
    port: config.fetchPort,
    apiToken: ctx.apiToken,
    ...advertisedSets(config),
    learnAddress: learnsAddress(config),
    join: config.join,
    intervalMs: config.fetchInterval,
    fanout: config.fetchFanout,
    tuning: fetchTuning(config),
    store: opening(storePath, () => new SqlitePeerStore(storePath)),
    transport: new HttpFetchTransport({ tls: ctx.tls, timeoutMs: config.fetchSyncTimeout }),
    files: feed,
    ...(config.nat === 'upnp' ? { portMapper: await upnpMapper(ctx) } : {}),
  });
}
