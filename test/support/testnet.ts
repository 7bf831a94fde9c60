/**
 * `createTestnet(n, topology)`: N real Search services in this process, each on its own
 * 127.x.y.z address with the default ports, linked over real TLS 1.3 in the given overlay graph
 * (each peer its own in-memory identity and certificate, as a real peer makes from its key).
 * Each peer's LocalIndex is an in-memory MemoryIndex (same matching rules as the SQLite catalog)
 * so 50 peers start fast; each peer's NeighbourSource lists its graph neighbours, on both ends
 * of every edge, so the duplicate-link rule is exercised on every edge. Inside a vitest test the
 * net is stopped when the test ends; elsewhere (benchmarks) call `stop()`.
 */
import { once } from 'node:events';
import { onTestFinished } from 'vitest';
import { DEFAULT_PORTS } from '../../src/shared/config.ts';
import { memorySigner, type KeyHolder } from '../../src/shared/keys.ts';
import { silentLogger } from '../../src/shared/logging.ts';
import { PeerTls } from '../../src/shared/peer-tls.ts';
import { createSearchService, type SearchService, type SearchServiceComponents } from '../../src/search/service.ts';
import type { NeighbourCandidate } from '../../src/search/ports.ts';
import { nextLoopback } from './loopback.ts';
import { MemoryIndex } from './memory-index.ts';
import { distances, edgesOf, neighboursOf, type Edge, type Topology } from './topology.ts';

export interface TestPeer {
  readonly n: number;
  readonly host: string;
  readonly peerId: string;
  /** Its identity key and TLS credentials (certificate made before the service starts). */
  readonly identity: KeyHolder;
  readonly tls: PeerTls;
  readonly index: MemoryIndex;
  service: SearchService;
  /** The graph neighbours it dials; tests may change it. */
  candidates: NeighbourCandidate[];
  running: boolean;
  stop(): Promise<void>;
}

export interface Testnet {
  readonly peers: TestPeer[];
  readonly edges: Edge[];
  /** Hops from peer `from` to every peer in the graph. */
  distances(from: number): number[];
  /** Resolves once every running peer has exactly one link to each running graph neighbour and no dial in flight. */
  linked(): Promise<void>;
  stop(): Promise<void>;
}

export type TestnetOptions = Partial<
  Omit<SearchServiceComponents, 'index' | 'neighbours' | 'identity' | 'tls' | 'host' | 'port' | 'apiPort'>
> & {
  /** Register stop() with vitest's onTestFinished (default true; false outside tests). */
  teardown?: boolean;
};

/** A fresh identity and its TLS credentials, ready to use. */
export async function testIdentity(): Promise<{ identity: KeyHolder; tls: PeerTls }> {
  const identity = memorySigner();
  const tls = new PeerTls(identity);
  await tls.ready();
  return { identity, tls };
}

export async function createTestnet(n: number, topology: Topology, options: TestnetOptions = {}): Promise<Testnet> {
  const { teardown = true, ...overrides } = options;
  const edges = edgesOf(n, topology);
  const adjacent = neighboursOf(n, edges);
  const hosts = Array.from({ length: n }, () => nextLoopback());
  const maxDegree = Math.max(...adjacent.map((a) => a.length));
  const identities = await Promise.all(hosts.map(() => testIdentity()));
  const peers: TestPeer[] = hosts.map((host, i) => {
    const index = new MemoryIndex();
    const { identity, tls } = identities[i]!;
    let stopping = Promise.resolve();
    const peer: TestPeer = {
      n: i,
      host,
      peerId: identity.peerId,
      identity,
      tls,
      index,
      candidates: adjacent[i]!.map((j) => ({ searchAddress: `${hosts[j]}:${DEFAULT_PORTS.searchPort}` })),
      running: false,
      service: undefined as unknown as SearchService, // set just below
      stop() {
        // Every caller (a test killing the peer, then the teardown) waits for the same stop.
        if (peer.running) {
          peer.running = false;
          stopping = peer.service.stop();
        }
        return stopping;
      },
    };
    peer.service = createSearchService({
      index,
      neighbours: { candidates: () => peer.candidates },
      logger: silentLogger(),
      identity,
      tls,
      host,
      port: DEFAULT_PORTS.searchPort,
      apiPort: DEFAULT_PORTS.searchApiPort,
      filesAddress: () => `${host}:${DEFAULT_PORTS.filesPort}`,
      maxLinks: Math.max(8, maxDegree),
      maxTtl: 7,
      timeoutMs: 1_000,
      maintainIntervalMs: 200,
      backoff: { baseMs: 50, maxMs: 1_000 },
      ...overrides,
    });
    return peer;
  });
  const stop = async () => {
    await Promise.all(peers.map((p) => p.stop()));
  };
  if (teardown) onTestFinished(stop);
  try {
    await Promise.all(
      peers.map(async (p) => {
        await p.service.start();
        p.running = true;
      }),
    );
  } catch (err) {
    await stop();
    throw err;
  }
  const net: Testnet = {
    peers,
    edges,
    distances: (from) => distances(n, edges, from),
    linked: () =>
      Promise.all(
        peers.map(async (p, i) => {
          // The exact set of graph neighbours, by peer id: a duplicate or a stray link does not count.
          const want = () =>
            adjacent[i]!.filter((j) => peers[j]!.running)
              .map((j) => peers[j]!.peerId)
              .sort()
              .join();
          const have = () =>
            p.service.links
              .list()
              .map((l) => l.peerId)
              .sort()
              .join();
          while (p.running && (have() !== want() || p.service.links.pending > 0))
            await once(p.service.links.events, 'change');
        }),
      ).then(() => undefined),
    stop,
  };
  await net.linked();
  return net;
}
