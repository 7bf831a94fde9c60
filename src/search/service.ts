/**
 * The Search service factory: wires the domain (SearchEngine over the flood router) to the ports
 * it is given (LocalIndex, NeighbourSource), to its driven adapter (the overlay of TLS links) and
 * its driving adapter (the local HTTP API with SSE). Startable: start binds the link port and the
 * API port, stop closes every link, search and socket. Both ports are peer ports
 * (shared/peer-port.ts): the link port speaks TLS only; the API answers this host in plaintext
 * (searches, and pushes for a Download in another process) and other peers over TLS, who may
 * read GET /links and GET /health (the network picture) and nothing else.
 */
import { randomBytes } from 'node:crypto';
import type { SessionTimeouts } from '../protocol/session.ts';
import type { Push } from '../protocol/gen/wire_pb.ts';
import { createHttpApp, type HttpApp } from '../shared/http-server.ts';
import type { Startable } from '../shared/lifecycle.ts';
import type { Signer } from '../shared/keys.ts';
import type { Logger } from '../shared/logging.ts';
import { serveMetrics, ServiceMetrics } from '../shared/metrics.ts';
import { hostPort } from '../shared/address.ts';
import { servePeerHttp, type PeerPort } from '../shared/peer-port.ts';
import type { PeerTls } from '../shared/peer-tls.ts';
import { registerSearchRoutes, searchAccess } from './adapters/http/search-routes.ts';
import type { BackoffOptions } from './adapters/tcp/backoff.ts';
import { LinkManager } from './adapters/tcp/link-manager.ts';
import { TlsTransport } from './adapters/tcp/tls-transport.ts';
import type { StreamTransport } from './adapters/tcp/transport.ts';
import type { SubnetBits } from '../shared/address.ts';
import type { RateLimits } from './domain/link-guard.ts';
import { requestPushWithRoute } from './domain/push-request.ts';
import { SearchEngine, type DynamicQuerying, type PushCounters } from './domain/search-engine.ts';
import type { SearchCounters } from './domain/counters.ts';
import type { OverlayCounters } from './adapters/tcp/overlay-counters.ts';
import type { LocalIndex, NeighbourSource } from './ports.ts';
import { systemClock } from '../shared/clock.ts';

export interface SearchServiceComponents {
  index: LocalIndex;
  neighbours: NeighbourSource;
  logger: Logger;
  /** This peer's identity key: its id and key go in the Hello, and it signs our pushes. */
  identity: Signer;
  /** TLS credentials from the same identity key; ready() must have resolved before start. */
  tls: PeerTls;
  host: string;
  /** Peer links (TLS 1.3, ALPN peershare-link/2). */
  port: number;
  /** Local API (HTTP; /links and /health also for peers over TLS). */
  apiPort: number;
  /** Host names the API answers to besides IP addresses and localhost (the allowedHosts setting). */
  allowedHosts?: readonly string[];
  /** The API token GET /metrics asks for off loopback (shared/admin-guard.ts). */
  apiToken?: string;
  /** host:port of this peer's File Management, put in our Hello and hits (known once Files has started). */
  filesAddress: () => string;
  maxLinks: number;
  /** Largest TTL accepted or sent; also the default TTL of a search. */
  maxTtl: number;
  /** Default search deadline, ms. */
  timeoutMs: number;
  /** Tuning, mostly for tests and the benchmark; defaults are the documented ones. */
  maxLinksPerIp?: number;
  maxLinksPerSubnet?: number;
  subnetBits?: SubnetBits;
  /** Of maxLinks, the slots kept for links we dial (inbound links never take them). */
  outboundSlots?: number;
  /** Queries each neighbour may send us (per second, burst, strikes). */
  rateLimits?: RateLimits;
  /** Searches our own users may start per second (at most half of rateLimits.queriesPerSecond). */
  searchesPerSecond?: number;
  /** How searches that name how many holders they want widen (dynamic querying). */
  dynamicQuerying?: Partial<DynamicQuerying>;
  /** Levels of query routing table sent to neighbours (the searchRouteLevels setting; 0: plain flood). */
  routeLevels?: number;
  backoff?: Partial<BackoffOptions>;
  maintainIntervalMs?: number;
  sessionTimeouts?: Partial<SessionTimeouts>;
  seenCapacity?: number;
  transport?: StreamTransport;
  /** Who acts on a push for this peer (connect-back, after its own checks); without it pushes for us are counted and dropped. */
  onPush?: (push: Push) => void;
}

export interface SearchService extends Startable {
  readonly engine: SearchEngine;
  readonly links: LinkManager;
  /** host:port of the peer listener, once started. */
  readonly searchAddress: string;
  /** Base URL of the local API, once started. */
  readonly apiUrl: string;
}

export function createSearchService(c: SearchServiceComponents): SearchService {
  let searchAddress = '';
  let apiUrl = '';
  let app: HttpApp | undefined;
  let apiPort: PeerPort | undefined;
  const hello = () => ({
    peerId: c.identity.peerId,
    publicKey: c.identity.publicKey,
    searchAddress,
    filesAddress: c.filesAddress(),
  });
  const links = new LinkManager({
    transport: c.transport ?? new TlsTransport(c.tls, c.host, c.logger),
    neighbours: c.neighbours,
    hello,
    logger: c.logger,
    maxLinks: c.maxLinks,
    maxLinksPerIp: c.maxLinksPerIp,
    maxLinksPerSubnet: c.maxLinksPerSubnet,
    subnetBits: c.subnetBits,
    outboundSlots: c.outboundSlots,
    maintainIntervalMs: c.maintainIntervalMs,
    backoff: c.backoff,
    sessionTimeouts: c.sessionTimeouts,
  });
  const engine = new SearchEngine({
    identity: c.identity,
    searchAddress: () => searchAddress,
    filesAddress: c.filesAddress,
    index: c.index,
    links,
    clock: systemClock,
    randomBytes: (n) => randomBytes(n),
    router: { maxTtl: c.maxTtl, seenCapacity: c.seenCapacity },
    defaultTimeoutMs: c.timeoutMs,
    rateLimits: c.rateLimits,
    searchesPerSecond: c.searchesPerSecond,
    ...(c.dynamicQuerying ? { dynamic: c.dynamicQuerying } : {}),
    ...(c.routeLevels !== undefined ? { routing: { levels: c.routeLevels } } : {}),
    onError: (err) => c.logger.error({ err }, 'local index failed'),
    ...(c.onPush ? { onPush: c.onPush } : {}),
    // Debug, not info: how many a peer sends is its own choice; the counters (/health pushes) show them.
    onPushRefused: (push, reason) =>
      c.logger.debug(
        { requester: push.requesterPeerId, address: push.requesterFilesAddress, reason },
        'push ignored: not signed by its requester within the window',
      ),
  });
  links.bind(engine);

  return {
    name: 'search',
    engine,
    links,
    get searchAddress() {
      return searchAddress;
    },
    get apiUrl() {
      return apiUrl;
    },
    async start() {
      // The address goes into our Hello, so it is the host we were given, with the port bound.
      const bound = await links.start(c.host, c.port);
      searchAddress = hostPort(c.host, bound.port);
      try {
        app = await createHttpApp({
          service: 'search',
          logger: c.logger,
          allowedHosts: c.allowedHosts,
          health: () => ({
            peerId: c.identity.peerId,
            links: links.ids().length,
            counters: engine.counters,
            pushes: engine.pushCounters,
            overlay: links.counters,
          }),
        });
        app.addHook('onRequest', searchAccess);
        registerSearchRoutes(app, {
          search: (request) => engine.search(request),
          parseTerms: (text) => c.index.parseTerms(text),
          links: () => links.list(),
          push: (holder, fileId, filesAddress, signal) =>
            requestPushWithRoute(engine, holder, fileId, filesAddress, signal),
          maxTtl: c.maxTtl,
        });
        serveMetrics(app, searchMetrics(c.identity.peerId, engine, links), { host: c.host, apiToken: c.apiToken });
        apiPort = await servePeerHttp(app, c.host, c.apiPort, c.tls, c.logger);
        apiUrl = `http://${hostPort(apiPort.host, apiPort.port)}`;
      } catch (err) {
        await app?.close();
        app = undefined;
        await links.stop();
        throw err;
      }
      engine.startRouting();
      c.logger.info({ searchAddress, apiUrl }, 'search service listening');
    },
    async stop() {
      engine.stopRouting();
      engine.cancelAll();
      await apiPort?.close();
      apiPort = undefined;
      await app?.close();
      app = undefined;
      await links.stop();
    },
  };
}

/** Search's series, from the engine and overlay counters its /health shows. */
function searchMetrics(
  peerId: string,
  engine: { readonly counters: SearchCounters; readonly pushCounters: PushCounters },
  links: { readonly counters: OverlayCounters; ids(): readonly string[] },
): ServiceMetrics {
  const m = new ServiceMetrics('search', peerId);
  const n = engine.counters;
  m.gauge('links', 'Overlay links open now.', () => links.ids().length);
  m.counter('searches_started_total', "Searches this peer's users started.", () => n.searchesStarted);
  m.counter(
    'searches_rate_limited_total',
    "Searches of this peer's users refused by the local search limit.",
    () => n.searchesRateLimited,
  );
  m.counter(
    'searches_widened_total',
    "Wider steps of this peer's searches (dynamic querying; a search's first step is not counted).",
    () => n.searchesWidened,
  );
  m.counter('queries_received_total', 'Query messages received from links.', () => n.queriesReceived);
  m.counter(
    'queries_accepted_total',
    'Queries handled (matched and forwarded), at most once per query.',
    () => n.queriesAccepted,
  );
  m.counter(
    'queries_reforwarded_total',
    'Copies of queries handled before, forwarded again because they could go further than any earlier copy (not answered again).',
    () => n.queriesReforwarded,
  );
  m.counter(
    'queries_dropped_total',
    'Queries received and dropped, by why.',
    () => [
      ...Object.entries(n.queriesDropped).map(([reason, count]): [Record<string, string>, number] => [
        { reason },
        count,
      ]),
      [{ reason: 'rate-limited' }, n.queriesRateLimited],
    ],
    ['reason'],
  );
  m.counter('queries_sent_total', 'Query messages written to links (own searches and forwards).', () => n.queriesSent);
  m.counter(
    'queries_not_routed_total',
    'Copies of queries not sent to a link because its route table said nothing behind it matches (query routing).',
    () => n.queriesNotRouted,
  );
  m.counter(
    'route_tables_total',
    'Query routing tables: received from neighbours, of a level not used (ignored), sent to neighbours.',
    () => [
      [{ event: 'received' }, n.routeTablesReceived],
      [{ event: 'ignored' }, n.routeTablesIgnored],
      [{ event: 'sent' }, n.routeTablesSent],
    ],
    ['event'],
  );
  m.counter(
    'hits_total',
    'Hit messages: received, sent (answers with own files), forwarded, delivered to own searches, dropped.',
    () => [
      [{ event: 'received' }, n.hitsReceived],
      [{ event: 'sent' }, n.hitsSent],
      [{ event: 'forwarded' }, n.hitsForwarded],
      [{ event: 'delivered' }, n.hitsDelivered],
      [{ event: 'dropped' }, n.hitsDropped],
    ],
    ['event'],
  );
  m.counter(
    'hit_results_bad_name_total',
    'Results of hits for own searches dropped for a name no share may have.',
    () => n.hitResultsBadName,
  );
  m.counter('links_disconnected_total', 'Neighbours cut for flooding.', () => n.linksDisconnected);
  m.counter(
    'inbound_refused_total',
    'Inbound connections closed before becoming links, by cap.',
    () => [
      [{ cap: 'per-ip' }, links.counters.inboundRefused.perIp],
      [{ cap: 'per-subnet' }, links.counters.inboundRefused.perSubnet],
      [{ cap: 'pending' }, links.counters.inboundRefused.pending],
      [{ cap: 'full' }, links.counters.inboundRefused.full],
    ],
    ['cap'],
  );
  m.counter(
    'link_evictions_total',
    'Inbound links closed to make room for another peer.',
    () => links.counters.evictions,
  );
  m.counter(
    'frame_deadline_closes_total',
    'Links closed for not completing a frame within the frame deadline.',
    () => links.counters.frameDeadlineCloses,
  );
  // Tables sent and received are the engine's route_tables_total; the link adds what they cost and what it refused.
  const r = links.counters.routeTables;
  m.counter(
    'route_tables_refused_total',
    'Query routing tables received that did not decode (each closed its link).',
    () => r.refused,
  );
  m.counter(
    'route_table_bytes_total',
    'Deflated bytes of the query routing tables sent and received (whole tables and patches).',
    () => [
      [{ direction: 'sent' }, r.bytesSent],
      [{ direction: 'received' }, r.bytesReceived],
    ],
    ['direction'],
  );
  const p = engine.pushCounters;
  m.counter(
    'pushes_total',
    'Push messages (connect-back requests): sent, not sent (over the per-holder limit, no route), received, forwarded, delivered to this peer, dropped by why, and refused (for this peer but not signed by their requester within the window) by why.',
    () => [
      [{ event: 'sent' }, p.sent],
      [{ event: 'send-rate-limited' }, p.sendRateLimited],
      [{ event: 'send-no-route' }, p.sendNoRoute],
      [{ event: 'received' }, p.received],
      [{ event: 'forwarded' }, p.forwarded],
      [{ event: 'delivered' }, p.delivered],
      ...Object.entries(p.dropped).map(([reason, count]): [Record<string, string>, number] => [
        { event: `dropped-${reason}` },
        count,
      ]),
      ...Object.entries(p.refused).map(([reason, count]): [Record<string, string>, number] => [
        { event: `refused-${reason}` },
        count,
      ]),
    ],
    ['event'],
  );
  return m;
}
