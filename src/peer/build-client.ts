/**
 * The Client, given the ports of the peer's other services: the running services themselves in
 * one process, their HTTP APIs on this peer's host when it runs alone (`peershare service client`)
 * or when only some services share its process.
 */
import {
  downloadOverHttp,
  fetchOverHttp,
  filesOverHttp,
  overlayOverTls,
  searchOverHttp,
} from '../client/adapters/http/remote-services.ts';
import { createClientService, type ClientService } from '../client/service.ts';
import type { DownloadService } from '../download/service.ts';
import type { FetchService } from '../fetch/service.ts';
import type { FilesService } from '../files/service.ts';
import type { SearchService } from '../search/service.ts';
import { HttpClient } from '../shared/http-client.ts';
import {
  downloadInProcess,
  fetchInProcess,
  filesInProcess,
  searchInProcess,
  settingsInConfigFile,
} from './client-ports.ts';
import { apiHostOf, localAddress, localApiAddress, type PeerContext } from './context.ts';

export interface ClientDeps {
  files?: FilesService | undefined;
  fetch?: FetchService | undefined;
  search?: SearchService | undefined;
  download?: DownloadService | undefined;
}

export function buildClient(ctx: PeerContext, s: ClientDeps): ClientService {
  const { config } = ctx;
  const addresses = {
    client: localApiAddress(config, config.clientPort),
    files: localAddress(config, config.filesPort),
    search: localAddress(config, config.searchPort),
    searchApi: localAddress(config, config.searchApiPort),
    fetch: localAddress(config, config.fetchPort),
    download: localApiAddress(config, config.downloadPort),
  };
  const url = (address: string) => `http://${address}`;
  return createClientService({
    ports: {
      files: s.files ? filesInProcess(s.files) : filesOverHttp(url(addresses.files), ctx.apiToken),
      search: s.search ? searchInProcess(s.search) : searchOverHttp(url(addresses.searchApi)),
      fetch: s.fetch ? fetchInProcess(s.fetch) : fetchOverHttp(url(addresses.fetch)),
      download: s.download
        ? downloadInProcess(s.download, config.amqpUrl ? 'rabbitmq' : 'embedded')
        : downloadOverHttp(url(addresses.download), ctx.apiToken),
      // Other peers' links, asked over TLS with this peer's certificate (the same in either mode).
      overlay: overlayOverTls(new HttpClient({ tls: ctx.tls }), config.searchApiPort),
      settings: settingsInConfigFile(config.configFile),
    },
    logger: ctx.logger.child({ service: 'client' }),
    peerId: ctx.identity.peerId,
    addresses,
    host: apiHostOf(config),
    allowedHosts: config.allowedHosts,
    port: config.clientPort,
    apiToken: ctx.apiToken,
    voting: { want: config.getWant, margin: config.getVoteMargin },
  });
}
