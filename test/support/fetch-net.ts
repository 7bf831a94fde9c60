/**
 * `createFetchNet(n)`: N real Fetch services in this process, each on its own 127.x.y.z address
 * with the default port, a temporary data directory (identity key + SQLite peer store) and real
 * HTTP over TLS 1.3 between them (each peer's certificate from its identity key). Rounds do not run on timers: `step()` runs one round on every live peer at
 * once and then moves the shared fake clock one interval, so tests count ROUNDS, never wall time.
 * Inside a vitest test the net is stopped and removed when the test ends; elsewhere call `stop()`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import { HttpFetchTransport } from '../../src/fetch/adapters/http/http-transport.ts';
import { SqlitePeerStore } from '../../src/fetch/adapters/sqlite/sqlite-peer-store.ts';
import type { FetchConfig } from '../../src/fetch/domain/config.ts';
import { seededRandom } from '../../src/fetch/domain/random.ts';
import { createFetchService, type FetchService } from '../../src/fetch/service.ts';
import { MemoryFileFeed } from './memory-file-feed.ts';
import type { FetchTransport } from '../../src/fetch/ports.ts';
import { DEFAULT_PORTS } from '../../src/shared/config.ts';
import { loadOrCreateIdentity } from '../../src/shared/identity.ts';
import { PeerTls } from '../../src/shared/peer-tls.ts';
import { silentLogger, type Logger } from '../../src/shared/logging.ts';
import { nextLoopback } from './loopback.ts';

export interface FetchNetOptions {
  /** Liveness bounds and caps; intervalMs is the fake clock's step. */
  tuning?: Partial<FetchConfig>;
  seed?: number;
  /** Join addresses of peer i (default: peer 0's fetch address for every peer but peer 0). */
  joinOf?: (i: number, net: FetchNet) => string[];
  /** Set false outside vitest (benchmarks). */
  teardown?: boolean;
  /** The logger of peer i (default: silent). */
  loggerOf?: (i: number) => Logger;
  /** Wrap each peer's transport (to count traffic, or to misbehave). */
  wrapTransport?: (transport: FetchTransport, i: number) => FetchTransport;
  /**
   * How long a request waits for its answer (default 5 s). The peers share one event loop, so on
   * a busy machine a round's answers can take seconds; a test that counts rounds gives them longer,
   * so that its count measures the protocol rather than the machine's load.
   */
  requestTimeoutMs?: number;
  /** The address of peer i (default: the next free test loopback address); a net spread over processes names its own. */
  hostOf?: (i: number) => string;
}

export interface NetPeer {
  readonly i: number;
  readonly host: string;
  readonly dataDir: string;
  readonly fetchAddress: string;
  readonly feed: MemoryFileFeed;
  service: FetchService;
  running: boolean;
}

export interface FetchNet {
  readonly peers: NetPeer[];
  readonly clock: { t: number; epochMs(): number };
  readonly live: NetPeer[];
  /** One round on every live peer, then the clock moves one interval. */
  step(): Promise<void>;
  /** Step until `done()` holds, at most `max` rounds; returns the rounds run, or -1. */
  stepUntil(done: () => boolean, max: number): Promise<number>;
  /** Stop without announcing leave, as a crash would. */
  kill(peer: NetPeer): Promise<void>;
  /**
   * Start a stopped peer again from its data directory, without join addresses; `newKey`: from an
   * empty one instead, so another peer (a new identity key) answers at the same address.
   */
  restart(peer: NetPeer, options?: { newKey?: boolean }): Promise<void>;
  /** Start one more peer (index = peers.length) joining through `join`. */
  add(join: string[]): Promise<NetPeer>;
  stop(): Promise<void>;
}

export const NET_INTERVAL_MS = 1_000;

export async function createFetchNet(n: number, options: FetchNetOptions = {}): Promise<FetchNet> {
  const clock = { t: Date.now(), epochMs: () => clock.t };
  const tuning = { intervalMs: NET_INTERVAL_MS, ...options.tuning };
  const root = mkdtempSync(join(tmpdir(), 'fetch-net-'));
  const peers: NetPeer[] = [];

  function build(peer: Omit<NetPeer, 'service' | 'running'>, joinList: string[]): FetchService {
    const identity = loadOrCreateIdentity(peer.dataDir);
    const tls = new PeerTls(identity);
    return createFetchService({
      identity,
      tls,
      logger: options.loggerOf?.(peer.i) ?? silentLogger(),
      host: peer.host,
      port: DEFAULT_PORTS.fetchPort,
      addresses: {
        files: `${peer.host}:${DEFAULT_PORTS.filesPort}`,
        search: `${peer.host}:${DEFAULT_PORTS.searchPort}`,
      },
      join: joinList,
      intervalMs: tuning.intervalMs,
      fanout: tuning.fanout ?? 3,
      tuning,
      store: new SqlitePeerStore(join(peer.dataDir, 'fetch.db')),
      transport: (options.wrapTransport ?? ((t) => t))(
        new HttpFetchTransport({ tls, timeoutMs: options.requestTimeoutMs ?? 5_000 }),
        peer.i,
      ),
      files: peer.feed,
      clock,
      random: seededRandom((options.seed ?? 1) * 1_000 + peer.i + clock.t),
      autoRounds: false,
    });
  }

  const net: FetchNet = {
    peers,
    clock,
    get live() {
      return peers.filter((p) => p.running);
    },
    async step() {
      await Promise.all(net.live.map((p) => p.service.runRound()));
      clock.t += tuning.intervalMs;
    },
    async stepUntil(done, max) {
      for (let rounds = 1; rounds <= max; rounds++) {
        await net.step();
        if (done()) return rounds;
      }
      return -1;
    },
    async kill(peer) {
      peer.running = false;
      await peer.service.stop({ leave: false });
    },
    async restart(peer, { newKey = false } = {}) {
      if (newKey) rmSync(peer.dataDir, { recursive: true, force: true });
      peer.service = build(peer, []);
      await peer.service.start();
      peer.running = true;
    },
    async add(joinList) {
      const i = peers.length;
      const host = options.hostOf?.(i) ?? nextLoopback();
      const base = {
        i,
        host,
        dataDir: join(root, `peer-${i}`),
        fetchAddress: `${host}:${DEFAULT_PORTS.fetchPort}`,
        feed: new MemoryFileFeed(),
      };
      const peer: NetPeer = { ...base, service: build(base, joinList), running: false };
      peers.push(peer);
      await peer.service.start();
      peer.running = true;
      return peer;
    },
    async stop() {
      await Promise.all(net.live.map((p) => ((p.running = false), p.service.stop({ leave: false }))));
      rmSync(root, { recursive: true, force: true });
    },
  };
  if (options.teardown !== false) onTestFinished(() => net.stop());
  const joinOf = options.joinOf ?? ((i: number) => (i === 0 ? [] : [peers[0]!.fetchAddress]));
  // add() registers each peer before it awaits its start, so peers keep their index order.
  await Promise.all(Array.from({ length: n }, (_, i) => net.add(joinOf(i, net))));
  return net;
}

/** Whether every live peer knows every other live peer as alive. */
export function converged(net: FetchNet): boolean {
  const ids = new Set(net.live.map((p) => p.service.status().peerId));
  return net.live.every((p) => {
    const alive = p.service.peers().filter((q) => q.state === 'alive' && ids.has(q.peerId)).length;
    return alive === ids.size - 1;
  });
}
